"""Honest SR scoring: labels rendered on the scoring grid from the stored scene (true
amplitudes), the working-grid geometry of a bilinear resize, peak-preserving output
resampling, the do-no-harm loss and the evaluation on both grids."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sarsr import metrics, radar
from sarsr.data import generate_dataset
from sarsr.data.torch_dataset import SARDataset, render_label
from sarsr.sr import AUTO_KEEP_BELOW, AUTO_PUT_BACK_THRESHOLD, apply_points_mode, keep_input_points, kept_peak_fraction, resample_output, super_resolve
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
    core = keep_input_points(out, image, floor=0.85)  # only the input pixels >= 0.85 x the peak go back
    assert core[16, 16] == pytest.approx(1.0, abs=1e-5) and (core <= kept).all()
    added, added_core = kept > out, core > out
    assert added_core.sum() < added.sum() and not (added_core & ~added).any()
    assert (np.abs(image[added_core]) / np.abs(image).max() >= 0.85 - 1e-6).all()
    with pytest.raises(ValueError, match="floor"):
        keep_input_points(out, image, floor=0)


def test_super_resolve_keep_input_points_never_loses_an_input_point():
    """Screening mode on the user's grid and on the working grid: every input peak the plain
    output lost is there again, and the plain output is the lower envelope."""
    shape = (100, 100)
    image = _blob(shape, (30, 30), 6.0, 1.0) + _blob(shape, (70, 60), 6.0, 0.8)  # very defocused points
    plain = super_resolve(image, keep_input_points=False)
    keep = super_resolve(image, keep_input_points=True)
    assert keep.shape == shape and (keep >= plain - 1e-6).all()
    for c in ((30, 30), (70, 60)):
        assert keep[c[0] - 3:c[0] + 4, c[1] - 3:c[1] + 4].max() >= 0.5 * image[c] / image.max()
    work = super_resolve(image, keep_input_points=True, keep_size=False)
    assert work.shape == (256, 256) and work.max() >= 0.75


class _ConstantNet(torch.nn.Module):
    """A stand-in network: zeros, or its input's first channel scaled back to [0, 1] ("copy")."""

    def __init__(self, copy: bool):
        super().__init__()
        self.copy = copy
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        if not self.copy:
            return torch.zeros_like(x[:, :1])
        return x[:, :1] / x[:, :1].amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)


def test_kept_peak_fraction_counts_the_bright_input_peaks_the_output_keeps():
    shape = (64, 64)
    image = sum(_blob(shape, c, 1.5, a) for c, a in (((12, 12), 1.0), ((12, 50), 0.8), ((50, 12), 0.6), ((50, 50), 0.5)))
    assert kept_peak_fraction(normalize_(image), image) == pytest.approx(1.0)
    assert kept_peak_fraction(np.zeros(shape, np.float32), image) == 0.0
    half = normalize_(image)
    half[:32] = 0  # two of four erased
    assert kept_peak_fraction(half, image) == pytest.approx(0.5)
    assert kept_peak_fraction(np.zeros(shape), np.zeros(shape)) == 1.0  # nothing to lose
    faint = _blob(shape, (30, 30), 1.5, 1.0) + _blob(shape, (10, 10), 1.5, 0.2)  # 0.2 < 0.25: not counted
    assert kept_peak_fraction(np.where(np.arange(64)[:, None] < 20, 0, normalize_(faint)), faint) == 1.0
    with pytest.raises(ValueError, match="one \\(H, W\\) image"):
        kept_peak_fraction(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)))


def normalize_(image):
    return (np.abs(image) / np.abs(image).max()).astype(np.float32)


def test_super_resolve_auto_puts_back_points_only_where_the_network_erased_them():
    """keep_input_points="auto" (the default): a network that erases every peak gets them back,
    with a warning that names the cure; one that keeps them is returned untouched and silent."""
    import warnings

    shape = (64, 64)
    image = _blob(shape, (20, 20), 2.0, 1.0) + _blob(shape, (44, 40), 2.0, 0.7) + _blob(shape, (10, 54), 2.0, 0.15)
    eraser, copier = _ConstantNet(copy=False), _ConstantNet(copy=True)
    with pytest.warns(UserWarning, match="erased most bright peaks of 1 of 1 image.*autofocus"):
        auto = super_resolve(image, eraser, size=None)
    np.testing.assert_allclose(auto, keep_input_points(np.zeros(shape, np.float32), image, threshold=AUTO_PUT_BACK_THRESHOLD))
    assert auto[20, 20] == pytest.approx(1.0, abs=1e-5) and auto[44, 40] == pytest.approx(0.7, abs=1e-3)
    assert auto[10, 54] == 0.0  # a faint peak (0.15 < 0.2) stays out by default; screening mode puts it back
    assert super_resolve(image, eraser, size=None, keep_input_points=True)[10, 54] == pytest.approx(0.15, abs=1e-3)
    assert super_resolve(image, eraser, size=None, keep_input_points=False).max() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = super_resolve(image, copier, size=None)
    np.testing.assert_allclose(kept, super_resolve(image, copier, size=None, keep_input_points=False))
    batch = np.stack([image, image[::-1]])
    with pytest.warns(UserWarning, match="of 2 of 2 image"):
        assert super_resolve(batch, eraser, size=None).shape == (2, *shape)
    out, restored = apply_points_mode(np.zeros((2, *shape)), np.stack([image, image]), "auto")
    assert restored.tolist() == [True, True] and out[0, 20, 20] == pytest.approx(1.0, abs=1e-5)
    out, restored = apply_points_mode(np.stack([normalize_(image)] * 2), np.stack([image, image]), "auto")
    assert restored.tolist() == [False, False] and 0 < AUTO_KEEP_BELOW < 1
    for bad in ("yes", None, 1):
        with pytest.raises(ValueError, match="keep_input_points must be 'auto', True or False"):
            super_resolve(image, copier, keep_input_points=bad)


def test_cli_sr_keep_input_points_modes(tmp_path, capsys, monkeypatch):
    from sarsr.cli import main

    image = (_blob((64, 64), (20, 20), 8.0, 1.0) + _blob((64, 64), (44, 40), 8.0, 0.7)).astype(np.float32)
    np.save(tmp_path / "in.npy", image)
    outs = {}
    for mode in ("never", "always"):
        assert main(["sr", str(tmp_path / "in.npy"), "--out", str(tmp_path / f"{mode}.npy"),
                     "--keep-input-points", mode]) == 0
        outs[mode] = np.load(tmp_path / f"{mode}.npy")
    assert (outs["always"] >= outs["never"] - 1e-6).all()
    assert main(["sr", str(tmp_path / "in.npy"), "--out", str(tmp_path / "flag.npy"), "--keep-input-points"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "flag.npy"), outs["always"])  # the bare flag: always
    with pytest.raises(SystemExit):
        main(["sr", str(tmp_path / "in.npy"), "--out", str(tmp_path / "x.npy"), "--keep-input-points", "maybe"])
    capsys.readouterr()
    # the default (auto) with a network that erases every peak: one note line, no source path
    import sarsr.sr.inference

    monkeypatch.setattr(sarsr.sr.inference, "load_sr_model", lambda model=None, device=None: _ConstantNet(copy=False))
    assert main(["sr", str(tmp_path / "in.npy"), "--out", str(tmp_path / "auto.npy")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("note: super_resolve: the network erased") and "--keep-input-points never" in err
    assert ".py:" not in err and len(err.strip().splitlines()) == 1
    assert np.load(tmp_path / "auto.npy").max() > 0.5  # the input's peaks, put back


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
    assert by["tiny +input points"]["point_recall"] >= by["tiny alone"]["point_recall"]
    assert by["tiny"]["point_recall"] >= by["tiny alone"]["point_recall"]  # the default call: auto
    assert 0.0 <= by["tiny"]["restored"] <= 1.0 and "restored" not in by["tiny alone"]
    assert by["tiny +input points"]["params"] == by["tiny"]["params"]
    with pytest.raises(ValueError, match="grids"):
        evaluate(smoke_set, {"tiny": net}, grids=("both",), progress=False)
    write_report(tmp_path / "r.md", rows, smoke_set)
    md = (tmp_path / "r.md").read_text()
    assert "| tiny | working 48 |" in md and "rendered on the grid" in md
    # hand-written analysis below the footer survives a regenerated report
    (tmp_path / "r.md").write_text(md + "\n## Analysis\n\nwritten by hand\n")
    write_report(tmp_path / "r.md", rows[:1], smoke_set)
    md2 = (tmp_path / "r.md").read_text()
    assert md2.count("## Analysis") == 1 and "written by hand" in md2 and md2.count("_Generated ") == 1
    assert md2.index("_Generated ") < md2.index("## Analysis")


def test_cli_evaluate_refuses_an_empty_evaluation(smoke_set, tmp_path, capsys):
    from sarsr.cli import main

    assert main(["evaluate", "--test", str(smoke_set), "--no-baselines", "--quiet"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["evaluate", "--test", str(smoke_set), "--report", str(tmp_path / "x.md"), "--quiet",
                 "--limit", "1"]) == 2
    assert "x.json exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # a usage error where the number is parsed
        main(["evaluate", "--test", str(smoke_set), "--robustness", "--robustness-count", "0"])
    assert exc.value.code == 2 and "argument --robustness-count" in capsys.readouterr().err


def test_cli_robustness_takes_the_point_threshold(smoke_set, monkeypatch):
    """--point-threshold reaches the robustness curve too, not only the test-set table."""
    import sarsr.train.evaluate as ev
    from sarsr.cli import main

    seen = {}
    monkeypatch.setattr(ev, "robustness", lambda models, **kw: seen.update(kw) or None)
    assert main(["evaluate", "--test", str(smoke_set), "--limit", "1", "--robustness", "--robustness-count", "1",
                 "--point-threshold", "0.3", "--quiet"]) == 0
    assert seen["point_threshold"] == 0.3 and seen["count"] == 1


def test_train_init_from_shipped_weights(tmp_path):
    from sarsr.train.trainer import _init_weights

    state = _init_weights("srvit_hsm", "cpu")
    assert any(k.endswith("weight") for k in state)
    with pytest.raises(FileNotFoundError, match="no shipped weights"):
        _init_weights("no_such_net", "cpu")


def test_ship_rule_wants_a_higher_score_and_no_lost_or_dimmer_points():
    from sarsr.train.sr_task import replaces

    shipped = dict(method="shipped", psnr_db=28.28, point_recall=0.207, kept_amplitude_ratio=0.70, false_points=4.07)
    # a cleaner background bought with the kept points at half their brightness
    dim = dict(method="cand", psnr_db=28.86, point_recall=0.205, kept_amplitude_ratio=0.55, false_points=3.14)
    ok, why = replaces(dim, shipped)
    assert not ok and "dimmer" in why and "0.550 vs 0.700" in why
    fewer = dict(dim, kept_amplitude_ratio=0.72, point_recall=0.15)
    ok, why = replaces(fewer, shipped)
    assert not ok and "fewer points" in why
    worse = dict(shipped, psnr_db=28.0)
    ok, why = replaces(worse, shipped)
    assert not ok and "not higher" in why
    ok, why = replaces(dict(shipped, psnr_db=28.33), shipped)  # +0.05: within the noise margin
    assert not ok and "not higher by 0.1" in why
    better = dict(shipped, psnr_db=28.9, kept_amplitude_ratio=0.69, point_amplitude_ratio=0.01)  # all-point median: no veto
    ok, why = replaces(better, shipped)
    assert ok and why.startswith("replaces it")
    nan = float("nan")  # no point targets in the set: the point checks cannot veto
    assert replaces(dict(better, point_recall=nan, kept_amplitude_ratio=nan), dict(shipped, point_recall=nan))[0]
    with pytest.raises(ValueError, match="psnr_db"):
        replaces(dict(better, psnr_db=nan), shipped)


def test_kept_amplitude_ratio_is_the_median_over_recovered_points():
    from sarsr.metrics import summarize_points

    per = [dict(n_points=4, recovered=2, false_points=1, amplitude_ratios=[0.9, 0.6, 0.1, 0.0]),
           dict(n_points=1, recovered=0, false_points=3, amplitude_ratios=[0.2])]
    s = summarize_points(per)
    assert s["point_recall"] == pytest.approx(0.4) and s["false_points"] == 2.0
    assert s["point_amplitude_ratio"] == pytest.approx(0.2) and s["kept_amplitude_ratio"] == pytest.approx(0.75)
    assert np.isnan(summarize_points(per[1:])["kept_amplitude_ratio"])


def test_cli_evaluate_ship_rule(smoke_set, tmp_path, capsys):
    from sarsr.cli import main
    from sarsr.models import create_model

    for name, seed in (("a", 0), ("b", 1)):
        torch.manual_seed(seed)
        net = create_model("srvit_hsm", dim=8, depth=1, state_dim=4)
        torch.save({"model": net.state_dict(), "config": {"model": {"name": "srvit_hsm",
                    "options": {"dim": 8, "depth": 1, "state_dim": 4}}}}, tmp_path / f"{name}.pt")
    assert main(["evaluate", "--test", str(smoke_set), "--model", "a", "--ship-rule", "a", "--quiet"]) == 2
    assert "--ship-rule a" in capsys.readouterr().err
    rc = main(["evaluate", "--test", str(smoke_set), "--model", f"a={tmp_path / 'a.pt'}", "--model",
               f"b={tmp_path / 'b.pt'}", "--ship-rule", "a", "--no-baselines", "--limit", "2", "--quiet"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    out = cap.out
    lines = [ln for ln in out.splitlines() if ln.startswith("ship rule")]
    assert len(lines) == 2 and all(": b " in ln and " a: " in ln for ln in lines)


def test_register_shift_undoes_a_rigid_shift_and_restores_the_points():
    from sarsr.metrics import point_metrics, register_shift, shift_image

    lab = np.zeros((64, 56), np.float32)
    lab[20:22, 30:32] = 1.0          # two points and a shape
    lab[45, 12] = 0.7
    lab[8:18, 4:14] = 0.4
    for dx, dy in ((3, -2), (-5, 4), (0, 0)):
        moved = np.roll(np.roll(lab, dx, 0), dy, 1)
        assert point_metrics(moved, lab)["recovered"] < 2 or (dx, dy) == (0, 0)
        back, shift = register_shift(moved, lab, max_shift=6)
        assert shift == (-dx, -dy)
        assert point_metrics(back, lab)["recovered"] == 2
        np.testing.assert_array_equal(shift_image(moved, *shift)[8:-8, 8:-8], lab[8:-8, 8:-8])
    assert not shift_image(lab, 64, 0).any()
    # a shift beyond max_shift is not found; bad input is a one-line error
    assert register_shift(np.roll(lab, 9, 0), lab, max_shift=6)[1] != (-9, 0)
    with pytest.raises(ValueError, match="same 2-D shape"):
        register_shift(lab[:10], lab)
    with pytest.raises(ValueError, match="max_shift"):
        register_shift(lab, lab, max_shift=-1)


def test_region_errors_say_where_the_error_lives():
    """Each pixel belongs to one region; a brighter shape shows up as a positive interior bias,
    a dimmed point in the points region, speckle in the background."""
    scene, _ = radar.random_scene(rng=1)
    lab = radar.label_image(scene, radar.image_grid(200, 0.1))
    regions = metrics.label_regions(lab)
    stack = np.stack(list(regions.values()))
    assert (stack.sum(0) == 1).all() and all(m.any() for m in regions.values())
    brighter = np.where(regions["shape_interior"], lab * 1.2, lab)
    s = metrics.summarize_regions([metrics.region_errors(brighter, lab)])
    assert s["bias_shape_interior"] > 0.05 and s["error_share_shape_interior"] > 0.99
    dimmed = np.where(regions["points"], lab * 0.5, lab)
    s = metrics.summarize_regions([metrics.region_errors(dimmed, lab)])
    assert s["bias_points"] < 0 and s["error_share_points"] > 0.99 and s["rmse_background"] == 0
    s = metrics.summarize_regions([metrics.region_errors(lab + 0.05 * regions["background"], lab)])
    assert s["bias_background"] == pytest.approx(0.05) and s["error_share_background"] > 0.99
