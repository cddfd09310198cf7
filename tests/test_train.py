"""Training: config validation, exact resume, logs/plots/checkpoints, torchrun DDP on CPU."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from sarsr.data import generate_dataset
from sarsr.train import ConfigError, StepBatchSampler, load_config, lr_factor, train

CONFIG = """
name = "tiny"
[model]
name = "srvit_hsm"
options = {{dim = 8, depth = 1, state_dim = 4}}
[data]
train = "{root}"
size = 32
crop = 16
val_count = 4
num_workers = 0
[train]
batch_size = 4
steps = 6
lr = 1e-3
checkpoint_every = 2
val_every = 3
log_every = 1
warmup_steps = 2
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    generate_dataset("smoke", root, 16, seed=3, workers=1, shard_size=8, progress=False)
    cfg = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    cfg.write_text(CONFIG.format(root=root))
    return cfg


def test_shipped_configs_load():
    for name in ("mobile_srvit_paper", "srvit_hsm", "srvit_shsa", "sr_cnn"):
        cfg = load_config(name)
        assert cfg["model"]["name"] and cfg["train"]["steps"] > 0
    paper = load_config("mobile_srvit_paper")
    assert paper["train"]["lr"] == 1e-4 and paper["train"]["batch_size"] == 2 and paper["train"]["loss"] == "l1"


def test_bad_config_names_the_key(tiny, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(tiny.read_text().replace("batch_size = 4", "batch_sise = 4"))
    with pytest.raises(ConfigError, match="train.batch_sise"):
        load_config(bad)
    with pytest.raises(ConfigError, match="train.loss"):
        load_config(tiny, {"train.loss": "l3"})
    with pytest.raises(ConfigError, match="expected int"):
        load_config(tiny, {"train.steps": "many"})


def test_sampler_is_a_function_of_step():
    a = StepBatchSampler(20, 4, 12, seed=1)
    b = StepBatchSampler(20, 4, 12, seed=1, start=7)
    assert list(a)[7:] == list(b)
    full = [i for batch in list(a)[:5] for i, _ in batch]
    assert sorted(full) == sorted(set(full)) and len(full) == 20  # one epoch = permutation
    r0 = StepBatchSampler(20, 4, 3, seed=1, rank=0, world=2).batch(1)
    r1 = StepBatchSampler(20, 4, 3, seed=1, rank=1, world=2).batch(1)
    assert sorted(r0 + r1) == sorted(a.batch(1))


def test_lr_schedule():
    t = dict(warmup_steps=10, schedule="cosine", steps=110, milestones=[], gamma=0.5)
    assert lr_factor(0, t) == pytest.approx(0.1) and lr_factor(10, t) == pytest.approx(1.0)
    assert lr_factor(110, t) == pytest.approx(0.0, abs=1e-12)
    m = dict(warmup_steps=0, schedule="multistep", steps=100, milestones=[30, 60], gamma=0.5)
    assert [lr_factor(s, m) for s in (0, 30, 61)] == [1.0, 0.5, 0.25]


def test_resume_continues_exactly(tiny, tmp_path):
    full = train(tiny, tmp_path / "a", progress=False, log=lambda *a: None)
    assert full["step"] == 6
    train(tiny, tmp_path / "b", max_steps=3, progress=False, log=lambda *a: None)  # "killed" at 3
    ck = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert ck["step"] == 3
    # a row logged after the checkpoint by the killed run must disappear on resume
    with (tmp_path / "b" / "log.csv").open("a") as fh:
        fh.write("5,9.9,0.1,,,1\n")
    train(tiny, tmp_path / "b", progress=False, log=lambda *a: None)
    a = torch.load(tmp_path / "a" / "model.pt")
    b = torch.load(tmp_path / "b" / "model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows_a = list(csv.DictReader((tmp_path / "a" / "log.csv").open()))
    rows_b = list(csv.DictReader((tmp_path / "b" / "log.csv").open()))
    assert [(r["step"], r["loss"], r["val_psnr"]) for r in rows_a] == \
           [(r["step"], r["loss"], r["val_psnr"]) for r in rows_b]
    for f in ("best.pt", "loss.png", "config.toml"):
        assert (tmp_path / "a" / f).exists()
    assert any(r["val_psnr"] for r in rows_a)


def test_torchrun_two_cpu_processes(tiny, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "sarsr", "train", str(tiny), "--out", str(tmp_path / "ddp"), "--quiet", "--set", "train.steps=4"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "ddp" / "model.pt").exists()
    assert "step 4" in r.stdout
