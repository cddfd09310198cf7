"""Honest SR scoring: labels rendered on the scoring grid from the stored scene (true
amplitudes), the working-grid geometry of a bilinear resize, peak-preserving output
resampling, the do-no-harm loss and the evaluation on both grids."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sarsr import radar
from sarsr.data import generate_dataset
from sarsr.data.torch_dataset import SARDataset, render_label
from sarsr.sr import keep_input_points, resample_output, super_resolve
from sarsr.train.losses import get_loss, l1_peak_clean, l1_peak_keep, needs_input


def test_scene_from_objects_rebuilds_the_scene():
    scene, z0 = radar.random_scene(rng=4, n_shapes=2, shape_reflectivity=(0.2, 0.5))
    back = radar.scene_from_objects(json.dumps(scene.objects))
    np.testing.assert_allclose(back.points, scene.points)
    np.testing.assert_allclose(back.amplitudes, scene.amplitudes)
    np.testing.assert_allclose(back.label_amplitudes, scene.label_amplitudes)
    grid = radar.image_grid(n=64, extent=0.1, z=z0)
    np.testing.assert_array_equal(radar.label_image(back, grid), radar.label_image(scene, grid))
    with pytest.raises(ValueError, match="unknown object kind"):
        radar.scene_from_objects('[{"kind": "ghost"}]')
    with pytest.raises(ValueError, match="without positions"):
        radar.scene_from_objects('[{"kind": "points", "n": 3}]')


def test_resized_grid_matches_a_bilinear_resize():
    """A smooth image sampled on the grid and resized bilinearly equals the same image sampled
    on resized_grid (the pixel centres of torch's align_corners=False resize)."""
    g = radar.image_grid(n=50, extent=0.1)
    r = radar.resized_grid(g, 64)
    f = lambda x, y: np.cos(40 * x[:, None]) * np.sin(30 * y[None, :] + 0.3)  # noqa: E731
    up = F.interpolate(torch.from_numpy(f(g.x, g.y))[None, None], size=(64, 64), mode="bilinear",
                       align_corners=False)[0, 0].numpy()
    inner = slice(2, -2)  # borders are clamped by the resize
    assert np.abs(up[inner, inner] - f(r.x, r.y)[inner, inner]).max() < 0.02
    assert r.shape == (64, 64) and r.z == g.z
    with pytest.raises(ValueError):
        radar.resized_grid(g, 0)


def test_rendered_label_keeps_true_amplitudes():
    """On any grid a rendered point peaks at its amplitude; a resized label does not."""
    pts = radar.point_scene([[0.0123, -0.0311, 0.25], [0.0401, 0.0207, 0.25]], [0.8, 0.5])
    js = json.dumps([dict(kind="points", n=2, positions=pts.points.tolist(), amplitudes=[0.8, 0.5])])
    for size in (None, 256, 97):
        lab = render_label(js, 200, 0.1, size)
        assert lab.shape == ((200, 200) if size is None else (size, size))
        assert lab.max() == pytest.approx(0.8, abs=1e-5)
    stored = render_label(js, 200, 0.1, None)
    resized = F.interpolate(torch.from_numpy(stored)[None, None], size=(256, 256), mode="bilinear",
                            align_corners=False)[0, 0].numpy()
    assert resized.max() < 0.8 - 0.02  # why the label is rendered, not resized


def test_resample_output_keeps_peaks():
    """A narrow peak between output samples: bilinear loses height, peak/max keep it; the
    background of the peak method equals bilinear."""
    g = radar.resized_grid(radar.image_grid(n=50, extent=0.1), 64)
    sc = radar.point_scene([[0.0031, -0.0047, 0.25]], [1.0])
    y = torch.from_numpy(radar.label_image(sc, radar.ImageGrid(g.x, g.y, 0.25)))[None, None]
    y = y + 0.05  # a flat background
    lin = resample_output(y, (50, 50), "bilinear")
    pk = resample_output(y, (50, 50), "peak")
    mx = resample_output(y, (50, 50), "max")
    assert float(pk.max()) == pytest.approx(float(y.max()), abs=1e-6)
    assert float(mx.max()) == pytest.approx(float(y.max()), abs=1e-6)
    assert float(lin.max()) < float(y.max()) - 0.02
    far = (slice(0, 10), slice(0, 10))
    np.testing.assert_allclose(pk[0, 0][far].numpy(), lin[0, 0][far].numpy(), atol=1e-6)
    assert resample_output(y, (64, 64)) is y
    with pytest.raises(ValueError, match="resample"):
        resample_output(y, (50, 50), "nearest")


def _blob(shape, centre, width, height):
    i, j = np.indices(shape)
    return height * np.exp(-((i - centre[0]) ** 2 + (j - centre[1]) ** 2) / (2 * width ** 2))


def test_keep_input_points_puts_back_only_erased_peaks():
    """An input peak the output erased comes back at the input's height; one the output kept
    (sharpened, moved by a pixel) and one below the threshold are left alone."""
    shape = (64, 64)
    image = (_blob(shape, (16, 16), 2.0, 1.0) + _blob(shape, (45, 40), 2.0, 0.6)
             + _blob(shape, (50, 10), 1.5, 0.05)) * 1e-7 * (1 + 1j)  # complex, any scale
    out = _blob(shape, (46, 40), 0.7, 0.9).astype(np.float32)  # second peak kept, sharper
    kept = keep_input_points(out, image)
    assert kept[16, 16] == pytest.approx(1.0, abs=1e-5)  # erased -> back at the input's height
    assert kept.dtype == np.float32 and kept.shape == shape
    np.testing.assert_array_equal(kept[30:, 30:], out[30:, 30:])  # the kept peak: untouched
    assert kept[50, 10] == out[50, 10]  # below the threshold
    assert (kept >= out).all()  # only ever adds
    same = keep_input_points(np.stack([out, kept]), np.stack([image, image]))
    np.testing.assert_array_equal(same[0], kept)
    np.testing.assert_array_equal(same[1], kept)
    np.testing.assert_array_equal(keep_input_points(out, np.zeros(shape)), out)
    with pytest.raises(ValueError, match="same|one"):
        keep_input_points(out, image[:32])
    with pytest.raises(ValueError, match="threshold"):
        keep_input_points(out, image, threshold=1.5)


def test_super_resolve_keep_input_points_never_loses_an_input_point():
    """Screening mode on the user's grid and on the working grid: every input peak the plain
    output lost is there again, and the plain output is the lower envelope."""
    shape = (100, 100)
    image = _blob(shape, (30, 30), 6.0, 1.0) + _blob(shape, (70, 60), 6.0, 0.8)  # very defocused points
    plain = super_resolve(image)
    keep = super_resolve(image, keep_input_points=True)
    assert keep.shape == shape and (keep >= plain - 1e-6).all()
    for c in ((30, 30), (70, 60)):
        assert keep[c[0] - 3:c[0] + 4, c[1] - 3:c[1] + 4].max() >= 0.5 * image[c] / image.max()
    work = super_resolve(image, keep_input_points=True, keep_size=False)
    assert work.shape == (256, 256) and work.max() >= 0.75


def test_keep_loss_charges_only_erased_visible_points():
    y = torch.zeros(1, 1, 32, 32)
    y[0, 0, 10, 10] = 0.8
    y[0, 0, 22, 22] = 0.8
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 11] = 0.6  # point A is shown by the input (>= half its amplitude, one pixel off)
    x[0, 0, 22, 22] = 0.1  # point B is not
    keep_a = y.clone()
    keep_a[0, 0, 22, 22] = 0.0  # the output erases B only
    keep_b = y.clone()
    keep_b[0, 0, 10, 10] = 0.0  # the output erases A only
    base_a, base_b = l1_peak_clean(keep_a, y), l1_peak_clean(keep_b, y)
    assert base_a == pytest.approx(float(base_b), rel=1e-6)  # the old loss cannot tell them apart
    la, lb = l1_peak_keep(keep_a, y, x), l1_peak_keep(keep_b, y, x)
    assert float(la) == pytest.approx(float(base_a), rel=1e-6)  # erasing an invisible point: no extra cost
    assert float(lb) > float(base_b) * 1.5  # erasing a point the input shows costs
    assert needs_input(l1_peak_keep) and needs_input(get_loss("l1_peak_keep", {"keep_weight": 2.0}))
    assert not needs_input(get_loss("l1_peak_clean"))
    with pytest.raises(ValueError, match="keep_wieght"):
        get_loss("l1_peak_keep", {"keep_wieght": 1.0})
    pred = keep_b.clone().requires_grad_(True)
    l1_peak_keep(pred, y, x).backward()
    assert pred.grad[0, 0, 10, 10] < 0  # the gradient raises the erased visible point


@pytest.fixture(scope="module")
def smoke_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    generate_dataset("smoke", root, 8, seed=5, workers=1, shard_size=8, progress=False)
    return root


def test_dataset_renders_labels_on_the_working_grid(smoke_set):
    ds = SARDataset(smoke_set, size=48)
    stored = SARDataset(smoke_set, size=48, label="stored")
    x, y = ds[0]
    _, ys = stored[0]
    assert x.shape == y.shape == ys.shape == (1, 48, 48)
    assert float((y - ys).abs().mean()) < 0.05  # the same scene, sampled honestly
    with pytest.raises(ValueError, match="label must be"):
        SARDataset(smoke_set, size=48, label="resized")


def test_evaluate_scores_both_grids(smoke_set, tmp_path):
    from sarsr.models import create_model
    from sarsr.train.evaluate import evaluate, input_psnr, write_report

    net = create_model("srvit_hsm", dim=8, depth=1, state_dim=4).eval()
    rows = evaluate(smoke_set, {"tiny": net}, size=48, limit=4, progress=False, timing=False)
    grids = {(r["method"], r["grid"]) for r in rows}
    n = json.loads((smoke_set / "manifest.json").read_text())["scenario_config"]["grid"]["n"]
    assert ("tiny", "working 48") in grids and ("tiny", f"user {n}") in grids
    assert ("EMPM (network input)", f"user {n}") in grids
    assert all(r["label"] == "rendered" for r in rows)
    assert input_psnr(rows, "working 48") != input_psnr(rows, f"user {n}")
    only = evaluate(smoke_set, {"tiny": net}, size=48, limit=2, progress=False, timing=False, grids=("user",),
                    keep_input_points=True)
    assert {r["grid"] for r in only} == {f"user {n}"}
    by = {r["method"]: r for r in only}
    assert by["tiny +input points"]["point_recall"] >= by["tiny"]["point_recall"]
    assert by["tiny +input points"]["params"] == by["tiny"]["params"]
    with pytest.raises(ValueError, match="grids"):
        evaluate(smoke_set, {"tiny": net}, grids=("both",), progress=False)
    write_report(tmp_path / "r.md", rows, smoke_set)
    md = (tmp_path / "r.md").read_text()
    assert "| tiny | working 48 |" in md and "rendered on the grid" in md


def test_cli_evaluate_refuses_an_empty_evaluation(smoke_set, tmp_path, capsys):
    from sarsr.cli import main

    assert main(["evaluate", "--test", str(smoke_set), "--no-baselines", "--quiet"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["evaluate", "--test", str(smoke_set), "--report", str(tmp_path / "x.md"), "--quiet",
                 "--limit", "1"]) == 2
    assert "x.json exists" in capsys.readouterr().err
    assert main(["evaluate", "--test", str(smoke_set), "--robustness", "--robustness-count", "0"]) == 2


def test_train_init_from_shipped_weights(tmp_path):
    from sarsr.train.trainer import _init_weights

    state = _init_weights("srvit_hsm", "cpu")
    assert any(k.endswith("weight") for k in state)
    with pytest.raises(FileNotFoundError, match="no shipped weights"):
        _init_weights("no_such_net", "cpu")
