"""The prepared GPU call (scripts/device_run.sh) cannot rot: its dry run executes every phase
on the CPU at tiny sizes, with only the tree on PYTHONPATH, and writes what the real call
returns (summary, bench table, weights and logs of both training runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_run_dry_run(tmp_path):
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "OUT": str(tmp_path / "out"), "DEVICE_WORK": str(tmp_path / "work"), "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(ROOT / "scripts" / "device_run.sh"), "--dry-run"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert all(f"rc=0" in line for line in summary["phase_times"]), summary["phase_times"]
    ph = summary["phases"]
    assert ph["check"]["ok"] and ph["env"]["dry_run"] is True
    units = {row["unit"] for row in ph["bench"]["rows"]}
    assert {"G terms/s", "GBP/s", "ms/image", "image-samples/s"} <= units
    for name in ("srvit_hsm", "mobile_srvit"):
        t = ph[f"train_{name}"]
        assert t["steps"] > 0 and t["validation"], t
        assert (out / name / "best.pt").stat().st_size > 0 and (out / name / "log.csv").exists()
        assert (out / name / "config.toml").read_text() == t["config"]
    assert "| simulate (torch) |" in (out / "bench.md").read_text()
    assert len([p for p in out.iterdir()]) <= 8  # what the device tool brings back
    assert not (tmp_path / "work").exists()  # scratch removed; nothing written outside OUT and WORK


@pytest.mark.slow
def test_device_run_train_mode(tmp_path):
    """DEVICE_MODE=train (a second call on what is left of a lease): only environment, data, one
    training of the default network sized from the environment, and the summary."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "OUT": str(tmp_path / "out"), "DEVICE_WORK": str(tmp_path / "work"), "PYTHON": sys.executable,
           "DEVICE_MODE": "train", "DEVICE_DATA_S": "5", "DEVICE_TRAIN_S": "3"}
    r = subprocess.run(["bash", str(ROOT / "scripts" / "device_run.sh"), "--dry-run"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    names = [line.split()[0] for line in summary["phase_times"]]
    assert names == ["env", "data", "train_srvit_hsm"], summary["phase_times"]  # (summary writes it)
    t = summary["phases"]["train_srvit_hsm"]
    assert t["steps"] > 0 and "time_limit_s = 3.0" in t["config"]
    assert "compile = true" not in t["config"]  # never compiled on the CPU dry run
    assert (out / "srvit_hsm" / "best.pt").stat().st_size > 0
    assert not (out / "mobile_srvit").exists()
