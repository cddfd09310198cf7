"""Waveforms, arrays, scans, position error, scenes and labels; input validation."""

import numpy as np
import pytest

from sarsr import radar


def test_iwr1443_waveform_matches_paper():
    w = radar.waveform("iwr1443")
    assert w is radar.waveform("fmcw_v2")
    assert w.num_samples == 64
    assert w.freq_step == pytest.approx(62.498e6, rel=1e-6)
    assert w.bandwidth == pytest.approx(3.9999e9, rel=1e-4)
    assert w.range_resolution == pytest.approx(0.0375, rel=1e-3)
    assert w.max_range == pytest.approx(2.398, rel=1e-3)
    assert w.k[0] == pytest.approx(2 * np.pi * 77e9 / radar.C0)
    assert radar.waveform("fmcw_v1").num_samples == 79


def test_waveform_from_profile_adds_adc_start():
    w = radar.FMCWWaveform.from_profile(77.0, 100.0, 5000, 256, adc_start_time_us=6.0)
    assert w.first_sample_freq == pytest.approx(77e9 + 100e12 * 6e-6)
    assert w.bandwidth == pytest.approx(100e12 * 256 / 5e6)
    with pytest.raises(ValueError, match="slope"):
        radar.FMCWWaveform(77e9, -1.0, 2e6, 64)
    with pytest.raises(ValueError, match="unknown waveform"):
        radar.waveform("nope")


def test_awr1443_virtual_array_is_uniform_quarter_wavelength():
    a = radar.mimo_array("awr1443")
    v = np.sort(a.virtual_positions()[:, 1])
    lam = radar.C0 / 79e9
    assert a.n_channels == 8
    assert np.allclose(np.diff(v), lam / 4)
    assert abs(v.mean()) < 1e-12
    t, r = a.channel_positions()
    assert np.allclose(np.sort(np.abs(t - r)[:, 1]) * 1e3,
                       [5.000, 6.897, 8.795, 10.692, 12.590, 14.487, 16.385, 18.282], atol=2e-3)


def test_paper_raster_is_200x200_lattice():
    s = radar.raster_scan("awr1443")
    assert s.n_samples == 40000 and s.lattice_shape == (200, 200)
    v = s.virtual(estimated=False).reshape(200, 200, 3)
    lam = radar.C0 / 79e9
    assert np.allclose(np.diff(v[:, :, 0], axis=0), lam / 4)
    assert np.allclose(np.diff(v[:, :, 1], axis=1), lam / 4)
    assert sorted(s.order) == list(range(40000))
    # acquisition order: within one board position all 8 channels, then the next x position
    first = s.virtual(False)[s.order[:16]]
    assert np.allclose(first[:8, 0], first[0, 0]) and first[8, 0] > first[0, 0]


def test_freehand_surface_and_error_statistics():
    err = radar.PositionError(sigma=(1e-3, 2e-3, 3e-3))
    s = radar.freehand_scan("awr1443", error=err, rng=3)
    assert np.ptp(s.tx[:, 2]) == pytest.approx(0.03)
    e = s.tx_est - s.tx
    assert np.allclose(e, s.rx_est - s.rx)
    assert np.allclose(e.std(axis=0), [1e-3, 2e-3, 3e-3], rtol=1e-6)
    # smooth: neighbouring samples nearly equal; iid: not
    e2 = e.reshape(200, 200, 3)
    assert np.std(np.diff(e2[..., 0], axis=0)) < 0.2e-3
    iid = radar.freehand_scan("awr1443", error=radar.PositionError(1e-3, iid=True), rng=3)
    d = (iid.tx_est - iid.tx).reshape(200, 200, 3)
    assert np.std(np.diff(d[..., 0], axis=0)) > 1.2e-3
    # deterministic
    again = radar.freehand_scan("awr1443", error=err, rng=3)
    assert np.array_equal(again.tx_est, s.tx_est)


def test_linear_track_with_drift():
    s = radar.linear_track("awr1443", n_positions=100, passes=3, drift_sigma=2e-3,
                           error=radar.PositionError(1e-3), rng=0)
    assert s.lattice_shape == (100, 24)
    nominal = radar.raster_scan("awr1443", nx=100, ny_steps=3)
    dev = s.tx - nominal.tx
    assert 1e-3 < dev.std() < 3e-3
    # the 8 channels of one board position drift together
    assert np.allclose(dev.reshape(100, 3, 8, 3)[:, :, 0], dev.reshape(100, 3, 8, 3)[:, :, 7])


def test_awgn_snr():
    rng = np.random.default_rng(0)
    s = np.exp(1j * rng.uniform(0, 6, 200_000)).astype(np.complex64)
    noisy = radar.add_awgn(s, 10.0, rng)
    snr = 10 * np.log10(np.mean(np.abs(s) ** 2) / np.mean(np.abs(noisy - s) ** 2))
    assert snr == pytest.approx(10.0, abs=0.05)


def test_label_image_points_and_shapes():
    grid = radar.image_grid()
    sc = radar.point_scene([[0.010, -0.020, 0.3]], [0.7])
    lab = radar.label_image(sc, grid)
    assert lab.shape == (200, 200) and lab.dtype == np.float32
    i, j = np.unravel_index(lab.argmax(), lab.shape)
    assert lab.max() == pytest.approx(0.7) and (grid.x[i], grid.y[j]) == pytest.approx((0.010, -0.020))
    # FWHM of exp(-d^2/o^2) is 2 o sqrt(ln 2) = 2.0 mm for o = 1.2 mm -> neighbour at 1 mm ~ 0.5
    assert lab[i + 1, j] / lab[i, j] == pytest.approx(np.exp(-1 / 1.44), rel=1e-3)
    for name in radar.SHAPES:
        shp = radar.shape_scene(name, size=0.03, rotation=0.3)
        lab = radar.label_image(shp, grid)
        assert 0.55 <= np.median(lab[lab > 0.3]) <= 0.65, name
        assert lab.max() <= 1.0


def test_shape_reflectivity_scales_the_echo_not_the_label():
    grid = radar.image_grid(n=64, extent=0.03)
    bright = radar.shape_scene("square", size=0.02, z0=0.2)
    dim = radar.shape_scene("square", size=0.02, z0=0.2, reflectivity=0.25)
    assert np.allclose(dim.amplitudes, 0.25 * bright.amplitudes)
    assert np.array_equal(radar.label_image(dim, grid), radar.label_image(bright, grid))
    both = dim + radar.point_scene([[0.01, 0.01, 0.2]], [0.8])
    assert both.label_amplitudes[-1] == 0.8 and both.amplitudes[-1] == 0.8
    assert np.allclose(both.label_amplitudes[:-1], bright.amplitudes)
    tx = rx = np.array([[0.0, 0.0, 0.0]])
    k = np.array([1600.0, 1610.0])
    e_b = radar.simulate_echo(tx, rx, k, bright.points, bright.amplitudes)
    e_d = radar.simulate_echo(tx, rx, k, dim.points, dim.amplitudes)
    assert np.allclose(e_d, 0.25 * e_b, rtol=1e-5)
    with pytest.raises(ValueError, match="reflectivity"):
        radar.shape_scene("square", reflectivity=0.0)
    with pytest.raises(ValueError, match="label_amplitudes"):
        radar.Scene(np.zeros((2, 3)), np.ones(2), [], np.ones(3))
    _, z0 = radar.random_scene(rng=1, shape_reflectivity=(0.2, 0.3))
    scene, _ = radar.random_scene(rng=1, shape_reflectivity=(0.2, 0.3))
    refl = [o["reflectivity"] for o in scene.objects if o["kind"] == "shape"]
    assert all(0.2 <= r <= 0.3 for r in refl)


def test_random_scene_follows_paper_distribution():
    scene, z0 = radar.random_scene(rng=5)
    assert 0.25 <= z0 <= 0.30
    kinds = [o["kind"] for o in scene.objects]
    assert kinds.count("shape") == 1 and kinds.count("points") == 1
    pts = [o for o in scene.objects if o["kind"] == "points"][0]
    assert 1 <= pts["n"] <= 32
    assert np.allclose(scene.points[:, 2], z0)


@pytest.mark.parametrize("call, match", [
    (lambda: radar.simulate_echo(np.zeros((3, 3)), np.zeros((4, 3)), [1.0, 2.0], np.ones((1, 3))), "same shape"),
    (lambda: radar.simulate_echo(np.zeros((3, 2)), np.zeros((3, 2)), [1.0], np.ones((1, 3))), "last axis"),
    (lambda: radar.simulate_echo(np.zeros((3, 3)), np.zeros((3, 3)), [2.0, 1.0], np.ones((1, 3))), "increasing"),
    (lambda: radar.simulate_echo(np.zeros((3, 3)), np.zeros((3, 3)), [], np.ones((1, 3))), "empty"),
    (lambda: radar.simulate_echo(np.full((3, 3), np.nan), np.zeros((3, 3)), [1.0], np.ones((1, 3))), "NaN"),
    (lambda: radar.simulate_echo(np.zeros((3, 3)), np.zeros((3, 3)), [1.0], np.ones((2, 3)), [1.0]), "amplitudes"),
    (lambda: radar.backproject(np.zeros((3, 5)), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), np.zeros((2, 3))), "echo must have shape"),
    (lambda: radar.backproject(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), np.zeros((2, 2))), "grid"),
    (lambda: radar.backproject(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), np.zeros((2, 3)), method="fast"), "method"),
    (lambda: radar.backproject(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), np.zeros((2, 3)), backend="cuda"), "backend"),
    (lambda: radar.backproject(np.full((3, 4), np.inf), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), np.zeros((2, 3))), "infinite"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_grid_too_large_is_refused(monkeypatch):
    monkeypatch.setenv("SARSR_MAX_BYTES", "1e6")
    big = np.zeros((200, 200, 3))
    with pytest.raises(ValueError, match="GiB"):
        radar.backproject(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)), np.arange(1, 5.0), big)


def test_fourier_methods_validate_geometry():
    s = radar.raster_scan("awr1443", nx=16, ny_steps=2)
    k = radar.waveform().k
    echo = np.zeros((s.n_samples, k.size), np.complex64)
    grid = radar.image_grid(n=8, z=0.3)
    with pytest.raises(ValueError, match="does not match"):
        radar.empm(echo, s.tx, s.rx, k, grid, lattice_shape=(10, 10))
    tilted = grid.points.copy()
    tilted[..., 2] += tilted[..., 0]
    with pytest.raises(ValueError, match="one plane"):
        radar.empm(echo, s.tx, s.rx, k, tilted, lattice_shape=s.lattice_shape)
    rng = np.random.default_rng(0)
    perm = rng.permutation(s.n_samples)
    with pytest.raises(ValueError, match="lattice"):
        radar.empm(echo, s.tx[perm], s.rx[perm], k, grid, lattice_shape=s.lattice_shape)


def test_backproject_volume_and_scene_beyond_max_range():
    s = radar.raster_scan("awr1443", nx=8, ny_steps=2)
    k = radar.waveform().k
    echo = radar.simulate_echo(s.tx, s.rx, k, [[0, 0, 0.3]])
    vol = radar.volume_points(np.linspace(-0.01, 0.01, 3), np.linspace(-0.01, 0.01, 4), [0.28, 0.3])
    assert radar.backproject(echo, s.tx, s.rx, k, vol).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="unambiguous"):
        radar.backproject(echo, s.tx, s.rx, k, [[0, 0, 0.3], [0, 0, 3.0]])


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    from sarsr.metrics import ssim

    rng = np.random.default_rng(0)
    y = rng.random((48, 70))
    x = np.clip(y + 0.1 * rng.standard_normal(y.shape), 0, 1)
    want = skm.structural_similarity(x, y, data_range=1.0, gaussian_weights=True, sigma=1.5)
    assert ssim(x, y) == pytest.approx(want, abs=1e-9)
    assert ssim(y, y) == pytest.approx(1.0)
