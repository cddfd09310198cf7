"""The point head of the SR network: targets read off the label, the loss, decoding, drawing
the label's own spots, the default output, points as data (API and CLI), training and resume."""

import csv

import numpy as np
import pytest
import torch

from sarsr import metrics, radar
from sarsr.checkpoint import load_checkpoint
from sarsr.models import POINT_CHANNELS, create_model
from sarsr.sr import compose, decode_points, draw_points, points_table, super_resolve
from sarsr.sr.points import SPOT_WIDTH_PX, default_output
from sarsr.train import train
from sarsr.train.losses import WithPointHead, get_loss, point_head_loss, point_head_targets
from tests.conftest import dataset_and_config


def _scene(seed=3, n_shapes=1):
    scene, _ = radar.random_scene(rng=seed, n_shapes=n_shapes)
    return scene


def _label(scene, n=256):
    return radar.label_image(scene, radar.resized_grid(radar.image_grid(200, 0.1), n))


def _points_of(scene):
    n = sum(o.get("n", 0) for o in scene.objects if o["kind"] == "points")
    return scene.points[-n:], scene.amplitudes[-n:]


def _perfect_head(label):
    """A point head that says exactly what the label's targets say."""
    t = point_head_targets(torch.from_numpy(label)[None, None])
    head = torch.zeros(1, 4, *label.shape)
    head[:, 0] = torch.where(t["peaks"][:, 0], 9.0, -9.0)
    head[:, 1:3], head[:, 3:] = t["offset"], t["amplitude"]
    return head


def test_targets_are_the_true_centres_and_amplitudes():
    scene = _scene()
    grid = radar.resized_grid(radar.image_grid(200, 0.1), 256)
    lab = radar.label_image(scene, grid)
    t = point_head_targets(torch.from_numpy(lab)[None, None])
    pos, amp = _points_of(scene)
    peaks = t["peaks"][0, 0].nonzero().tolist()
    assert len(peaks) == len(pos)  # every point, nothing inside the shape
    pitch = grid.x[1] - grid.x[0]
    for i, j in peaks:
        x = grid.x[0] + (i + float(t["offset"][0, 0, i, j])) * pitch
        y = grid.y[0] + (j + float(t["offset"][0, 1, i, j])) * pitch
        k = np.argmin(np.hypot(pos[:, 0] - x, pos[:, 1] - y))
        assert np.hypot(pos[k, 0] - x, pos[k, 1] - y) < 1e-5  # the Gaussian's log-parabola is exact
        assert float(t["amplitude"][0, 0, i, j]) == pytest.approx(amp[k], abs=1e-5)
        # the neighbours regress to the same centre
        assert float(t["offset"][0, 0, i + 1, j]) == pytest.approx(float(t["offset"][0, 0, i, j]) - 1, abs=1e-6)
    assert int(t["reg_mask"].sum()) == 9 * len(pos) and float(t["heat"].max()) == 1.0
    # reach 2: the 5 x 5 pixels around each peak regress to the same centre (edges included)
    t2 = point_head_targets(torch.from_numpy(lab)[None, None], heat_sigma=2.0, reach=2)
    assert t2["reg_mask"].shape == t["reg_mask"].shape and int(t2["reg_mask"].sum()) <= 25 * len(pos)
    for i, j in peaks:
        for di, dj in ((2, 0), (-2, 1), (0, -2)):
            if 0 <= i + di < lab.shape[0] and 0 <= j + dj < lab.shape[1]:
                assert bool(t2["reg_mask"][0, 0, i + di, j + dj])
        if i + 2 < lab.shape[0]:
            assert float(t2["offset"][0, 0, i + 2, j]) == pytest.approx(float(t["offset"][0, 0, i, j]) - 2, abs=1e-6)
        assert float(t2["heat"][0, 0, i, j]) == 1.0 and float(t2["heat"][0, 0, min(i + 1, lab.shape[0] - 1), j]) > 0.8


def test_loss_prefers_the_right_head_and_wraps_an_image_loss():
    lab = _label(_scene())
    y = torch.from_numpy(lab)[None, None]
    good = _perfect_head(lab)
    silent = good.clone()
    silent[:, 0] = -9.0
    moved = good.clone()
    moved[:, 1] += 0.8
    lg, ls, lm = (float(point_head_loss(h, y)) for h in (good, silent, moved))
    assert lg < 0.01 < lm < ls
    loss = WithPointHead(get_loss("l1_peak_clean"))
    pred = torch.cat([y, good], 1)
    assert float(loss(pred, y)) == pytest.approx(float(point_head_loss(good, y)), abs=1e-6)
    with pytest.raises(ValueError, match="point_loss.hat"):
        WithPointHead(get_loss("l1"), {"hat": 1.0})
    with pytest.raises(ValueError, match="point_loss.reach"):
        WithPointHead(get_loss("l1"), {"reach": 1.5})


@pytest.mark.parametrize("n_shapes", [0, 1])
def test_decoded_points_draw_the_label_on_any_grid(n_shapes):
    """A perfect head, decoded and drawn, renders the label's points: on the working grid and on
    the paper's 200 x 200 grid (the spot is the label's, placed in metres), to 2e-3."""
    scene = _scene(5, n_shapes)
    lab256 = _label(scene)
    pts = decode_points(_perfect_head(lab256))[0]
    assert len(pts) == len(_points_of(scene)[0]) and pts.shape[1] == 4
    only_points = radar.Scene(*_points_of(scene), [])
    for n in (256, 200):
        drawn = draw_points(pts, (n, n), head_shape=(256, 256))
        want = _label(only_points, n) if n == 256 else radar.label_image(only_points, radar.image_grid(200, 0.1))
        assert np.abs(drawn - want).max() < 2e-3  # spots combine by maximum, the label sums overlapping tails
    assert SPOT_WIDTH_PX == pytest.approx(1.536)
    # composed over the label's shapes, the default output is the label itself
    shapes_only = np.where(metrics.point_targets(lab256)[0] > 0, 0, lab256) if n_shapes == 0 else None
    if n_shapes:
        comp, ids = metrics.point_targets(lab256)
        shapes_only = np.where(np.isin(comp, ids), 0.0, lab256).astype(np.float32)
    for blend in ("max", "replace"):
        out = compose(shapes_only, pts, blend=blend)
        assert metrics.psnr(out, lab256) > 45


def test_one_point_detected_twice_is_drawn_once():
    """Two local maxima of the probability 2 px apart (one point seen twice) give one spot at its
    height: the 5 x 5 window keeps one, and spots combine by maximum, not by sum."""
    head = torch.zeros(1, 4, 32, 32)
    head[0, 0], head[0, 3] = -9.0, 0.6
    head[0, 0, 10, 10], head[0, 0, 10, 12] = 4.0, 3.5
    pts = decode_points(head, 0.5)[0]
    assert len(pts) == 1 and tuple(pts[0, :2]) == (10, 10)
    both = np.array([[10.0, 10.0, 0.6, 0.9], [10.0, 12.0, 0.6, 0.8]])
    assert draw_points(both, (32, 32)).max() == pytest.approx(0.6, abs=1e-6)


def test_replace_blend_removes_the_image_heads_own_smear():
    img = np.zeros((64, 64), np.float32)
    i, j = np.meshgrid(np.arange(64), np.arange(64), indexing="ij")
    img += 0.4 * np.exp(-((i - 30) ** 2 + (j - 20) ** 2) / 2.5 ** 2)  # a dim wider rendering of the point
    pts = np.array([[30.2, 19.7, 0.9, 0.99]], np.float32)
    spot = draw_points(pts, img.shape)
    assert np.abs(compose(img, pts, blend="replace") - spot).max() < 0.06
    assert np.abs(compose(img, pts, blend="max") - spot).max() > 0.1
    with pytest.raises(ValueError, match="blend"):
        compose(img, pts, blend="sum")


def test_points_table_in_metres_and_default_output():
    pts = np.array([[128.0, 64.0, 0.7, 0.9]], np.float32)  # working grid, 256 px over 0.2 m
    t = points_table(pts, (256, 256), (200, 200))
    g = radar.resized_grid(radar.image_grid(200, 0.1), 256)
    assert t["x_m"][0] == pytest.approx(g.x[128], abs=1e-9) and t["y_m"][0] == pytest.approx(g.y[64], abs=1e-9)
    assert t["amplitude"][0] == pytest.approx(0.7) and t["confidence"][0] == pytest.approx(0.9)
    grid = radar.image_grid(200, 0.05)  # another field: the grid given wins
    t2 = points_table(pts, (256, 256), (200, 200), grid=grid)
    assert t2["x_m"][0] == pytest.approx(g.x[128] / 2, abs=1e-9)
    with pytest.raises(ValueError, match="grid has"):
        points_table(pts, (256, 256), (100, 100), grid=grid)
    raw = torch.zeros(1, 5, 32, 32)
    raw[:, 1] = -9
    raw[0, 1, 10, 12] = 5.0
    raw[0, 4] = 0.8
    composed, alone, found = default_output(raw)
    assert found[0].shape == (1, 4) and composed[0, 10, 12] == pytest.approx(0.8, abs=1e-5) and alone.max() == 0
    with pytest.raises(ValueError, match="5, H, W"):
        default_output(raw[:, :4])


def test_uncertain_points_where_the_probability_spreads():
    """A point whose probability is spread (a Gaussian of 3 px peaking at 0.3: no pixel passes
    0.5) but whose sum is high comes back as an uncertain point at the spread's centre, drawn
    as wide as the spread exceeds a trained splat's; a detected point suppresses uncertain ones
    within the radius; mass 0 gives none."""
    from sarsr.sr import UNCERTAIN_SPOT_WIDTH_M, decode_uncertain
    from sarsr.sr.points import PRESENCE_RADIUS, _splat_rms

    head = torch.zeros(1, 4, 64, 64)
    head[0, 0], head[0, 3] = -9.0, 0.7
    i, j = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    for ci, cj in ((20, 30), (45, 45)):
        spread = 0.3 * torch.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (2 * 3.0 ** 2))
        head[0, 0] = torch.maximum(head[0, 0], torch.logit(spread.clamp(min=1e-6)))
    head[0, 0, 45, 45] = 4.0  # a detected point inside the second spread
    found = decode_points(head, 0.5)
    assert len(found[0]) == 1 and tuple(found[0][0, :2]) == (45, 45)
    unsure = decode_uncertain(head, found, 8.0)[0]
    assert unsure.shape == (1, 5) and np.allclose(unsure[0, :2], (20, 30), atol=1e-3)
    assert unsure[0, 2] == pytest.approx(0.7) and unsure[0, 3] == pytest.approx(0.3, abs=1e-5)
    # the label's width, widened by the spread beyond the trained splat's (sigma 3 vs 2 px)
    o = (SPOT_WIDTH_PX ** 2 + _splat_rms(PRESENCE_RADIUS, 3.0) ** 2 - _splat_rms(PRESENCE_RADIUS, 2.0) ** 2) ** 0.5
    assert unsure[0, 4] == pytest.approx(o, abs=1e-2) and unsure[0, 4] > 1.5 * SPOT_WIDTH_PX
    assert len(decode_uncertain(head, found, 0.0)[0]) == 0 and len(decode_uncertain(head, found, 500.0)[0]) == 0
    assert len(decode_uncertain(head, None, 8.0)[0]) == 2  # nothing detected: both spreads
    img = compose(np.zeros((64, 64), np.float32), found[0], uncertain=unsure)
    assert img[20, 30] == pytest.approx(0.7, abs=1e-3) and img[20, 34] == pytest.approx(0.7 * np.exp(-16 / o ** 2), abs=5e-3)
    assert img[45, 49] < 0.01  # the detected point keeps the label's narrow spot
    t = points_table(np.concatenate([found[0], unsure[:, :4]]), (64, 64), (64, 64),
                     spread_m=[1.2e-3, UNCERTAIN_SPOT_WIDTH_M])
    assert list(t["spread_m"]) == [1.2e-3, UNCERTAIN_SPOT_WIDTH_M]
    with pytest.raises(ValueError, match="uncertain"):
        compose(np.zeros((64, 64), np.float32), found[0], uncertain=unsure[:, :4])
    with pytest.raises(ValueError, match="decode_uncertain"):
        decode_uncertain(head[:, :3])
    with pytest.raises(ValueError, match="mass"):
        decode_uncertain(head, found, -1.0)


def test_point_head_network_output_and_growth():
    net = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, point_head=8)
    assert net.has_point_head and len(POINT_CHANNELS) == 4
    with torch.no_grad():
        y = net(torch.rand(2, 1, 30, 34))
    assert y.shape == (2, 5, 30, 34)
    assert float(torch.sigmoid(y[:, 1]).max()) < 0.01  # starts silent: no point anywhere
    plain = create_model("srvit_hsm", dim=8, depth=2, state_dim=4)
    assert net.grow_from(plain.state_dict()) == 0
    x = torch.rand(1, 1, 32, 32)
    assert torch.allclose(net.eval()(x)[:, :1], plain.eval()(x), atol=1e-6)  # the image head is untouched
    with pytest.raises(ValueError, match="point_head"):
        create_model("srvit_hsm", point_head=-1)


def test_point_head_input_branch_sees_the_input_pixels():
    net = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, point_head=8, point_head_input=4, log_input_db=40.0)
    plain = create_model("srvit_hsm", dim=8, depth=2, state_dim=4, point_head=8, log_input_db=40.0)
    assert net.points.input_width == 4 and plain.points.input_width == 0
    x = torch.rand(2, 1, 30, 34)
    with torch.no_grad():
        y = net.eval()(x)
    assert y.shape == (2, 5, 30, 34) and float(torch.sigmoid(y[:, 1]).max()) < 0.01  # starts silent
    # the branch's output layer starts at zero; once trained, a change of one input pixel reaches the
    # head's logit at that pixel through the full-resolution branch
    with torch.no_grad():
        net.points.fuse[-1].weight.normal_()
    x2 = x.clone()
    x2[:, :, 15, 17] += 0.5
    with torch.no_grad():
        d = (net(x2)[:, 1] - net(x)[:, 1]).abs()
    assert float(d[:, 15, 17].min()) > 0
    net.train()(x).sum().backward()
    assert net.points.inp.weight.grad is not None and net.points.inp.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="point_head_input"):
        create_model("srvit_hsm", point_head=8, point_head_input=-1)
    with pytest.raises(ValueError, match="needs a point head"):
        create_model("srvit_hsm", point_head_input=8)


def test_super_resolve_with_a_point_head_returns_points():
    net = create_model("srvit_hsm", dim=8, depth=1, state_dim=4, point_head=8, log_input_db=40.0).eval()
    with torch.no_grad():
        net.points.out.bias.view(4, 4)[0] = 3.0  # every local maximum a point
    img = np.random.default_rng(0).random((40, 50))
    y, table = super_resolve(img, net, size=64, return_points=True)
    assert y.shape == (40, 50) and table.dtype.names == ("x_m", "y_m", "amplitude", "confidence", "row", "col",
                                                         "spread_m")
    assert len(table) > 0 and np.all((table["row"] > -1) & (table["row"] < 40))
    alone = super_resolve(img, net, size=64, keep_input_points=False)
    assert not np.allclose(alone, y)
    ys, tables = super_resolve(np.stack([img, img]), net, size=64, return_points=True, point_threshold=0.99)
    assert ys.shape == (2, 40, 50) and len(tables) == 2
    with pytest.raises(ValueError, match="point_threshold"):
        super_resolve(img, net, point_threshold=1.5)
    with pytest.raises(ValueError, match="presence_mass"):
        super_resolve(img, net, presence_mass=-1.0)
    with pytest.raises(ValueError, match="point head"):
        super_resolve(img, create_model("srvit_hsm", dim=8, depth=1, state_dim=4).eval(), return_points=True)


CONFIG = """
name = "tinypts"
[model]
name = "srvit_hsm"
options = {{dim = 8, depth = 1, state_dim = 4, point_head = 8}}
[data]
train = "{root}"
source = "empm"
size = 32
crop = 16
val_count = 4
num_workers = 0
[train]
batch_size = 4
samples = 24
lr = 1e-3
checkpoint_every = 2
val_every = 3
log_every = 1
loss = "l1_peak_clean"
point_loss = {{heat = 0.5}}
"""


@pytest.fixture(scope="module")
def tiny_points(tmp_path_factory):
    return dataset_and_config(tmp_path_factory, CONFIG, name="tinypts.toml")[1]


def test_point_head_run_trains_logs_its_columns_and_resumes_exactly(tiny_points, tmp_path):
    quiet = dict(progress=False, log=lambda *a: None)
    full = train(tiny_points, tmp_path / "a", **quiet)
    assert full["step"] == 6  # samples / batch_size
    train(tiny_points, tmp_path / "b", max_steps=3, **quiet)
    train(tiny_points, tmp_path / "b", **quiet)
    a, b = load_checkpoint(tmp_path / "a" / "model.pt"), load_checkpoint(tmp_path / "b" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader((tmp_path / "a" / "log.csv").open()))
    val = [r for r in rows if r["val_psnr"]]
    assert val and all(r["val_net_psnr"] and r["val_false_detections"] for r in val)
    # the run's checkpoint is a point-head network super_resolve and the CLI use
    y, table = super_resolve(np.random.default_rng(1).random((32, 32)), str(tmp_path / "a" / "best.pt"), size=32,
                             return_points=True, point_threshold=0.0)
    assert y.shape == (32, 32) and len(table) > 0


def test_cli_sr_writes_the_points_csv(tiny_points, tmp_path):
    from tests.cli_helper import run_cli

    train(tiny_points, tmp_path / "run", progress=False, log=lambda *a: None)
    np.save(tmp_path / "img.npy", np.random.default_rng(2).random((32, 32)).astype(np.float32))
    code, err = run_cli(*["sr", str(tmp_path / "img.npy"), "--out", str(tmp_path / "o.npy"), "--size", "32",
                              "--model", str(tmp_path / "run" / "best.pt"), "--points", str(tmp_path / "p.csv"),
                              "--point-threshold", "0"])
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert rows and set(rows[0]) == {"x_m", "y_m", "amplitude", "confidence", "row", "col", "spread_m", "image"}
    half = 0.1 / 32  # half a pixel: the footprint of pixel centres -0.1 + 0.2 i / 32
    assert all(-0.1 - half - 1e-9 <= float(r["x_m"]) <= 0.1 - half + 1e-9 for r in rows)
    code, err = run_cli(*["sr", str(tmp_path / "img.npy"), "--out", str(tmp_path / "o4.npy"), "--size", "32",
                              "--model", str(tmp_path / "run" / "best.pt"), "--points", str(tmp_path / "p4.csv"),
                              "--point-threshold", "0", "--presence-mass", "0"])
    assert code == 0, err  # no uncertain points: every spot the label's width
    assert {float(r["spread_m"]) for r in csv.DictReader((tmp_path / "p4.csv").open())} == {1.2e-3}
    code, err = run_cli(*["sr", str(tmp_path / "img.npy"), "--out", str(tmp_path / "o5.npy"), "--presence-mass", "-1"])
    assert code == 2 and "presence-mass" in err
    code, err = run_cli(*["sr", str(tmp_path / "img.npy"), "--out", str(tmp_path / "o2.npy"),
                              "--points", str(tmp_path / "p.txt")])
    assert code == 2 and "csv" in err
    code, err = run_cli(*["sr", str(tmp_path / "img.npy"), "--out", str(tmp_path / "o3.npy"), "--model",
                              "srvit_hsm", "--points", str(tmp_path / "p3.csv")])
    assert code == 2 and "point head" in err
