"""Reliability, round 2: memory guards, exclusive temp files, bounded config counts, NaN
never reported as success, a locked training folder, options that mean what they say and
expected failures as one-line errors (rc 2)."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarsr._files import atomic_path, atomic_write_text, temp_beside, temp_owner_pid
from sarsr._validate import check_memory, max_bytes
from sarsr.data import generate_dataset

from .cli_helper import run_cli
from .test_train import tiny  # noqa: F401  (the tiny SR run config fixture)


_cli = run_cli  # in-process; test_reliability checks the real `python -m sarsr` entry point


# ------------------------------------------------------------------ 1. memory guards
def test_memory_budget_from_environment(monkeypatch):
    monkeypatch.setenv("SARSR_MAX_BYTES", "1000")
    assert max_bytes() == 1000
    with pytest.raises(ValueError, match="SARSR_MAX_BYTES"):
        check_memory(2000, "a test array")
    monkeypatch.setenv("SARSR_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="SARSR_MAX_BYTES must be"):
        max_bytes()
    monkeypatch.delenv("SARSR_MAX_BYTES")
    assert 0 < max_bytes() <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_dataset_count_beyond_reason_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="more than"):
        generate_dataset("smoke", tmp_path / "d", 10 ** 12, progress=False)
    assert not (tmp_path / "d").exists()
    with pytest.raises(ValueError, match="on disk"):  # 9 M paper-size records: terabytes
        generate_dataset("paper_freehand", tmp_path / "d", 9_000_000, progress=False)
    assert not (tmp_path / "d" / "generation.json").exists()


def test_huge_png_and_mat_are_refused_from_their_headers(tmp_path):
    from PIL import Image
    from scipy.io import savemat

    from sarsr.sr import read_image

    Image.new("1", (8000, 8000)).save(tmp_path / "b.png")  # a few KB on disk, 64 M pixels
    os.environ["SARSR_MAX_BYTES"] = str(50 * 2 ** 20)
    try:
        with pytest.raises(ValueError, match="b.png"):
            read_image(tmp_path / "b.png")
        savemat(tmp_path / "b.mat", {"img": np.zeros((3000, 3000), np.float32)}, do_compression=True)
        with pytest.raises(ValueError, match="would need"):
            read_image(tmp_path / "b.mat")
    finally:
        del os.environ["SARSR_MAX_BYTES"]
    rc, err = _cli("sr", tmp_path / "b.png", "--out", tmp_path / "o.npy", "--size", "100000")
    assert rc == 2 and "would need" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "o.npy").exists()


# ------------------------------------------------------------------ 2. temp files
def test_temp_files_are_exclusive_and_never_follow_symlinks(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.npy"
    for name in (f".out.npy.tmp-{os.getpid()}", f".out.tmp-{os.getpid()}.npy"):  # the old predictable names
        (tmp_path / name).symlink_to(victim)
    out.symlink_to(victim)  # even the destination itself
    atomic_write_text(out, "new")
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and out.read_text() == "new"
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.exists() and not tmp.is_symlink() and tmp.suffix == ".png"
        tmp.write_bytes(b"png")
    assert (tmp_path / "fig.png").read_bytes() == b"png" and victim.read_text() == "precious"
    fd, t = temp_beside(tmp_path / ("x" * 250))  # a long name still fits the file-name limit
    os.close(fd)
    assert len(t.name) < 120 and temp_owner_pid(t.name) == os.getpid()


def test_cli_sr_does_not_write_through_planted_symlinks(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    np.save(tmp_path / "img.npy", np.abs(np.random.default_rng(0).standard_normal((24, 24))).astype(np.float32))
    outdir = tmp_path / "o"
    outdir.mkdir()
    for pid in range(os.getpid(), os.getpid() + 200):  # the child's PID is near ours
        (outdir / f".out.tmp-{pid}.npy").symlink_to(victim)
    rc, err = _cli("sr", tmp_path / "img.npy", "--out", outdir / "out.npy", "--size", "32")
    assert rc == 0, err
    assert victim.read_text() == "precious" and not (outdir / "out.npy").is_symlink()
    assert np.load(outdir / "out.npy").shape == (24, 24)


def test_checkpoint_write_failure_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import torch

    from sarsr.checkpoint import save_checkpoint

    p = tmp_path / "last.pt"
    save_checkpoint({"a": torch.ones(2)}, p)
    before = p.read_bytes()

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"a": torch.zeros(2)}, p)
    assert p.read_bytes() == before and [q.name for q in tmp_path.iterdir()] == ["last.pt"]


# ------------------------------------------------------------------ 3. configs that hang
CFG = """profileCfg 0 77 100 6 60 0 0 70 1 64 2000 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 4
frameCfg {start} {end} {loops} {frames} {period} 1 0
channelCfg 15 5 0
"""


@pytest.mark.parametrize("start, end, loops, frames, period, words", [
    (0, 1000000000, 1, 72, 0, "chirp end index"),
    (0, 1, 1000000000, 1, 0, "loops"),
    (0, 1, 1, 10 ** 12, 0, "frames"),
    (0, 1, 1, 1, "inf", "periodicity"),
    (0, "nan", 1, 1, 0, "chirp end index"),
    (0, 1.5, 1, 1, 0, "whole number"),
])
def test_radar_config_counts_are_bounded(tmp_path, start, end, loops, frames, period, words):
    from sarsr.io import load_radar_config

    p = tmp_path / "radar.cfg"
    p.write_text(CFG.format(start=start, end=end, loops=loops, frames=frames, period=period))
    with pytest.raises(ValueError, match=words):
        load_radar_config(p)


def test_radar_config_json_and_binary_files(tmp_path):
    from sarsr.io import load_radar_config, RadarConfig

    good = tmp_path / "ok.cfg"
    good.write_text(CFG.format(start=0, end=1, loops=2, frames=3, period=10))
    cfg = load_radar_config(good)
    assert cfg.n_loops == 2 and cfg.n_frames == 3
    j = json.loads(cfg.to_mmwave_json())
    j["mmWaveDevices"][0]["rfConfig"]["rlFrameCfg_t"]["chirpEndIdx"] = 1e9
    (tmp_path / "a.mmwave.json").write_text(json.dumps(j))
    with pytest.raises(ValueError, match="chirp end index"):
        load_radar_config(tmp_path / "a.mmwave.json")
    j = json.loads(cfg.to_mmwave_json())
    j["mmWaveDevices"][0]["deviceName"] = 5
    (tmp_path / "b.mmwave.json").write_text(json.dumps(j))
    with pytest.raises(ValueError, match="deviceName"):
        load_radar_config(tmp_path / "b.mmwave.json")
    (tmp_path / "c.mmwave.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match="c.mmwave.json"):
        load_radar_config(tmp_path / "c.mmwave.json")
    (tmp_path / "d.cfg").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match="d.cfg: not a text file"):
        load_radar_config(tmp_path / "d.cfg")
    assert isinstance(cfg, RadarConfig)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vals=st.lists(st.one_of(st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=True, allow_infinity=True)),
                     min_size=5, max_size=5))
def test_radar_config_fuzz_counts(tmp_path, vals):
    """Any numbers in frameCfg: a config within the radar's limits, or a one-line error; never a hang."""
    from sarsr.io import load_radar_config

    p = tmp_path / "f.cfg"
    p.write_text(CFG.format(start=vals[0], end=vals[1], loops=vals[2], frames=vals[3], period=vals[4]))
    try:
        cfg = load_radar_config(p)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert 1 <= cfg.n_loops <= 255 and 0 <= cfg.n_frames <= 65535 and len(cfg.tx_order) <= 512


# ------------------------------------------------------------------ 4. NaN is not success
def test_training_stops_on_a_non_finite_loss(tiny, tmp_path):
    from sarsr.train import ConfigError, TrainingDiverged, train

    quiet = dict(progress=False, log=lambda *a: None)
    with pytest.raises(ConfigError, match="finite"):
        train(tiny, tmp_path / "inf", overrides={"train.lr": float("inf")}, **quiet)
    with pytest.raises(TrainingDiverged, match="step"):
        train(tiny, tmp_path / "r", overrides={"train.lr": 1e12, "train.warmup_steps": 0}, **quiet)
    import torch

    from sarsr.checkpoint import load_checkpoint

    if (tmp_path / "r" / "last.pt").exists():  # whatever was saved is finite
        ck = load_checkpoint(tmp_path / "r" / "last.pt")
        assert all(bool(torch.isfinite(v).all()) for v in ck["model"].values() if v.is_floating_point())


def test_nan_weights_and_huge_inputs_never_give_a_nan_image(tmp_path):
    import torch

    from sarsr.models import create_model
    from sarsr.sr import super_resolve

    net = create_model("srvit_hsm", dim=8, depth=1, state_dim=4).eval()
    big = np.full((16, 16), 1e308)
    big[3, 4] = 5e307
    out = super_resolve(big, net, size=32)
    assert np.all(np.isfinite(out))
    with torch.no_grad():
        next(net.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        super_resolve(big, net, size=32)


def test_calibration_refuses_nan(tmp_path):
    from sarsr.io.calibration import Calibration, load_calibration

    cal = Calibration([0.0, float("nan")], [0.0, 0.0], [1.0, 1.0], [0], 15, [0, 0, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        cal.save(tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()
    (tmp_path / "d.json").write_text(json.dumps(dict(range_offset_m=[0, "x"], phase_rad=[0, 0], gain=[1, 1],
                                                      tx_order=[0], rx_mask=15, reflector_m=[0, 0, 0.3])))
    with pytest.raises(ValueError, match="d.json"):
        load_calibration(tmp_path / "d.json")
    rc, err = _cli("calibrate", tmp_path, "--reflector-mm", "nan,0,100", "--out", tmp_path / "x.json")
    assert rc == 2 and "--reflector-mm" in err


# ------------------------------------------------------------------ 5. training folder lock
def test_training_folder_is_locked(tiny, tmp_path):
    from sarsr._files import FolderBusy, FolderLock
    from sarsr.train import train

    run = tmp_path / "run"
    run.mkdir()
    with FolderLock(run, "test holder"):
        with pytest.raises(FolderBusy, match="in use"):
            train(tiny, run, progress=False, log=lambda *a: None)
    train(tiny, run, max_steps=1, progress=False, log=lambda *a: None)  # free again


# ------------------------------------------------------------------ 6-8. options and one-line errors
def test_config_name_cannot_escape_and_manifest_version(tiny, tmp_path):
    from sarsr.data import read_manifest
    from sarsr.train import ConfigError, load_config

    with pytest.raises(ConfigError, match="one folder name"):
        load_config(tiny, {"name": "../../escaped_run"})
    with pytest.raises(ConfigError, match="data.crop"):
        load_config(tiny, {"data.crop": 3})
    assert load_config(tiny, {"data.crop": 0})["data"]["crop"] == 0  # 0 = the full image
    root = load_config(tiny)["data"]["train"]
    d = tmp_path / "ds"
    d.mkdir()
    man = json.loads((__import__("pathlib").Path(root) / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps({**man, "sarsr_version": "99.0"}))
    with pytest.raises(ValueError, match="newer"):
        read_manifest(d)
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="manifest.json"):
        read_manifest(d)


def test_export_needs_force_to_replace_shipped_weights(tiny, tmp_path):
    from sarsr.train import export_weights, train

    run = tmp_path / "run"
    train(tiny, run, progress=False, log=lambda *a: None)
    export_weights(run, "model.pt", dest=tmp_path / "w")
    with pytest.raises(ValueError, match="--force"):
        export_weights(run, "model.pt", dest=tmp_path / "w")
    export_weights(run, "model.pt", dest=tmp_path / "w", force=True)


def test_checkpoint_of_another_task_is_refused(tiny, tmp_path):
    from sarsr.checkpoint import CheckpointError
    from sarsr.models import load_run
    from sarsr.train import train
    from sarsr.vision import load_classifier

    run = tmp_path / "run"
    train(tiny, run, max_steps=1, progress=False, log=lambda *a: None)
    with pytest.raises(CheckpointError, match="super-resolution network"):
        load_classifier(run / "last.pt", tasks=("classification",))
    assert load_run(run / "last.pt", tasks=("super_resolution",))[0] is not None


@pytest.mark.parametrize("args, words", [
    (("train", "sr_cnn", "--device", "bogus", "--out", "{tmp}/t"), "--device"),
    (("train", "sr_cnn", "--device", "cuda:7", "--out", "{tmp}/t"), "--device"),
    (("bench", "models", "--size", "-5"), "--size"),
    (("bench", "models", "--repeat", "0"), "--repeat"),
    (("vision", "evaluate", "--test", "{tmp}", "--model", "a=b.pt", "--limit", "0"), "--limit"),
    (("vision", "evaluate", "--test", "{tmp}", "--model", "a=b.pt", "--limit", "-3"), "--limit"),
    (("sr", "{tmp}/garbage.npy", "--out", "{tmp}/o.npy"), "garbage.npy"),
    (("demo", "--out", "{tmp}/demo", "--model", "{tmp}/missing.pt"), "missing.pt"),
    (("evaluate", "--test", "{tmp}", "--robustness", "--robustness-count", "0"), "--robustness-count"),
])
def test_cli_expected_failures_are_one_line(tmp_path, args, words):
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage that is not a header")
    rc, err = _cli(*(a.format(tmp=tmp_path) for a in args))
    assert rc == 2 and len(err.splitlines()) == 1 and words in err, err
    if args[0] == "demo":
        assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())


def test_raw_parts_join_in_order_and_refuse_gaps(tmp_path):
    from sarsr.io.capture import _raw_parts

    for i in (0, 1, 2, 10, 3, 4, 5, 6, 7, 8, 9):
        (tmp_path / f"cap_Raw_{i}.bin").write_bytes(b"")
    assert [p.name for p in _raw_parts(tmp_path)][-2:] == ["cap_Raw_9.bin", "cap_Raw_10.bin"]
    (tmp_path / "cap_Raw_1.bin").unlink()
    with pytest.raises(ValueError, match="cap_Raw_1.bin is missing"):
        _raw_parts(tmp_path)


def test_positions_csv_with_a_bom(tmp_path):
    from sarsr.io import read_positions

    (tmp_path / "positions.csv").write_bytes("\ufeffx_mm,y_mm,z_mm\n1,2,3\n4,5,6\n".encode("utf-8"))
    xyz = read_positions(tmp_path / "positions.csv")
    xyz = xyz[0] if isinstance(xyz, tuple) else xyz
    assert np.allclose(np.asarray(xyz)[0], [1e-3, 2e-3, 3e-3])


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(min_value=1e-300, max_value=1.7e308), n=st.integers(4, 24))
def test_super_resolve_any_finite_scale(scale, n):
    """Huge or tiny finite inputs: a finite image in [0, 1] (never NaN)."""
    from sarsr.models import create_model
    from sarsr.sr import super_resolve

    net = _fuzz_net()
    img = np.abs(np.random.default_rng(n).standard_normal((n, n)))
    img = img / img.max() * scale  # finite: the largest value is exactly ``scale``
    out = super_resolve(img, net, size=16)
    assert out.shape == (n, n) and np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
    assert math.isfinite(float(out.sum()))
    del create_model


_NET = []


def _fuzz_net():
    from sarsr.models import create_model

    if not _NET:
        _NET.append(create_model("srvit_hsm", dim=8, depth=1, state_dim=4).eval())
    return _NET[0]


@settings(max_examples=20, deadline=None)
@given(exponent=st.floats(min_value=-30, max_value=307), method=st.sampled_from(["interp", "exact", "ffbp"]))
def test_backproject_any_finite_scale(exponent, method):
    """Huge or tiny finite echoes: a finite image, or a one-line error saying to scale them down."""
    from sarsr import radar

    scan = radar.raster_scan("awr1443", nx=6, ny_steps=2)
    k = radar.waveform("iwr1443").k
    grid = radar.image_grid(n=6, extent=0.02, z=0.25).points
    echo = radar.simulate_echo(scan.tx, scan.rx, k, [[0.0, 0.0, 0.25]], [1.0]).astype(np.complex128) * 10.0 ** exponent
    try:
        img = radar.backproject(echo, scan.tx, scan.rx, k, grid, method=method)
    except ValueError as exc:
        assert "overflow" in str(exc) and "\n" not in str(exc)
    else:
        assert np.all(np.isfinite(img))


def test_killed_dataset_worker_is_one_line_with_resume_hint(monkeypatch, tmp_path, capsys):
    from concurrent.futures.process import BrokenProcessPool

    import sarsr.data
    from sarsr.cli import main

    def boom(*a, **k):
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(sarsr.data, "generate_dataset", boom)
    assert main(["dataset", "smoke", "--count", "2", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run the same command again" in err


def test_protocol4_pickle_is_refused_in_exactly_one_line(tmp_path):
    import pickle

    (tmp_path / "bad.pt").write_bytes(pickle.dumps({"model": object()}, protocol=4))
    np.save(tmp_path / "img.npy", np.ones((8, 8), np.float32))
    rc, err = _cli("sr", tmp_path / "img.npy", "--out", tmp_path / "o.npy", "--model", tmp_path / "bad.pt")
    assert rc == 2 and len(err.splitlines()) == 1 and "bad.pt" in err, err
