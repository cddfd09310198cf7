"""Training: config validation, exact resume, logs/plots/checkpoints, torchrun DDP on CPU."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from sarsr.checkpoint import load_checkpoint

from sarsr.train import CONFIG_DIR, ConfigError, StepBatchSampler, load_config, lr_factor, train
from tests.conftest import dataset_and_config

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
    return dataset_and_config(tmp_path_factory, CONFIG, name="tiny.toml")[1]


def test_shipped_configs_load():
    for name in ("mobile_srvit_paper", "srvit_hsm", "srvit_hsm_finetune", "srvit_shsa", "sr_cnn"):
        cfg = load_config(name)
        assert cfg["model"]["name"] and cfg["train"]["steps"] > 0
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        cfg = load_config(path.stem)  # every shipped config parses, its loss and options included
        assert cfg["name"] == path.stem, path
    assert load_config("srvit_hsm_points_v5")["train"]["loss_options"] == {"scale": 16.0}
    paper = load_config("mobile_srvit_paper")
    assert paper["train"]["lr"] == 1e-4 and paper["train"]["batch_size"] == 2 and paper["train"]["loss"] == "l1"


def test_bad_config_names_the_key(tiny, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(tiny.read_text().replace("batch_size = 4", "batch_sise = 4"))
    with pytest.raises(ConfigError, match="train.batch_sise"):
        load_config(bad)
    with pytest.raises(ConfigError, match="train.loss"):
        load_config(tiny, {"train.loss": "l3"})
    with pytest.raises(ConfigError, match="train.steps: expected an integer"):
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
    ck = load_checkpoint(tmp_path / "b" / "last.pt")
    assert ck["step"] == 3
    # a row logged after the checkpoint by the killed run must disappear on resume
    with (tmp_path / "b" / "log.csv").open("a") as fh:
        fh.write("5,9.9,0.1,,,1\n")
    train(tiny, tmp_path / "b", progress=False, log=lambda *a: None)
    a = load_checkpoint(tmp_path / "a" / "model.pt")
    b = load_checkpoint(tmp_path / "b" / "model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows_a = list(csv.DictReader((tmp_path / "a" / "log.csv").open()))
    rows_b = list(csv.DictReader((tmp_path / "b" / "log.csv").open()))
    assert [(r["step"], r["loss"], r["val_psnr"]) for r in rows_a] == \
           [(r["step"], r["loss"], r["val_psnr"]) for r in rows_b]
    for f in ("best.pt", "loss.png", "config.toml"):
        assert (tmp_path / "a" / f).exists()
    assert any(r["val_psnr"] for r in rows_a)


def test_a_signal_stops_after_the_step_checkpointed_and_the_run_resumes_exactly(tiny, tmp_path):
    """SIGTERM (kill) or SIGINT mid-run: the step in flight finishes, last.pt records it, the
    call returns; the same command resumes and trains the uninterrupted run's weights."""
    import signal

    full = train(tiny, tmp_path / "a", progress=False, log=lambda *a: None)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    msgs = []

    def log(m):
        msgs.append(m)
        if "train /" in m and not any("stopped by" in x for x in msgs):  # the loop is about to start
            os.kill(os.getpid(), signal.SIGTERM)

    res = train(tiny, tmp_path / "b", progress=False, log=log)
    assert res["step"] == 1 and load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 1
    assert any("stopped by SIGTERM at step 1" in m for m in msgs)
    assert {sig: signal.getsignal(sig) for sig in before} == before  # the handlers are put back
    assert train(tiny, tmp_path / "b", progress=False, log=lambda *a: None)["step"] == full["step"]
    a, b = load_checkpoint(tmp_path / "a" / "model.pt"), load_checkpoint(tmp_path / "b" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_init_fine_tunes_from_another_run(tiny, tmp_path):
    train(tiny, tmp_path / "a", progress=False, log=lambda *a: None)
    src = load_checkpoint(tmp_path / "a" / "model.pt")
    msgs = []
    # one step at lr 0: the fine-tuned run's weights are exactly the source run's
    for ck in ("model.pt", "last.pt"):
        res = train(tiny, tmp_path / f"ft_{ck}", progress=False, log=msgs.append,
                    overrides={"train.init": str(tmp_path / "a" / ck), "train.steps": 1, "train.lr": 0.0})
        assert res["step"] == 1
        got = load_checkpoint(tmp_path / f"ft_{ck}" / "model.pt")
        weights = [k for k in src if "running_" not in k and "num_batches" not in k]  # BN stats move
        assert weights and all(torch.equal(src[k], got[k]) for k in weights)
    assert any("fine-tuning from" in m for m in msgs)
    from sarsr.train import export_weights, run_config

    assert run_config(tmp_path / "ft_model.pt")["train"]["init"].endswith("model.pt")  # --set kept
    import json

    meta = json.loads(export_weights(tmp_path / "ft_model.pt", "model.pt", dest=tmp_path / "w")
                      .with_suffix(".json").read_text())
    last = meta["reproduce"][-1]
    assert "--set train.init=" in last and "earlier run" in last
    # the chain of stages: the source run first, then the fine-tuning run, each reproducible
    assert [s["run"] for s in meta["stages"]] == ["a", "ft_model.pt"]
    assert all(s["samples_seen"] and s["config_toml"] for s in meta["stages"])
    assert meta["samples_seen_total"] == sum(s["samples_seen"] for s in meta["stages"])
    with pytest.raises(FileNotFoundError, match="train.init"):
        train(tiny, tmp_path / "bad", progress=False, log=lambda *a: None,
              overrides={"train.init": str(tmp_path / "nope.pt")})


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "sarsr", "train", str(tiny), "--out", str(tmp_path / "ddp"), "--quiet", "--set", "train.steps=4"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "ddp" / "model.pt").exists()
    assert "step 4" in r.stdout


# --- inference and evaluation with a tiny trained run -------------------------------------

@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(tiny, out, progress=False, log=lambda *a: None)
    return out


def test_super_resolve_any_scale_size_and_type(run):
    import numpy as np

    from sarsr import super_resolve

    rng = np.random.default_rng(0)
    img = (rng.standard_normal((40, 52)) + 1j * rng.standard_normal((40, 52))).astype(np.complex64)
    a = super_resolve(img, run / "model.pt", size=32)
    assert a.shape == (40, 52) and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    g = super_resolve(img, run / "model.pt", size=32, keep_size=False)  # on the working grid
    assert g.shape == (32, 32)
    from sarsr.data.torch_dataset import preprocess_input
    from sarsr.sr import load_sr_model

    with torch.no_grad():  # exactly the training preprocessing followed by the network
        ref = load_sr_model(run / "model.pt")(preprocess_input(img, 32)[None])[0, 0].clamp(0, 1).numpy()
    np.testing.assert_allclose(g, ref, atol=1e-6)
    b = super_resolve(np.abs(img) * 1e-4, run / "best.pt", size=32)  # magnitude, other scale
    c = super_resolve(img, run / "last.pt", size=32)
    np.testing.assert_allclose(a, c, atol=1e-6)
    assert b.shape == a.shape
    batch = super_resolve(np.stack([img, img]), run / "model.pt", size=32)
    assert batch.shape == (2, 40, 52)
    np.testing.assert_allclose(batch[0], a, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        super_resolve(np.full((8, 8), np.nan), run / "model.pt")
    with pytest.raises(ValueError, match="expected an"):
        super_resolve(np.zeros(5), run / "model.pt")


def test_evaluate_and_report(run, tiny, tmp_path):
    from sarsr.train import load_config
    from sarsr.train.evaluate import evaluate, write_report

    root = load_config(tiny)["data"]["train"]
    rows = evaluate(root, {"tiny": run / "model.pt"}, size=32, limit=6, progress=False)
    names = {r["method"] for r in rows}
    assert {"EMPM (network input)", "backprojection", "planar RMA", "tiny"} <= names
    net = [r for r in rows if r["method"] == "tiny"][0]
    assert net["n"] == 6 and net["params"] > 0 and net["gmacs"] > 0 and 0 < net["ssim"] <= 1
    write_report(tmp_path / "r.md", rows, root, {"sigma_mm": [0, 1], "psnr_db": {"tiny": [20.0, 19.0]}})
    md = (tmp_path / "r.md").read_text()
    assert "| tiny |" in md and "r_robustness.png" in md and (tmp_path / "r_robustness.png").exists()


def test_cli_sr_formats(run, tmp_path, capsys):
    import h5py
    import numpy as np
    from scipy.io import savemat

    from sarsr.cli import main

    img = np.abs(np.random.default_rng(1).standard_normal((30, 30))).astype(np.float32)
    np.save(tmp_path / "a.npy", img)
    savemat(tmp_path / "a.mat", {"radarImagesFFH": img.astype(np.complex64)})
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["empm"] = img
    for src, dst in (("a.npy", "o.npy"), ("a.mat", "o.png"), ("a.h5", "o.h5")):
        assert main(["sr", str(tmp_path / src), "--out", str(tmp_path / dst), "--model", str(run / "model.pt"),
                     "--size", "32"]) == 0
        assert (tmp_path / dst).exists()
    assert np.load(tmp_path / "o.npy").shape == (30, 30)
    assert main(["sr", str(tmp_path / "a.npy"), "--out", str(tmp_path / "o.npy"), "--model",
                 str(run / "model.pt")]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["sr", str(tmp_path / "missing.npy"), "--out", str(tmp_path / "x.npy")]) == 2


def test_demo_with_a_network(run, tmp_path):
    from sarsr.demo import run_demo

    res = run_demo(tmp_path / "d", size="smoke", model=run / "model.pt", log=lambda *a: None)
    assert "super-resolved" in res["psnr_db"] and "note" not in res
    assert (tmp_path / "d" / "demo.png").stat().st_size > 10_000


def test_export_weights_round_trip(run, tmp_path):
    import json

    import numpy as np

    from sarsr.models import create_model
    from sarsr.train import export_weights

    pt = export_weights(run, "best.pt", evaluation={"psnr_db": 1.0}, dest=tmp_path)
    meta = json.loads(pt.with_suffix(".json").read_text())
    assert meta["model"] == "srvit_hsm" and meta["options"]["dim"] == 8 and meta["validation"]
    net = create_model("srvit_hsm", checkpoint_path=pt, **meta["options"])
    ref = create_model("srvit_hsm", checkpoint_path=run / "best.pt", **meta["options"])
    x = torch.rand(1, 1, 32, 32)
    net.eval(), ref.eval()
    np.testing.assert_allclose(net(x).detach().numpy(), ref(x).detach().numpy())


@pytest.mark.filterwarnings("ignore:super_resolve. the network erased")  # noise only: its peaks are put back
def test_shipped_default_weights_load_and_run():
    import json

    import numpy as np

    from sarsr import super_resolve
    from sarsr.models import create_model, weights_path
    from sarsr.sr import DEFAULT_SR_MODEL

    meta = json.loads(weights_path(DEFAULT_SR_MODEL).with_suffix(".json").read_text())
    assert meta["model"] == DEFAULT_SR_MODEL and meta["trained_steps"] > 0 and meta["evaluation"]
    assert weights_path(DEFAULT_SR_MODEL).stat().st_size < 5 * 1024 * 1024
    create_model(DEFAULT_SR_MODEL, pretrained=True)
    img = np.random.default_rng(0).standard_normal((200, 200)) + 0j
    out = super_resolve(img)
    assert out.shape == (200, 200) and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1


def test_select_picks_best_by_another_metric_and_old_checkpoints_resume(tiny, tmp_path):
    """train.select names the validation metric behind best.pt (the log has the task's metric
    columns); an unknown one fails before training, naming the valid ones; a checkpoint written
    before a config key existed resumes while the key holds its default."""
    res = train(tiny, tmp_path / "s", progress=False, log=lambda *a: None, overrides={"train.select": "val_score"})
    assert res["primary"] == "val_score"
    rows = [r for r in csv.DictReader((tmp_path / "s" / "log.csv").open()) if r["val_score"]]
    assert rows and all(float(r["val_score"]) >= float(r["val_psnr"]) - 4 for r in rows)
    assert res["best_val"] == pytest.approx(max(float(r["val_score"]) for r in rows), abs=1e-4)
    with pytest.raises(ConfigError, match="val_psnr"):
        train(tiny, tmp_path / "bad", progress=False, log=lambda *a: None, overrides={"train.select": "val_acc"})
    train(tiny, tmp_path / "old", max_steps=2, progress=False, log=lambda *a: None)
    ck = load_checkpoint(tmp_path / "old" / "last.pt")
    del ck["config"]["train"]["select"]  # as written before train.select existed
    torch.save(ck, tmp_path / "old" / "last.pt")
    assert train(tiny, tmp_path / "old", progress=False, log=lambda *a: None)["step"] == 6


def test_weight_average_math_and_one_line_errors():
    from sarsr.train.ema import WeightEMA

    lin = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.0)
    ema = WeightEMA(lin, 0.9)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    ema.update()                                   # warm-up decay min(0.9, 2 / 11)
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 1 - 2 / 11))
    for _ in range(200):
        ema.update()
    assert torch.allclose(ema.module.weight, torch.ones(1, 2), atol=1e-6)
    assert not ema.module.weight.requires_grad and not ema.module.training
    with pytest.raises(ValueError, match="EMA decay"):
        WeightEMA(lin, 1.0)


def test_weight_average_run_resumes_exactly_and_trains_the_same_weights(tiny, tmp_path):
    """ema_decay changes what is validated and saved (the average), not the training: last.pt's
    raw weights equal a run without it; a killed and resumed run is bit-identical."""
    quiet = dict(progress=False, log=lambda *a: None)
    ema = {"train.ema_decay": 0.5}
    train(load_config(tiny, ema), tmp_path / "a", **quiet)
    train(load_config(tiny, ema), tmp_path / "b", max_steps=3, **quiet)
    train(load_config(tiny, ema), tmp_path / "b", **quiet)
    train(tiny, tmp_path / "plain", **quiet)
    a, b = (load_checkpoint(tmp_path / r / "last.pt") for r in ("a", "b"))
    plain = load_checkpoint(tmp_path / "plain" / "last.pt")
    assert all(torch.equal(a["model"][k], plain["model"][k]) for k in a["model"])
    assert all(torch.equal(a["ema"]["module"][k], b["ema"]["module"][k]) for k in a["model"])
    final = load_checkpoint(tmp_path / "a" / "model.pt")
    assert all(torch.equal(final[k], a["ema"]["module"][k]) for k in final)
    assert any(not torch.equal(final[k], a["model"][k]) for k in final)
    rows_a = [r["val_psnr"] for r in csv.DictReader((tmp_path / "a" / "log.csv").open())]
    rows_b = [r["val_psnr"] for r in csv.DictReader((tmp_path / "b" / "log.csv").open())]
    assert rows_a == rows_b and any(rows_a)


def test_channels_last_trains_the_same_network_and_resumes(tiny, tmp_path):
    """train.channels_last changes the memory layout only: the weights after a run match a
    contiguous-layout run to float rounding, and a killed channels-last run resumes exactly."""
    quiet = dict(progress=False, log=lambda *a: None)
    nhwc = {"train.channels_last": True}
    train(load_config(tiny, nhwc), tmp_path / "a", **quiet)
    train(load_config(tiny, nhwc), tmp_path / "b", max_steps=3, **quiet)
    train(load_config(tiny, nhwc), tmp_path / "b", **quiet)
    train(tiny, tmp_path / "plain", **quiet)
    a, b, plain = (load_checkpoint(tmp_path / r / "last.pt")["model"] for r in ("a", "b", "plain"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.allclose(a[k], plain[k], atol=1e-4, rtol=1e-3) for k in a)
    assert any(v.dim() == 4 and v.is_contiguous(memory_format=torch.channels_last)
               and not v.is_contiguous() for v in a.values())


def test_init_grow_starts_a_deeper_network_from_a_shallower_run(tiny, tmp_path):
    """train.init_grow: the shallow run's weights land in the first blocks of the deeper
    network; without it the misfit is a one-line error naming train.init."""
    quiet = dict(progress=False, log=lambda *a: None)
    train(tiny, tmp_path / "a", **quiet)
    src = load_checkpoint(tmp_path / "a" / "model.pt")
    msgs = []
    grow = {"train.init": str(tmp_path / "a" / "model.pt"), "train.init_grow": True,
            "train.steps": 1, "train.lr": 0.0, "model.options": {"dim": 8, "depth": 2, "state_dim": 4}}
    train(tiny, tmp_path / "deep", progress=False, log=msgs.append, overrides=grow)
    got = load_checkpoint(tmp_path / "deep" / "model.pt")
    weights = [k for k in src if "running_" not in k and "num_batches" not in k]  # BN stats move
    assert any("body.1." in k for k in got) and all(torch.equal(src[k], got[k]) for k in weights)
    assert any("near-identity blocks appended" in m for m in msgs)
    with pytest.raises(ValueError, match="train.init"):
        train(tiny, tmp_path / "bad", overrides={**grow, "train.init_grow": False}, **quiet)


def test_preload_trains_the_same_network_and_resumes_across_the_switch(tiny, tmp_path):
    """data.preload keeps every record in memory and serves the same crops and flips: a run
    with it trains bit-identical weights to one without, and a run killed without preload
    resumes with it (an operational key) to the same weights."""
    quiet = dict(progress=False, log=lambda *a: None)
    pre = {"data.preload": True}
    train(tiny, tmp_path / "plain", **quiet)
    train(load_config(tiny, pre), tmp_path / "pre", **quiet)
    train(tiny, tmp_path / "mixed", max_steps=3, **quiet)
    train(load_config(tiny, pre), tmp_path / "mixed", **quiet)
    plain, pre_w, mixed = (load_checkpoint(tmp_path / r / "last.pt")["model"] for r in ("plain", "pre", "mixed"))
    assert all(torch.equal(plain[k], pre_w[k]) and torch.equal(plain[k], mixed[k]) for k in plain)


def test_preloaded_dataset_serves_the_same_items(tiny):
    from sarsr.data import SARDataset

    root = load_config(tiny)["data"]["train"]
    a = SARDataset(root, size=32, train=True, crop=16, indices=range(4, 16))
    b = SARDataset(root, size=32, train=True, crop=16, indices=range(4, 16)).preload(workers=2)
    for k in range(len(a)):
        for key in (k, (k, 1234 + k)):
            (xa, ya), (xb, yb) = a[key] if isinstance(key, tuple) else a.item(k), \
                b[key] if isinstance(key, tuple) else b.item(k)
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    with pytest.raises(ValueError, match="no records"):
        SARDataset(root, size=32, indices=[]).preload()


def test_extra_train_adds_every_record_and_keeps_the_validation_split(tiny, tmp_path):
    """data.extra_train: each further folder's records all train, after data.train's training
    records; the validation split (first val_count of data.train) is unchanged; items keep
    their reproducible crops (also preloaded); a misfit part is a one-line error."""
    from sarsr.data import ConcatSARDataset, SARDataset
    from sarsr.train.tasks import get_task

    cfg = load_config(tiny)
    root = cfg["data"]["train"]
    plain_tr, plain_val = get_task(cfg).datasets()
    more = load_config(tiny, {"data.extra_train": [root, root]})
    assert load_config(tiny, {"data.extra_train": ["~/x"]})["data"]["extra_train"] == (os.path.expanduser("~/x"),)
    tr, val = get_task(more).datasets()
    assert isinstance(tr, ConcatSARDataset) and len(tr) == len(plain_tr) + 2 * len(SARDataset(root, size=32))
    assert list(val.indices) == list(plain_val.indices)
    n0 = len(plain_tr)
    whole = SARDataset(root, size=cfg["data"]["size"], train=True, crop=cfg["data"]["crop"] or None)
    for k in (0, n0 - 1, n0, n0 + 3, len(tr) - 1):
        x, y = tr[(k, 77)]
        xr, yr = (plain_tr[(k, 77)] if k < n0 else whole[((k - n0) % len(whole), 77)])
        assert torch.equal(x, xr) and torch.equal(y, yr)
    pre = get_task(more).datasets()[0].preload(workers=1)
    assert pre.supports_preload and all(torch.equal(a, b) for a, b in zip(pre[(n0 + 2, 5)], tr[(n0 + 2, 5)]))
    with pytest.raises(IndexError):
        tr[len(tr)]
    with pytest.raises(ValueError, match="unlike"):
        ConcatSARDataset([whole, SARDataset(root, size=cfg["data"]["size"], train=True, crop=8)])
    msgs = []
    train(more, tmp_path / "r", progress=False, log=msgs.append, max_steps=2)
    assert any(f"{len(tr)} train / {len(val)} val records" in m for m in msgs)
    with pytest.raises(ConfigError, match="data.extra_train"):
        load_config(tiny, {"data.extra_train": "not-a-list"})


def test_time_limit_on_a_checkpoint_step_keeps_its_validation(tiny, tmp_path):
    """train.time_limit_s reached on a step that was just checkpointed: the validation forced by
    the stop is still written to log.csv and recorded in last.pt (it used to stay pending)."""
    out = tmp_path / "t"
    res = train(tiny, out, progress=False, log=lambda *a: None,
                overrides={"train.time_limit_s": 1e-9, "train.checkpoint_every": 1, "train.val_every": 1000})
    assert res["step"] == 1
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [r["step"] for r in rows if r.get("val_psnr")] == ["1"]
    ck = load_checkpoint(out / "last.pt")
    assert ck["step"] == 1 and ck["best"] == pytest.approx(res["best_val"]) and (out / "best.pt").exists()
