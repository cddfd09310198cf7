"""Autofocus (first version): the differentiable EMPM model behind it, the lateral regridding
of EMPM, and the promises that hold whatever the optimiser finds: an image it returns is never
less sharp than the input, bad input is a one-line error, a scene with nothing in it comes
back unchanged."""

import warnings

import numpy as np
import pytest
import torch

from sarsr import radar
from sarsr.metrics import image_entropy
from sarsr.radar.autofocus import _empm_setup, _FocusModel, autofocus, focus_nfft, spline_basis
from sarsr.radar.imaging.fourier import lateral_regrid_matrix


@pytest.fixture(scope="module")
def small_scan():
    rng = np.random.default_rng(3)
    wave = radar.waveform("iwr1443")
    scan = radar.raster_scan("awr1443", nx=40, ny_steps=5).with_error(
        radar.PositionError(sigma=(0.0, 0.0, 0.5e-3), correlation_length=0.03), rng)
    pts = np.c_[rng.uniform(-0.015, 0.015, (6, 2)), np.full(6, 0.25)]
    echo = radar.simulate_scan(scan, radar.point_scene(pts, rng.uniform(0.5, 1, 6)), wave, snr_db=30, rng=rng)
    grid = radar.image_grid(n=48, extent=0.025, z=0.25)
    return scan, wave, echo, grid


def test_spline_basis_partition_of_unity():
    u = np.linspace(-0.1, 0.1, 57)
    for n in (1, 2, 4, 6):
        b = spline_basis(u, n, -0.1, 0.1)
        assert b.shape == (57, n) and np.allclose(b.sum(1), 1.0)
    assert np.allclose(spline_basis(u, 2, -0.1, 0.1)[:, 1], (u + 0.1) / 0.2)  # 2 nodes: a linear ramp
    with pytest.raises(ValueError):
        spline_basis(u, 0, -0.1, 0.1)


def test_regrid_matrix_identity_and_shift():
    nx, ny = 12, 10
    zero = np.zeros((nx, ny))
    assert np.allclose(lateral_regrid_matrix(zero, zero).toarray(), np.eye(nx * ny))
    # a field sampled one step off (dev = +1 in x) is read back one node earlier
    i = np.arange(nx)[:, None] + 0 * np.arange(ny)[None, :]
    f = np.cos(0.4 * i)  # value at each sample's true position i + 1 is cos(0.4 (i + 1))
    m = lateral_regrid_matrix(np.ones((nx, ny)), zero)
    back = (m @ np.cos(0.4 * (i + 1)).reshape(-1)).reshape(nx, ny)
    assert np.allclose(back[2:-3], f[2:-3], atol=2e-2)


def test_focus_model_prefers_the_true_error(small_scan):
    """The differentiable EMPM is sharpest (lowest entropy) at the true depth error, not at zero
    or at its negative, and its gradient is finite."""
    scan, wave, echo, grid = small_scan
    nx, ny = scan.lattice_shape
    m = _FocusModel(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, (nx, ny), 4, 128, "cpu")
    m.power = 1.0
    err = torch.tensor((scan.tx_est - scan.tx).reshape(nx, ny, 3), dtype=torch.float32)
    h = {name: float(m.entropy(e)) for name, e in (("zero", 0 * err), ("true", err), ("minus", -err))}
    assert h["true"] < h["zero"] < h["minus"], h
    e = torch.zeros(nx, ny, 3, requires_grad=True)
    m.entropy(e).backward()
    assert torch.isfinite(e.grad).all() and e.grad[..., 2].abs().sum() > 0


def test_focus_image_covers_the_whole_scene():
    """The optimiser's FFT image is centred on the scene: a scene as wide as the FFT, on a
    lattice that starts at one edge, lies inside it, and a point at the scene's far corner is
    imaged where it is (before 2026-11-28 the region was cut at nfft / 2 steps from the
    lattice's first node, and the focus measure never saw that corner)."""
    rng = np.random.default_rng(5)
    wave = radar.waveform("iwr1443")
    scan = radar.raster_scan("awr1443", nx=40, ny_steps=5)
    corner = np.array([[0.028, 0.028, 0.25]])
    echo = radar.simulate_scan(scan, radar.point_scene(corner, np.ones(1)), wave, snr_db=60, rng=rng)
    grid = radar.image_grid(n=64, extent=0.03, z=0.25)
    nx, ny = scan.lattice_shape
    nfft = 64
    d = _empm_setup(echo, scan.tx, scan.rx, wave.k, slice(None, None, 4), grid.points, (nx, ny), nfft)
    steps = 0.06 / d["dx"]
    assert steps > nfft / 2 + 8  # the old placement would have cut the region at nfft / 2 steps
    assert d["ri"][1] - d["ri"][0] >= min(nfft, int(steps)) - 1 and d["rj"][1] - d["rj"][0] >= min(nfft, int(steps)) - 1
    img = torch.fft.fftshift(torch.fft.ifft2((torch.fft.fft2(torch.as_tensor(d["s0"]), s=(nfft, nfft))
                                             * torch.as_tensor(d["filt"])).sum(0))).abs().numpy()
    sub = img[d["ri"][0]:d["ri"][1], d["rj"][0]:d["rj"][1]]
    i, j = np.unravel_index(np.argmax(sub), sub.shape)
    x = d["x0_img"] + (i + d["ri"][0] - nfft // 2) * d["dx"]
    y = d["y0_img"] + (j + d["rj"][0] - nfft // 2) * d["dy"]
    assert abs(x - corner[0, 0]) < 1.5 * d["dx"] and abs(y - corner[0, 1]) < 1.5 * d["dy"], (x, y)
    # the default FFT size fits the lattice and the scene
    assert focus_nfft(scan.tx, scan.rx, grid.points, (nx, ny), minimum=16) >= max(nx, ny, steps)


def test_autofocus_never_returns_a_less_sharp_image(small_scan):
    scan, wave, echo, grid = small_scan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape, nodes=2,
                      max_iter=8, nfft=128)
    assert r.entropy_after <= r.entropy_before + 1e-12
    assert np.isclose(image_entropy(r.image), r.entropy_after)
    assert r.tx.shape == scan.tx.shape and np.all(np.isfinite(r.error_estimate))
    if r.applied:
        assert np.allclose(r.tx, scan.tx_est - r.error_estimate) and np.allclose(r.error_estimate[:, :2], 0)
    else:
        assert np.array_equal(r.tx, scan.tx_est)


def test_autofocus_bad_input(small_scan):
    scan, wave, echo, grid = small_scan
    kw = dict(lattice_shape=scan.lattice_shape)
    bad = scan.tx_est.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        autofocus(echo, bad, scan.rx_est, wave.k, grid, **kw)
    with pytest.raises(ValueError, match="4 x 4"):
        autofocus(echo[:6], scan.tx_est[:6], scan.rx_est[:6], wave.k, grid, lattice_shape=(3, 2))
    with pytest.raises(ValueError, match="does not match"):
        autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=(7, 7))
    with pytest.raises(ValueError, match="axes"):
        autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, axes="zq", **kw)
    with pytest.warns(RuntimeWarning, match="empty"):
        r = autofocus(np.zeros_like(echo), scan.tx_est, scan.rx_est, wave.k, grid, **kw)
    assert not r.applied and np.array_equal(r.tx, scan.tx_est)


def test_dataset_with_autofocus_records_the_estimate(tmp_path):
    """reconstruction.autofocus = true: images at the autofocused positions, the estimate and
    the residual stored per record (and checksummed); the preset digests do not move."""
    import h5py

    from sarsr.data import generate_dataset, load_scenario, read_manifest
    from sarsr.data.shards import verify_shard

    base = load_scenario("smoke")
    sc = base.with_overrides({"reconstruction.autofocus": True})
    assert sc.digest != base.digest and base.with_overrides({"reconstruction.autofocus": False}).digest == base.digest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = generate_dataset(sc, tmp_path / "d", 2, seed=4, workers=1, shard_size=2, progress=False, log=lambda *a: None)
    s = read_manifest(tmp_path / "d")["shards"][0]
    assert verify_shard(tmp_path / "d" / s["file"], s["start"], s["count"], m["seed"], m["scenario_digest"]) is None
    with h5py.File(tmp_path / "d" / s["file"], "r") as f:
        for key in ("autofocus_applied", "autofocus_rms_m", "autofocus_residual_rms_m"):
            assert f[key].shape == (2,) and np.all(np.isfinite(f[key][()]))
        assert set(np.unique(f["autofocus_applied"][()])) <= {0.0, 1.0}



def test_autofocus_options_reach_the_autofocus_and_unknown_ones_are_refused(monkeypatch):
    """reconstruction.autofocus_options: its keywords go to sarsr.radar.autofocus (the
    explorer's quicker setting); {} keeps every preset's digest; an unknown name is one line."""
    from sarsr import radar
    from sarsr.data import ScenarioError, load_scenario
    from sarsr.data.simulate import simulate_record

    base = load_scenario("smoke")
    assert base.with_overrides({"reconstruction.autofocus_options": {}}).digest == base.digest
    seen = []
    real = radar.autofocus
    monkeypatch.setattr(radar, "autofocus", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    sc = base.with_overrides({"reconstruction.autofocus": True,
                              "reconstruction.autofocus_options": {"k_step": 8, "max_iter": 2}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = simulate_record(sc, 4, 0)
    assert seen and seen[0]["k_step"] == 8 and seen[0]["max_iter"] == 2 and np.isfinite(rec["autofocus_rms_m"])
    with pytest.raises(ScenarioError, match=r"autofocus_options: unknown option\(s\) \['speed'\]"):
        base.with_overrides({"reconstruction.autofocus_options": {"speed": 2}})

def test_phase_gradient_start_keeps_the_promises(small_scan):
    """The EMPM phase-gradient estimator: a finite zero-mean depth field of the right shape; a
    bad start is one line."""
    from sarsr.radar.autofocus import phase_gradient_depth_error

    scan, wave, echo, grid = small_scan
    ez = phase_gradient_depth_error(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, scan.lattice_shape,
                                    nfft=64, radii=(4, 3), nodes=4)
    assert ez.shape == (len(scan.tx),) and np.isfinite(ez).all() and abs(ez.mean()) < 1e-9
    with pytest.raises(ValueError, match="start"):
        autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape, start="random")


def test_remove_plane_takes_out_exactly_the_rigid_part():
    from sarsr.radar.autofocus import remove_plane

    rng = np.random.default_rng(5)
    xy = rng.uniform(-0.05, 0.05, (300, 2))
    bump = 1e-3 * np.cos(40 * xy[:, 0]) * np.sin(30 * xy[:, 1])
    bump_free = remove_plane(np.c_[0 * bump, 0 * bump, bump], xy)[:, 2]  # the bump's own plane removed
    rigid = np.c_[np.full(300, 2e-4), np.full(300, -1e-4), 3e-4 + 0.02 * xy[:, 0] - 0.01 * xy[:, 1]]
    out = remove_plane(rigid + np.c_[0 * bump, 0 * bump, bump_free], xy)
    assert np.allclose(out[:, :2], 0, atol=1e-15) and np.allclose(out[:, 2], bump_free, atol=1e-15)
    assert np.allclose(remove_plane(rigid, xy), 0, atol=1e-15)


def test_autofocus_plane_option(small_scan):
    """plane="remove" (default): the kept correction has no offset or tilt in z, so it cannot
    move the image; plane="keep" returns the estimate as found; a bad value is one line."""
    scan, wave, echo, grid = small_scan
    v = 0.5 * (scan.tx_est + scan.rx_est)
    design = np.c_[np.ones(len(v)), v[:, :2]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape,
                      nfft=64, nodes=4, max_iter=5, keep_if_sharper=False)
    assert r.applied
    coef = np.linalg.lstsq(design, r.error_estimate[:, 2], rcond=None)[0]
    assert np.all(np.abs(coef) < 1e-12)
    assert np.std(r.error_estimate[:, 2]) > 0
    with pytest.raises(ValueError, match="plane must be"):
        autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape, plane="flat")


def test_window_echo_kernel_matches_numpy():
    from sarsr.radar.backends import kernels, reference

    rng = np.random.default_rng(8)
    tx = np.c_[rng.uniform(-0.05, 0.05, (37, 2)), rng.uniform(-0.01, 0.01, 37)]
    rx = tx + [0.0, 0.004, 0.0]
    q = np.c_[rng.uniform(-0.01, 0.01, (23, 2)), np.full(23, 0.25)]
    vals = rng.standard_normal(23) + 1j * rng.standard_normal(23)
    p = np.array([0.001, -0.002, 0.25])
    kc = 1610.0
    out_re, out_im = np.empty(37), np.empty(37)
    kernels.window_echo(tx, rx, q, vals.real.copy(), vals.imag.copy(), p, kc, out_re, out_im)
    ref = reference.window_echo_numpy(tx, rx, q, vals, p, kc)
    assert np.allclose(out_re + 1j * out_im, ref, rtol=1e-9, atol=1e-9)


def test_exact_phase_gradient_recovers_a_known_bump():
    """The exact-geometry estimator (start="pga_exact") recovers most of a known smooth depth
    bump on a scan of two isolated points; its field is finite with zero mean."""
    from sarsr.radar.autofocus import exact_phase_gradient_depth_error, remove_plane

    rng = np.random.default_rng(3)
    wave = radar.waveform("iwr1443")
    scan = radar.raster_scan("awr1443", nx=40, ny_steps=5)
    pts = np.array([[0.002, -0.001, 0.25], [-0.012, 0.011, 0.25]])
    echo = radar.simulate_scan(scan, radar.point_scene(pts, [1.0, 0.7]), wave, snr_db=30, rng=rng)
    grid = radar.image_grid(n=40, extent=0.05, z=0.25)
    v = 0.5 * (scan.tx + scan.rx)[:, :2]
    u = (v - v.min(0)) / (v.max(0) - v.min(0))
    bump = 0.4e-3 * np.sin(np.pi * u[:, 0]) * np.sin(np.pi * u[:, 1])
    bump = remove_plane(np.c_[0 * bump, 0 * bump, bump], v)[:, 2]  # the part that defocuses
    tx_m, rx_m = scan.tx.copy(), scan.rx.copy()
    tx_m[:, 2] += bump
    rx_m[:, 2] += bump
    ez = exact_phase_gradient_depth_error(echo, tx_m, rx_m, wave.k, grid.points, scan.lattice_shape,
                                          radii=(20, 16, 12, 12), nodes=4)
    assert ez.shape == (len(scan.tx),) and np.isfinite(ez).all() and abs(ez.mean()) < 1e-12
    est = remove_plane(np.c_[0 * ez, 0 * ez, ez], v)[:, 2]
    assert np.std(est - bump) < 0.6 * np.std(bump)  # measured: 0.12 -> 0.055 mm


@pytest.mark.parametrize("start", ["pga", "pga_exact"])
def test_phase_gradient_starts_never_blur_and_move_only_z(small_scan, start):
    scan, wave, echo, grid = small_scan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape,
                      nfft=64, nodes=4, start=start, max_iter=5)
    assert r.entropy_after <= r.entropy_before + 1e-9
    assert np.all(r.error_estimate[:, :2] == 0)


def test_floor_leaves_faint_pixels_out_of_the_focus_measure(small_scan):
    """``floor``: the entropy counts only pixels at >= floor x the maximum (a pixel below it
    changes nothing), the option runs end to end, and a value outside [0, 1) is one line."""
    import torch

    from sarsr.radar.autofocus import _FocusModel

    scan, wave, echo, grid = small_scan
    nx, ny = scan.lattice_shape
    m = _FocusModel(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, (nx, ny), 4, 64, "cpu")
    m.power, m.floor = 1.0, 0.5
    zero = torch.zeros(nx, ny, 3)
    with torch.no_grad():
        h_floor = m.entropy(zero).item()
        m.floor = 0.0
        h_all = m.entropy(zero).item()
    assert np.isfinite(h_floor) and h_floor < h_all  # fewer pixels in the distribution
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape,
                      nfft=64, nodes=4, max_iter=3, floor=0.1)
    assert np.isfinite(r.error_estimate).all() and r.image.shape == grid.points.shape[:2]
    for bad in (-0.1, 1.0, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="floor"):
            autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape, floor=bad)
