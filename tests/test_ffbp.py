"""Factorized backprojection (method="ffbp") against the exact frequency-domain sum: image
error, point focus, PSF width and sidelobes, 3-D volumes, the leaf kernel against numpy, and
bad input."""

import numpy as np
import pytest

from sarsr import radar
from sarsr.plot import psf_cut
from sarsr.radar.backends.reference import backproject_numpy


def _err_db(img, ref):
    a, b = np.abs(img), np.abs(ref)
    return 10 * np.log10(((a - b) ** 2).sum() / (b ** 2).sum())


@pytest.fixture(scope="module")
def wave():
    return radar.waveform("iwr1443")


@pytest.fixture(scope="module")
def freehand(wave):
    """A small freehand scan with 1 mm smooth position error and a shape + points scene."""
    scan = radar.freehand_scan("awr1443", nx=64, ny_steps=8, error=radar.PositionError((1e-3, 1e-3, 0.25e-3)), rng=3)
    scene, z0 = radar.random_scene(rng=4, extent=0.028, center_range=0.01, size_range=(0.012, 0.016))
    echo = radar.simulate_scan(scan, scene, wave, snr_db=30, rng=5)
    return scan, echo, radar.image_grid(n=64, extent=0.032, z=z0)


def test_ffbp_matches_exact_on_freehand_scan_with_error(freehand, wave):
    scan, echo, grid = freehand
    ref = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="exact")
    img = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp")
    assert img.shape == grid.shape and img.dtype == np.complex64
    assert _err_db(img, ref) <= -35
    coarse = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp",
                               subimage_oversample=1.2)
    assert _err_db(coarse, ref) > _err_db(img, ref)  # the one parameter trades accuracy


def test_ffbp_points_focus_in_the_same_pixel_with_same_psf(wave):
    scan = radar.raster_scan("awr1443", nx=64, ny_steps=8)
    pts = np.array([[0.0, 0.0, 0.25], [0.012, -0.008, 0.25], [-0.015, 0.01, 0.25]])
    echo = radar.simulate_echo(scan.tx, scan.rx, wave.k, pts, [1.0, 0.8, 0.6])
    grid = radar.image_grid(n=64, extent=0.032, z=0.25)
    ref = radar.backproject(echo, scan.tx, scan.rx, wave.k, grid.points, method="exact")
    img = radar.backproject(echo, scan.tx, scan.rx, wave.k, grid.points, method="ffbp")
    assert _err_db(img, ref) <= -35
    for p in pts:  # each point's local maximum lands in the same pixel
        ix, iy = np.argmin(np.abs(grid.x - p[0])), np.argmin(np.abs(grid.y - p[1]))
        win = np.s_[max(ix - 3, 0):ix + 4, max(iy - 3, 0):iy + 4]
        a, b = np.abs(img[win]), np.abs(ref[win])
        assert np.unravel_index(a.argmax(), a.shape) == np.unravel_index(b.argmax(), b.shape)
    for axis in ("x", "y"):
        c_ref, c = psf_cut(ref, grid, axis), psf_cut(img, grid, axis)
        assert abs(c["width_3db_m"] - c_ref["width_3db_m"]) <= 0.05 * c_ref["width_3db_m"]
        assert abs(c["pslr_db"] - c_ref["pslr_db"]) <= 0.05 * abs(c_ref["pslr_db"])


def test_ffbp_volume_and_linear_track(wave):
    track = radar.linear_track("awr1443", n_positions=96, drift_sigma=0.002, rng=1)
    pts = np.array([[0.004, 0.0, 0.3]])
    echo = radar.simulate_echo(track.tx, track.rx, wave.k, pts, [1.0])
    vol = radar.volume_points(np.linspace(-0.02, 0.02, 24), np.linspace(-0.01, 0.01, 8), np.linspace(0.28, 0.32, 5))
    ref = radar.backproject(echo, track.tx_est, track.rx_est, wave.k, vol, method="exact")
    img = radar.backproject(echo, track.tx_est, track.rx_est, wave.k, vol, method="ffbp")
    assert img.shape == vol.shape[:-1] and _err_db(img, ref) <= -35


def test_leaf_kernel_matches_numpy(wave):
    from sarsr.radar.backends import kernels
    from sarsr.radar.imaging.backprojection import path_window, range_profiles

    rng = np.random.default_rng(0)
    tx = rng.uniform(-0.01, 0.01, (12, 3)) * [1, 1, 0.1]
    rx = tx + [0.0, 0.005, 0.0]
    pts = np.c_[rng.uniform(-0.02, 0.02, (30, 2)), np.full(30, 0.25)]
    echo = (rng.standard_normal((12, wave.k.size)) + 1j * rng.standard_normal((12, wave.k.size))).astype(np.complex64)
    r0, r1 = path_window(tx, rx, pts)
    q, rs, dr, kc = range_profiles(echo, wave.k, r0, r1, 16)
    starts = np.array([0, 5, 12], np.int64)
    f32 = np.float32
    out_re = np.empty((2, 30), f32)
    out_im = np.empty((2, 30), f32)
    kernels.backproject_leaves(kernels.pack_profiles(q), q.shape[1], *(a[:, i].astype(f32) for a in (tx, rx) for i in range(3)), starts,
                               f32(rs), f32(1 / dr), f32(kc), *(pts[:, i].astype(f32) for i in range(3)), 0, 2,
                               out_re, out_im)
    for g in range(2):
        sl = slice(starts[g], starts[g + 1])
        ref = backproject_numpy(echo[sl], tx[sl], rx[sl], wave.k, pts)
        got = out_re[g] + 1j * out_im[g]
        assert np.abs(got - ref).max() <= 0.02 * np.abs(ref).max()


def test_ffbp_bad_input(wave, freehand):
    scan, echo, grid = freehand
    with pytest.raises(ValueError, match="regular Cartesian grid"):
        radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points.reshape(-1, 3), method="ffbp")
    with pytest.raises(ValueError, match="subimage_oversample"):
        radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp", subimage_oversample=0.5)
    one = radar.backproject(echo[:1, :1], scan.tx_est[:1], scan.rx_est[:1], wave.k[:1], grid.points, method="ffbp")
    assert np.all(np.isfinite(one))  # a single channel and a single wavenumber
    with pytest.raises(ValueError):
        radar.backproject(echo[:, :3], scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp")


def test_resample_and_carrier_swap_kernels_match_numpy():
    from sarsr.radar.backends import kernels
    from sarsr.radar.imaging.ffbp import _lanczos_taps

    rng = np.random.default_rng(2)
    src = (rng.standard_normal((3, 20, 5)) + 1j * rng.standard_normal((3, 20, 5))).astype(np.complex64)
    s_ax, d_ax = np.linspace(0.0, 1.0, 20), np.linspace(0.01, 0.97, 33)
    first, w = _lanczos_taps(s_ax, d_ax)
    dense = np.zeros((33, 20))
    for d in range(33):
        dense[d, first[d]:first[d] + w.shape[1]] = w[d]
    out = np.empty((3, 33, 10), np.float32)
    kernels.resample_axis(src.reshape(3, 20, 5).view(np.float32), first, w, out)
    ref = np.einsum("ds,bsr->bdr", dense, src)
    assert np.allclose(out.view(np.complex64), ref, atol=1e-5)
    # a band-limited signal is interpolated to ~1e-3 by the Lanczos taps
    f = lambda t: np.cos(2 * np.pi * 2.5 * t)  # noqa: E731
    dense_f = dense @ f(s_ax)
    assert np.abs(dense_f[4:-4] - f(d_ax)[4:-4]).max() < 2e-2

    img = (rng.standard_normal((4, 3, 2, 6)) + 1j * rng.standard_normal((4, 3, 2, 6))).astype(np.complex64)
    axes = (np.linspace(-0.02, 0.02, 4), np.linspace(-0.01, 0.01, 3), np.array([0.28, 0.3]))
    cf, ct = rng.uniform(-0.01, 0.01, (6, 3)), rng.uniform(-0.01, 0.01, (6, 3))
    p = np.stack(np.meshgrid(*axes, indexing="ij"), -1)[..., None, :]  # (4, 3, 2, 1, 3)
    phase = 2 * 1650.0 * (np.linalg.norm(p - ct, axis=-1) - np.linalg.norm(p - cf, axis=-1))
    ref = img * np.exp(1j * phase)

    def tab(c):
        return [((a[:, None] - c[None, :, i]) ** 2).astype(np.float32) for i, a in enumerate(axes)]

    got = img.copy()
    kernels.carrier_swap(got, *tab(cf), *tab(ct), np.float32(2 * 1650.0))
    assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max()


def test_ffbp_subtree_batches_match_one_pass(wave, freehand, monkeypatch):
    """With a tiny working-set budget the lower levels run subtree by subtree (bounded memory);
    the image is the same as in one breadth-first pass."""
    from sarsr.radar.imaging import ffbp as ffbp_mod

    scan, echo, grid = freehand
    one = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp")
    monkeypatch.setattr(ffbp_mod, "_FFBP_BATCH_BYTES", 64 * 1024)
    batched = radar.backproject(echo, scan.tx_est, scan.rx_est, wave.k, grid.points, method="ffbp")
    assert np.abs(batched - one).max() <= 1e-4 * np.abs(one).max()
