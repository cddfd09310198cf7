"""Vision: object classes, recognition dataset, classifier training through the shared trainer,
predict, progressive recognition with TORE."""

import csv
import json

import numpy as np
import pytest
import torch

from sarsr.checkpoint import load_checkpoint

from sarsr.vision import OBJECT_CLASSES, object_mask, predict
from tests.conftest import dataset_and_config

CONFIG = """
name = "tiny_recog"
task = "classification"
[model]
name = "vit_tiny"
[data]
train = "{root}"
size = 64
val_count = 8
num_workers = 0
sweep_training = 0.5
[train]
batch_size = 8
steps = 20
lr = 5e-4
optimizer = "adamw"
schedule = "constant"
checkpoint_every = 10
val_every = 15
log_every = 1
"""


@pytest.fixture(scope="module")
def recog(tmp_path_factory):
    return dataset_and_config(tmp_path_factory, CONFIG, "recognition_smoke", 32, seed=5, shard_size=16,
                              name="tiny_recog.toml")


@pytest.fixture(scope="module")
def trained(recog, tmp_path_factory):
    from sarsr.train import train

    out = tmp_path_factory.mktemp("run")
    train(recog[1], out, progress=False, log=lambda *a: None)
    return out


def test_object_classes_are_distinct():
    assert len(OBJECT_CLASSES) >= 8
    masks = {c: object_mask(c, 48) for c in OBJECT_CLASSES}
    for c, m in masks.items():
        assert 30 < m.sum() < 48 * 48, c
    names = list(masks)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            assert (masks[names[i]] ^ masks[names[j]]).sum() > 50, (names[i], names[j])
    with pytest.raises(ValueError, match="unknown object class"):
        object_mask("banana")


def test_recognition_records_carry_classes(recog):
    from sarsr.vision.dataset import RecognitionDataset

    ds = RecognitionDataset(recog[0], size=64)
    ys = [int(ds[i][1]) for i in range(len(ds))]
    assert len(set(ys)) >= 4 and all(0 <= y < len(OBJECT_CLASSES) for y in ys)
    x, _ = ds[0]
    assert x.shape == (1, 64, 64) and float(x.max()) == pytest.approx(1.0)


@pytest.mark.slow
def test_classifier_training_loss_falls_and_predict(trained, recog):
    rows = list(csv.DictReader((trained / "log.csv").open()))
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert any(r["val_acc"] for r in rows)
    from sarsr.vision.dataset import RecognitionDataset

    img, cls = RecognitionDataset(recog[0]).record(0)
    res = predict(img, trained / "model.pt")
    assert res["class"] in OBJECT_CLASSES and sum(res["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_progressive_recognition_matches_full_forward_and_saves_compute(trained):
    from sarsr.vision import load_classifier
    from sarsr.vision.progressive import progressive_cost, progressive_predictions

    net = load_classifier(trained / "model.pt")
    x = torch.rand(2, 1, 64, 64)
    from sarsr.nn import TokenRecycler
    from sarsr.vision.progressive import sweep_masks

    outs = progressive_predictions(net, x, steps=4, split=6)
    assert len(outs) == 4
    with torch.no_grad():  # the cache gives the logits of a full aggregator pass over the same tokens
        batched = TokenRecycler(net, 6)(x, sweep_masks(4, 4, 4))
        torch.testing.assert_close(outs[-1], batched, atol=1e-5, rtol=1e-5)
        one_piece = progressive_predictions(net, x, steps=1, split=6)[0]
        torch.testing.assert_close(one_piece, net(x), atol=1e-5, rtol=1e-5)  # one piece = plain forward
    cost = progressive_cost(net, (1, 64, 64), steps=4, split=6)
    assert 0 < cost["saved_fraction"] < 1 and cost["recycled_macs"] < cost["rerun_macs"]


@pytest.mark.slow
def test_cli_vision(trained, recog, capsys):
    from sarsr.cli import main

    report = trained / "recognition.md"
    args = ["vision", "evaluate", "--test", str(recog[0]), "--model", f"vit={trained / 'model.pt'}",
            "--progressive", "--limit", "6", "--report", str(report)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "saved" in out and "100% of the sweep" in out
    text = report.read_text()
    assert "| vit | vit_tiny | EMPM |" in text and "saved**" in text
    assert (trained / "recognition_progressive.png").stat().st_size > 0
    rep = json.loads(report.with_suffix(".json").read_text())["progressive"]
    assert len(rep["recycled_per_step"]) == 4 and sum(rep["recycled_per_step"]) == rep["recycled_macs"]
    assert main(args) == 2 and "--force" in capsys.readouterr().err  # never overwritten silently
    np.save(trained / "img.npy", np.random.default_rng(0).random((32, 32)))
    assert main(["vision", "predict", str(trained / "img.npy"), "--model", str(trained / "model.pt")]) == 0
    assert capsys.readouterr().out.split(": ")[1].split()[0] in OBJECT_CLASSES


def test_sweep_training_feeds_partial_sweeps_through_the_recycler(recog):
    from sarsr.models import create_model
    from sarsr.nn import TokenRecycler
    from sarsr.train import load_config
    from sarsr.vision.progressive import sweep_masks
    from sarsr.vision.task import ClassificationTask

    cfg = load_config(recog[1])
    cfg["data"]["sweep_training"] = 1.0
    task = ClassificationTask(cfg)
    torch.manual_seed(0)
    net = create_model("vit_tiny", **task.model_kwargs()).eval()
    x = torch.rand(2, 1, 64, 64)
    masks = sweep_masks(4, 4, 4)
    partial = [TokenRecycler(net, 6)(x, masks[:k]) for k in (1, 2, 3)]
    for step in range(6):
        out = task.forward(net, net, x, step)
        assert any(torch.allclose(out, p, atol=1e-5) for p in partial)  # never the full sweep
    out.sum().backward()
    assert all(p.grad is not None for p in net.blocks[0].parameters())
    cfg["data"]["sweep_training"] = 0.0
    torch.testing.assert_close(ClassificationTask(cfg).forward(net, net, x, 0), net(x))


@pytest.mark.slow
def test_dense_head_on_the_stvit_recovery_path_trains(recog, tmp_path):
    from sarsr.train import train
    from sarsr.vision.dense import DenseRecognitionDataset, dense_target, pixel_scores

    ds = DenseRecognitionDataset(recog[0], size=32)
    x, t = ds[0]
    img, cls = ds.record(int(ds.indices[0]))
    assert x.shape == (1, 32, 32) and t.shape == (32, 32) and t.dtype == torch.int64
    assert set(t.unique().tolist()) == {0, cls + 1}  # background + this record's class
    assert 0.02 < (t > 0).float().mean() < 0.8
    with pytest.raises(ValueError, match="no object"):
        dense_target("[]", 0, 8, 0.01)
    cfg = tmp_path / "dense.toml"
    cfg.write_text(CONFIG.format(root=recog[0]).replace('task = "classification"', 'task = "segmentation"')
                   .replace('name = "vit_tiny"', 'name = "stvit_r_tiny_dense"').replace("size = 64", "size = 32")
                   .replace("sweep_training = 0.5\n", ""))
    out = tmp_path / "run"
    train(cfg, out, progress=False, log=lambda *a: None)
    rows = list(csv.DictReader((out / "log.csv").open()))
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert any(r["val_miou"] for r in rows)
    from sarsr.models import create_model

    net = create_model("stvit_r_tiny_dense", in_chans=1, num_classes=len(OBJECT_CLASSES) + 1)
    ck = load_checkpoint(out / "model.pt")
    net.load_state_dict(ck["model"] if "model" in ck else ck)
    s = pixel_scores(net, ds, "cpu")
    assert 0 <= s["miou"] <= 1 and 0 <= s["pixel_acc"] <= 1


def test_set_overrides_reach_the_saved_classifier(recog, tmp_path):
    from sarsr.train import load_config, train
    from sarsr.vision import load_classifier

    cfg = load_config(recog[1], {"train.steps": 2, "data.size": 48, "data.sweep_training": 0.0})
    train(cfg, tmp_path / "run", progress=False, log=lambda *a: None)
    net = load_classifier(tmp_path / "run" / "model.pt")
    assert net.sarsr_config["data"]["size"] == 48  # not the file's 64
    assert "# --set data.size=48 (applied)" in (tmp_path / "run" / "config.toml").read_text()


def test_preload_is_refused_in_one_line_for_recognition(recog, tmp_path):
    """Recognition items are built from the record, not from SARDataset.item: data.preload
    there is a one-line error, never a silently unused cache."""
    from sarsr.train import load_config, train

    with pytest.raises(ValueError, match="data.preload = true: .* cannot preload"):
        train(load_config(recog[1], {"data.preload": True}), tmp_path / "run", progress=False, log=lambda *a: None)
