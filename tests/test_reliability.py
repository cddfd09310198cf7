"""Reliability regressions (issue: no crashes, no lost or silently wrong data): degenerate
radar inputs, dataset folder ownership and locking, training logs and resume rules, one-line
CLI errors."""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from sarsr import radar
from sarsr.data import generate_dataset

from .cli_helper import run_cli


def test_backproject_single_wavenumber_matches_reference():
    """K = 1 used to read out of bounds (NaN table index) and kill the interpreter."""
    from sarsr.radar.backends.reference import backproject_numpy

    scan = radar.raster_scan("awr1443", nx=6, ny_steps=2)
    k = radar.waveform("iwr1443").k[:1]
    g = radar.image_grid(n=6, extent=0.02, z=0.25)
    echo = radar.simulate_echo(scan.tx, scan.rx, k, [[0.0, 0.0, 0.25]], [1.0])
    ref = backproject_numpy(echo, scan.tx, scan.rx, k, g.points.reshape(-1, 3)).reshape(g.shape)
    for method in ("interp", "exact"):
        for backend in ("numba", "torch"):
            img = radar.backproject(echo, scan.tx, scan.rx, k, g.points, method=method, backend=backend)
            assert np.allclose(img, ref, rtol=1e-4, atol=1e-3 * np.abs(ref).max())


def test_cli_reconstruct_capture_with_one_adc_sample(tmp_path):
    """`sarsr reconstruct` on a capture with numAdcSamples = 1 ran into the same crash (rc 139)."""
    code = (
        "import numpy as np\n"
        "from sarsr import radar\n"
        "scan = radar.raster_scan('awr1443', nx=4, ny_steps=1)\n"
        "k = radar.waveform('iwr1443').k[:1]\n"
        "e = radar.simulate_echo(scan.tx, scan.rx, k, [[0, 0, 0.25]], [1.0])\n"
        "img = radar.backproject(e, scan.tx, scan.rx, k, radar.image_grid(n=4, extent=0.01, z=0.25).points)\n"
        "print(np.isfinite(img).all())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr[-500:]


def _tiny_ds(out, **kw):
    return generate_dataset("smoke", out, 4, seed=1, workers=1, shard_size=2, progress=False,
                            log=lambda *a: None, **kw)


def test_dataset_refuses_foreign_folder_and_bad_seed(tmp_path):
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="--force"):
        _tiny_ds(foreign)
    assert (foreign / "manifest.json").read_text() == "{}"
    m = _tiny_ds(foreign, force=True)
    assert m["count"] == 4
    with pytest.raises(ValueError, match="seed"):
        generate_dataset("smoke", tmp_path / "s", 4, seed=-1, workers=1, progress=False)
    assert not (tmp_path / "s" / "generation.json").exists()
    generate_dataset("smoke", tmp_path / "s", 2, seed=0, workers=1, progress=False, log=lambda *a: None)


def test_dataset_folder_lock_names_owner(tmp_path):
    from sarsr._files import FolderBusy, FolderLock

    out = tmp_path / "d"
    out.mkdir()
    with FolderLock(out, "sarsr dataset run"):
        with pytest.raises(FolderBusy, match=f"PID {os.getpid()}"):
            _tiny_ds(out)


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_dataset_kill_stops_workers_and_resumes(tmp_path, sig):
    """SIGTERM or SIGKILL to the main process: it stops, its worker processes are gone, and the
    same command finishes the dataset."""
    import signal

    out = tmp_path / "d"
    code = ("from sarsr.data import generate_dataset\n"
            f"generate_dataset('smoke', {str(out)!r}, 64, seed=2, workers=2, shard_size=1, progress=False)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(out.glob("shard-*.h5"))) < 2:
        time.sleep(0.2)
    children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    p.send_signal(getattr(signal, sig))
    p.communicate(timeout=120)
    assert p.returncode != 0
    time.sleep(1.5)
    alive = [c for c in children if os.path.exists(f"/proc/{c}") and "zombie" not in open(f"/proc/{c}/status").read().lower()]
    assert not alive, f"workers still running: {alive}"
    m = generate_dataset("smoke", out, 64, seed=2, workers=1, shard_size=1, progress=False, log=lambda *a: None)
    assert m["count"] == 64 and len(m["shards"]) == 64


from .test_train import tiny  # noqa: E402,F401  (the tiny SR run config fixture, shared)


def _log(run):
    rows = list(csv.DictReader((run / "log.csv").open()))
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]


def test_log_identical_after_stop_kill_and_resume(tiny, tmp_path):
    from sarsr.train import train

    quiet = dict(progress=False, log=lambda *a: None)
    train(tiny, tmp_path / "a", **quiet)
    train(tiny, tmp_path / "b", max_steps=3, **quiet)        # a --max-steps stop off the grid
    train(tiny, tmp_path / "b", max_steps=4, **quiet)
    rows = (tmp_path / "b" / "log.csv").read_text().splitlines()  # a kill after the checkpoint,
    (tmp_path / "b" / "log.csv").write_text("\n".join(rows[:-1]) + "\n")  # before its rows were appended
    train(tiny, tmp_path / "b", **quiet)
    assert _log(tmp_path / "a") == _log(tmp_path / "b")


def test_train_refuses_changed_config_and_foreign_run(tiny, tmp_path):
    from sarsr.train import ConfigError, train

    quiet = dict(progress=False, log=lambda *a: None)
    train(tiny, tmp_path / "r", max_steps=2, **quiet)
    with pytest.raises(ConfigError, match="train.lr"):
        train(tiny, tmp_path / "r", overrides={"train.lr": 0.5}, **quiet)
    train(tiny, tmp_path / "r", overrides={"train.lr": 0.5}, force_config=True, max_steps=3, **quiet)
    (tmp_path / "r" / "last.pt").unlink()
    with pytest.raises(ValueError, match="--restart"):
        train(tiny, tmp_path / "r", **quiet)
    assert (tmp_path / "r" / "log.csv").exists()
    for bad in (0, -5):
        with pytest.raises(ValueError, match="max_steps"):
            train(tiny, tmp_path / "x", max_steps=bad, **quiet)


_cli = run_cli  # in-process (a subprocess per case costs seconds of imports)


def test_the_installed_entry_point_prints_one_line_errors(tmp_path):
    """The real ``python -m sarsr`` process: exit code 2 and one line of stderr."""
    r = subprocess.run([sys.executable, "-m", "sarsr", "train", "sr_cnn", "--max-steps", "0", "--out", str(tmp_path / "t")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--max-steps" in r.stderr, r.stderr


@pytest.mark.parametrize("args, words", [
    (("train", "sr_cnn", "--max-steps", "0", "--out", "{tmp}/t"), "--max-steps"),
    (("evaluate", "--test", "{tmp}/none", "--limit", "0"), "--limit"),
    (("sr", "{tmp}/empty.npy", "--out", "{tmp}/o.png"), "(0, 0)"),
    (("dataset", "smoke", "--count", "2", "--out", "{tmp}/d", "--set", "position_error.sigmaa=1"),
     "position_error.sigmaa"),
    (("dataset", "smoke", "--count", "2", "--out", "{tmp}/d", "--set", "noise.snr_db=[5, 1]"), "noise.snr_db"),
    (("train", "sr_cnn", "--set", "train.lr", "--out", "{tmp}/t"), "key=value"),
])
def test_cli_one_line_errors(tmp_path, args, words):
    np.save(tmp_path / "empty.npy", np.zeros((0, 0), np.float32))
    rc, err = _cli(*(a.format(tmp=tmp_path) for a in args))
    assert rc == 2 and len(err.splitlines()) == 1 and words in err, err


def test_shard_write_failure_is_one_line_oserror(tmp_path, monkeypatch):
    """A full disk (h5py raises RuntimeError) becomes an OSError naming the shard, no temp left."""
    import h5py

    from sarsr.data import load_scenario
    from sarsr.data.shards import write_shard
    from sarsr.data.simulate import simulate_record

    sc = load_scenario("smoke")
    rec = simulate_record(sc, 0, 0)

    def full(*a, **k):
        raise RuntimeError("Can't write data (file write failed: errno = 28, error message = 'No space left')")

    monkeypatch.setattr(h5py.Group, "create_dataset", full)
    with pytest.raises(OSError, match="disk full") as e:
        write_shard(tmp_path / "shard-00000.h5", [rec], 0, 0, sc)
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())


def test_altered_shard_is_caught_by_evaluate_and_dataset(tmp_path):
    import h5py

    from sarsr.data import SARDataset
    from sarsr.train.evaluate import evaluate

    root = tmp_path / "d"
    _tiny_ds(root)
    with h5py.File(root / "shard-00001.h5", "r+") as f:  # finite, plausible, but not what was generated
        f["empm"][0] = f["empm"][0] * 1.5
    with pytest.raises(ValueError, match="shard-00001.h5.*checksum"):
        evaluate(root, progress=False, timing=False)
    with pytest.raises(ValueError, match="shard-00001.h5.*checksum"):
        SARDataset(root, size=32)
    assert len(SARDataset(root, size=32, verify=False)) == 4
