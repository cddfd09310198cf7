"""Reliability, round 3 (the cases left after the systemic fixes): a scenario too large for
memory is refused from its keys before anything is allocated, a worker's error reaches the
user as its cause in one line, a bad SR model for a recognition run fails before any worker
starts, and a killed run's orphaned workers do not keep its folder locked."""

import os
import subprocess
import sys
import time

import pytest

from sarsr._files import FolderBusy, FolderLock
from sarsr.cli import _worker_cause
from sarsr.data import generate_dataset
from sarsr.data.scenario import list_scenarios, load_scenario
from sarsr.data.simulate import check_record_memory, record_working_bytes
from tests.test_vision import recog  # noqa: F401  (the tiny recognition dataset fixture)

from .cli_helper import run_cli


@pytest.mark.parametrize("name", list_scenarios())
def test_every_preset_fits_the_memory_budget(name):
    sc = load_scenario(name)
    assert 1e6 < record_working_bytes(sc) < 2**30  # about a hundred MiB per record, never GiB
    check_record_memory(sc)  # no error


def test_huge_scan_is_refused_from_its_keys_before_any_allocation(tmp_path):
    sc = load_scenario("paper_freehand").with_overrides({"trajectory.nx": 10_000_000})
    with pytest.raises(ValueError, match=r"trajectory\.nx x trajectory\.ny_steps.*GiB"):
        generate_dataset(sc, tmp_path / "ds", count=1, progress=False, log=lambda *a: None)
    assert not (tmp_path / "ds").exists()  # refused before the folder was made
    rc, err = run_cli("dataset", "paper_freehand", "--count", "1", "--set", "trajectory.nx=10000000",
                      "--out", tmp_path / "ds2")
    assert rc == 2 and len(err.splitlines()) == 1 and "trajectory.nx" in err, err


def test_huge_grid_is_refused_by_the_record_simulator():
    from sarsr.data.simulate import simulate_record

    sc = load_scenario("smoke").with_overrides({"grid.n": 1_000_000})
    with pytest.raises(ValueError, match="grid.n"):
        simulate_record(sc, 0, 0)


def test_worker_errors_reach_the_user_as_their_cause():
    wrapped = ("Caught FileNotFoundError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
               "last):\n  File \"worker.py\", line 374, in _worker_loop\n    data = fetcher.fetch(index)\n"
               "FileNotFoundError: no model file /x/missing.pt\n")
    assert _worker_cause(wrapped) == "no model file /x/missing.pt (in a data-loading worker)"
    assert _worker_cause("plain message") == "plain message"


@pytest.mark.parametrize("model, words", [("missing.pt", "no model file"), ("bad.pt", "not a plain weights file")])
def test_recognition_run_with_a_bad_sr_model_fails_before_any_worker(recog, tmp_path, model, words):  # noqa: F811
    from sarsr.vision.dataset import RecognitionDataset

    (tmp_path / "bad.pt").write_bytes(b"garbage, not a checkpoint")
    with pytest.raises((FileNotFoundError, ValueError), match=words):
        RecognitionDataset(recog[0], sr_model=str(tmp_path / model))
    rc, err = run_cli("vision", "train", recog[1], "--set", f"data.sr_model={tmp_path / model}",
                      "--set", "data.num_workers=1", "--out", tmp_path / "run", "--quiet")
    assert rc == 2 and len(err.splitlines()) == 1 and words in err and "Traceback" not in err, err


def test_lock_left_by_a_dead_owners_children_is_waited_for(tmp_path):
    """The owner (its PID in .lock) is dead, a process it left behind still holds the flock for
    a moment (a DataLoader worker noticing its parent is gone): the next run waits, then takes it."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        f"os.ftruncate(fd, 0); os.write(fd, b{dead!r})\n"
        "print('held', flush=True); time.sleep(1.5)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    with FolderLock(tmp_path, "test run"):
        waited = time.monotonic() - t0
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
    holder.wait(5)
    assert 0.3 < waited < FolderLock.ORPHAN_WAIT_S


def test_lock_of_a_live_owner_is_refused_at_once(tmp_path):
    with FolderLock(tmp_path, "first run"):
        holder = subprocess.run([sys.executable, "-c", (
            "from sarsr._files import FolderLock\n"
            f"FolderLock({str(tmp_path)!r}, 'second run').__enter__()\n")], capture_output=True, text=True,
            timeout=30)
    assert holder.returncode != 0 and "in use by another second run" in holder.stderr
    assert "FolderBusy" in holder.stderr
