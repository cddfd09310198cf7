"""Reliability round 3: one writer (nothing written through a planted link), one reader gate
(no outside file read through HDF5, no hang on a FIFO, bounded text inputs)."""

import ast
import os
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

import sarsr
from sarsr._files import check_input_file, open_h5, read_input_text, save_figure

PKG = Path(sarsr.__file__).parent
#: calls that write a file themselves; only the helpers in sarsr/_files.py may make them
RAW_WRITES = ("savefig", "write_text", "write_bytes", "imsave", "save")


def _raw_writers(tree):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
        if name in ("savefig", "write_text", "write_bytes", "imsave"):
            yield node.lineno, name
        elif name == "save" and owner in ("np", "numpy"):
            yield node.lineno, "np.save"
        elif name in ("open", "File") and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                              and a.value[:1] in ("w", "a", "x") for a in node.args[1:2]):
            yield node.lineno, f"{name}(..., {node.args[1].value!r})"


def test_no_writer_bypasses_the_safe_helpers():
    """Every file the package writes goes through sarsr._files (temp file + rename): a walk of
    the source finds no savefig / write_text / write_bytes / np.save / open(..., "w") / h5py
    File(..., "w") outside it, except on a temporary path the helpers handed out."""
    found = []
    for path in PKG.rglob("*.py"):
        if path.name == "_files.py":
            continue
        src = path.read_text()
        lines = src.splitlines()
        for lineno, what in _raw_writers(ast.parse(src)):
            context = "\n".join(lines[max(0, lineno - 3):lineno])
            if "tmp" in lines[lineno - 1] or "atomic_path" in context or "temp_beside" in context:
                continue  # writes into a temporary file that is renamed into place
            found.append(f"{path.relative_to(PKG)}:{lineno}: {what}")
    assert not found, "writers bypassing sarsr._files: " + "; ".join(found)


def test_save_figure_replaces_a_planted_link(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "fig.png").symlink_to(victim)
    fig = plt.figure()
    save_figure(fig, tmp_path / "fig.png", dpi=20)
    plt.close(fig)
    assert victim.read_text() == "precious" and not (tmp_path / "fig.png").is_symlink()
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_never_writes_through_links(tmp_path):
    from tests.cli_helper import run_cli

    out = tmp_path / "d"
    out.mkdir()
    victims = {name: tmp_path / f"victim_{name}" for name in ("demo.png", "metrics.json")}
    for name, v in victims.items():
        v.write_text("precious")
        (out / name).symlink_to(v)
    code, err = run_cli("demo", "--size", "smoke", "--out", out, "--force")
    assert code == 0, err
    assert all(v.read_text() == "precious" for v in victims.values())
    assert not (out / "demo.png").is_symlink() and (out / "metrics.json").read_text().startswith("{")


def _h5_outside(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(100, dtype=np.float32).tobytes())
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.create_dataset("empm", shape=(10, 10), dtype="f4", external=[(str(secret), 0, 400)])
    with h5py.File(tmp_path / "src.h5", "w") as f:
        f["x"] = np.ones((10, 10), "f4")
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        lay = h5py.VirtualLayout(shape=(10, 10), dtype="f4")
        lay[:] = h5py.VirtualSource(str(tmp_path / "src.h5"), "x", shape=(10, 10))
        f.create_virtual_dataset("empm", lay)
    with h5py.File(tmp_path / "lnk.h5", "w") as f:
        f["empm"] = h5py.ExternalLink(str(tmp_path / "src.h5"), "x")
    return {"ext": "external raw storage", "vds": "virtual layout", "lnk": "external link"}


def test_hdf5_with_data_outside_the_file_is_refused_everywhere(tmp_path):
    from sarsr.sr import read_image
    from tests.cli_helper import run_cli

    for stem, why in _h5_outside(tmp_path).items():
        p = tmp_path / f"{stem}.h5"
        with pytest.raises(ValueError, match=f"'empm' keeps its data outside the file .*{why}"):
            open_h5(p)
        with pytest.raises(ValueError, match="outside the file"):
            read_image(p)
        code, err = run_cli("sr", p, "--out", tmp_path / f"{stem}.npy")
        assert code == 2 and "outside the file" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / f"{stem}.npy").exists()
    with open_h5(tmp_path / "src.h5") as f:  # a plain file opens
        assert f["x"].shape == (10, 10)


def test_a_manifest_cannot_send_readers_out_of_its_folder(tmp_path):
    """A dataset's manifest names its shards; one naming a file elsewhere (absolute path, ``..``,
    another name) would have every reader (evaluation, training, iter_records) open that file:
    refused in one line by read_manifest, which all of them go through."""
    import json

    from sarsr.data import SARDataset, iter_records, read_manifest
    from sarsr.data.shards import shard_name
    from sarsr.train.evaluate import evaluate

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with h5py.File(outside / "secret.h5", "w") as f:
        f["label"] = np.zeros((1, 4, 4), np.float32)
    ds = tmp_path / "ds"
    ds.mkdir()
    good = {"shard": 0, "file": shard_name(0), "start": 0, "count": 1}
    for bad in ({**good, "file": str(outside / "secret.h5")}, {**good, "file": "../elsewhere/secret.h5"},
                {**good, "file": "shard-00001.h5"}, {**good, "shard": -1}, {**good, "count": "1"}, "shard-00000.h5"):
        (ds / "manifest.json").write_text(json.dumps({"count": 1, "seed": 0, "shards": [bad]}))
        for read in (lambda: read_manifest(ds), lambda: SARDataset(ds), lambda: list(iter_records(ds, ["label"])),
                     lambda: evaluate(ds, None, limit=1, grids=("user",), timing=False, progress=False)):
            with pytest.raises(ValueError, match="is not this folder's shard-NNNNN.h5") as info:
                read()
            assert len(str(info.value).splitlines()) == 1
    (ds / "manifest.json").write_text(json.dumps({"count": 1, "seed": 0, "shards": [good]}))
    assert read_manifest(ds)["shards"] == [good]


def _fifo(path):
    os.mkfifo(path)
    return path


def _returns_quickly(fn, timeout=20.0):
    """Run ``fn`` in a thread; fail when it blocks (a FIFO read) instead of raising."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            box["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "blocked on a special file"
    return box


@pytest.mark.parametrize("reader", ["image", "positions", "radar config", "scenario", "calibration", "manifest"])
def test_a_fifo_in_place_of_an_input_is_refused_not_waited_on(tmp_path, reader):
    from sarsr.data import load_scenario, read_manifest
    from sarsr.io import read_positions
    from sarsr.io.calibration import load_calibration
    from sarsr.io.mmwave_config import load_radar_config
    from sarsr.sr import read_image

    name = {"image": "x.npy", "positions": "positions.csv", "radar config": "radar.cfg", "scenario": "s.toml",
            "calibration": "cal.json", "manifest": "manifest.json"}[reader]
    p = _fifo(tmp_path / name)
    fn = {"image": lambda: read_image(p), "positions": lambda: read_positions(p),
          "radar config": lambda: load_radar_config(p), "scenario": lambda: load_scenario(p),
          "calibration": lambda: load_calibration(p), "manifest": lambda: read_manifest(tmp_path)}[reader]
    box = _returns_quickly(fn)
    assert isinstance(box.get("error"), ValueError) and "not a regular file" in str(box["error"])


def test_a_fifo_shard_is_reported_by_verify(tmp_path):
    from sarsr.data.shards import verify_shard

    p = _fifo(tmp_path / "shard-00000.h5")
    box = _returns_quickly(lambda: verify_shard(p, 0, 1, 0, "x"))
    assert "not a regular file" in box["value"]


def test_text_inputs_are_bounded(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text("a = 1\n" * 10)
    assert read_input_text(p, "scenario").startswith("a = 1")
    with pytest.raises(ValueError, match="too large"):
        read_input_text(p, "scenario", limit=10)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ValueError, match="not a text file"):
        read_input_text(tmp_path / "bin.toml")
    with pytest.raises(ValueError, match="folder"):
        check_input_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        check_input_file(tmp_path / "none")
    from sarsr.train import load_config
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100000 + "]" * 100000 + "\n")
    with pytest.raises(ValueError, match="nested too deeply|not valid TOML"):
        load_config(deep)


@pytest.mark.parametrize("args, option", [
    (["dataset", "smoke", "--count", "2", "--seed", "18446744073709551616", "--out", "{tmp}/d"], "--seed"),
    (["dataset", "smoke", "--count", "0", "--out", "{tmp}/d"], "--count"),
    (["demo", "--snr-db", "1e308", "--size", "smoke", "--out", "{tmp}/x"], "--snr-db"),
    (["demo", "--snr-db", "-1e308", "--size", "smoke", "--out", "{tmp}/x"], "--snr-db"),
    (["demo", "--sigma-mm", "nan", "--size", "smoke", "--out", "{tmp}/x"], "--sigma-mm"),
    (["reconstruct", "{tmp}", "--z-mm", "1e308", "--out", "{tmp}/r"], "--z-mm"),
    (["vision", "evaluate", "--test", "{tmp}", "--model", "a=b", "--progressive", "--steps", "0"], "--steps"),
    (["sr", "{tmp}/x.npy", "--out", "{tmp}/y.npy", "--point-threshold", "1"], "--point-threshold"),
])
def test_cli_numbers_are_range_checked_where_parsed(tmp_path, args, option):
    """Out-of-range numbers are a usage error naming the option (exit code 2), never an
    overflow deep inside numpy reported as an unexpected error; nothing is written."""
    from tests.cli_helper import run_cli

    code, err = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and f"argument {option}" in err and "unexpected" not in err
    assert not (tmp_path / "d").exists() and not (tmp_path / "x").exists()


def test_report_json_has_no_nan_and_labels_cannot_break_the_table(tmp_path):
    import json

    from sarsr.train.evaluate import json_safe
    from tests.cli_helper import run_cli

    text = json.dumps(json_safe({"a": float("nan"), "b": [np.float32(1.5), float("inf")], "c": np.int64(3)}),
                      allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": 3}
    for label in ("a|b", "x\ny", "`q`"):
        code, err = run_cli("evaluate", "--test", tmp_path, "--model", f"{label}=srvit_hsm")
        assert code == 2 and "label" in err


def test_disk_preflight_names_small_sizes(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from sarsr.data import generate_dataset

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 ** 9, 10 ** 9, 1000))
    with pytest.raises(ValueError, match=r"need ~[0-9.]+ (KiB|MiB) more on disk, 1.0 KiB are free"):
        generate_dataset("smoke", tmp_path / "d", 4, progress=False)


def test_capture_reader_checks_sizes_before_reading(tmp_path, monkeypatch):
    """A sparse multi-GiB adc_data.bin is refused from its size, before a byte is read: longer
    than the configured frames, or beyond the memory budget."""
    from sarsr.io.dca1000 import CaptureSizeError, RawLayout, frame_bytes, read_dca1000

    lay = RawLayout(layout="xwr14xx", n_tx=2, n_rx=4, n_samples=64, loops=2)
    big = tmp_path / "adc_data.bin"
    with open(big, "wb") as fh:
        fh.truncate(4 * 2**30)  # sparse: no disk used
    with pytest.raises(CaptureSizeError, match="longer than the configured"):
        read_dca1000(big, lay, n_frames=4)
    monkeypatch.setenv("SARSR_MAX_BYTES", str(2**30))
    with pytest.raises(ValueError, match="would need"):
        read_dca1000(big, lay)
    assert frame_bytes(lay) == 2 * 2 * 4 * 64 * 4


def test_a_diverging_run_stops_without_a_best_checkpoint(tmp_path):
    """lr = 10 blows the loss up to ~1e24 while it stays finite: stopped as diverged, the last
    good checkpoint kept, no best.pt written as a success."""
    from sarsr.data import generate_dataset
    from sarsr.train import train
    from sarsr.train.trainer import TrainingDiverged

    root = tmp_path / "ds"
    generate_dataset("smoke", root, 8, seed=3, workers=1, shard_size=8, progress=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'name = "boom"\n[model]\nname = "sr_cnn"\noptions = {{width = 4, depth = 1}}\n[data]\n'
                   f'train = "{root}"\nsize = 32\ncrop = 16\nval_count = 2\nnum_workers = 0\n[train]\n'
                   f'batch_size = 2\nsteps = 40\nlr = 1e9\noptimizer = "adam"\ncheckpoint_every = 100\n'
                   f'val_every = 100\nloss = "mse"\n')
    with pytest.raises(TrainingDiverged, match="diverged"):
        train(cfg, tmp_path / "run", progress=False, log=lambda *a: None)
    assert not (tmp_path / "run" / "best.pt").exists() and not (tmp_path / "run" / "model.pt").exists()


def test_a_loss_orders_of_magnitude_above_its_start_is_divergence(tmp_path):
    """lr = 10 on the tiny SR network: the loss climbs from ~0.2 to hundreds while finite and far
    below the absolute limit; stopped as diverged against the run's own start (1000x), rc 2 from
    the CLI, nothing past the last good checkpoint saved; resuming and finishing a healthy run
    opens and closes its files (no ResourceWarning)."""
    import warnings

    from sarsr.data import generate_dataset
    from sarsr.train import train
    from sarsr.train.trainer import DIVERGED_LOSS, TrainingDiverged

    root = tmp_path / "ds"
    generate_dataset("smoke", root, 8, seed=1, workers=1, shard_size=4, progress=False)
    body = (f'[model]\nname = "srvit_hsm"\noptions = {{dim = 8, depth = 1, state_dim = 4}}\n[data]\ntrain = "{root}"\n'
            f'source = "empm"\nsize = 32\ncrop = 16\nval_count = 2\nnum_workers = 0\n[train]\nbatch_size = 2\n'
            f'checkpoint_every = 2\nval_every = 4\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text('name = "climb"\n' + body.replace("[train]\n", "[train]\nsteps = 60\nlr = 10\n")
                   .replace("checkpoint_every = 2", "checkpoint_every = 100").replace("val_every = 4", "val_every = 100"))
    with pytest.raises(TrainingDiverged, match=r"grew from .* at the start .*diverged") as exc:
        train(cfg, tmp_path / "run", progress=False, log=lambda *a: None)
    assert float(str(exc.value).split(" to ")[1].split(" ")[0]) < DIVERGED_LOSS  # caught by the ratio, not the limit
    assert not (tmp_path / "run" / "best.pt").exists() and not (tmp_path / "run" / "model.pt").exists()
    ok = tmp_path / "ok.toml"
    ok.write_text('name = "ok"\n' + body.replace("[train]\n", "[train]\nsteps = 6\nlr = 1e-3\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        train(ok, tmp_path / "ok", max_steps=4, progress=False, log=lambda *a: None)
        train(ok, tmp_path / "ok", progress=False, log=lambda *a: None)
    assert (tmp_path / "ok" / "model.pt").exists()


def test_a_huge_png_is_refused_from_its_header_without_pil_warnings(tmp_path, recwarn):
    from PIL import Image

    from sarsr.sr import read_image

    Image.new("L", (9000, 8000)).save(tmp_path / "big.png", optimize=True)
    with pytest.raises(ValueError, match="not a SAR image this reads"):
        read_image(tmp_path / "big.png")
    assert not [w for w in recwarn if "DecompressionBomb" in str(w.category)]
