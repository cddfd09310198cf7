"""Imaging physics: focusing, resolution, position-error behaviour."""

import numpy as np
import pytest

from sarsr import radar

Z0 = 0.3
K = radar.waveform("iwr1443").k


@pytest.fixture(scope="module")
def paper_raster():
    return radar.raster_scan("awr1443")


@pytest.fixture(scope="module")
def freehand():
    return radar.freehand_scan("awr1443", rng=7)


def _peak(img, grid):
    a = np.abs(img)
    i, j = np.unravel_index(np.argmax(a), a.shape)
    return grid.x[i], grid.y[j]


def _width_3db(profile, x):
    """-3 dB width of the main lobe of |profile| sampled at x (linear interpolation)."""
    a = np.abs(profile) / np.abs(profile).max()
    i = int(np.argmax(a))
    lvl = 1 / np.sqrt(2)
    l = i
    while l > 0 and a[l] > lvl:
        l -= 1
    r = i
    while r < len(a) - 1 and a[r] > lvl:
        r += 1
    xl = x[l] + (lvl - a[l]) * (x[l + 1] - x[l]) / (a[l + 1] - a[l])
    xr = x[r - 1] + (a[r - 1] - lvl) * (x[r] - x[r - 1]) / (a[r - 1] - a[r])
    return xr - xl


@pytest.mark.parametrize("recon", ["exact", "interp", "empm", "rma_planar"])
def test_point_target_focuses_within_one_pixel(recon, paper_raster, freehand):
    target = np.array([[0.0123, -0.0207, Z0]])
    grid = radar.image_grid(z=Z0)
    scan = paper_raster if recon == "rma_planar" else freehand  # planar RMA is only valid on planar scans
    echo = radar.simulate_echo(scan.tx, scan.rx, K, target)
    if recon in ("exact", "interp"):
        sub = radar.image_grid(n=(24, 24), extent=0.012, z=Z0)  # 1 mm pixels around the target
        sub = radar.ImageGrid(sub.x + 0.012, sub.y - 0.021, Z0)
        img = radar.backproject(echo, scan.tx_est, scan.rx_est, K, sub.points, method=recon)
        grid = sub
    else:
        f = getattr(radar, recon)
        img = f(echo, scan.tx_est, scan.rx_est, K, grid, lattice_shape=scan.lattice_shape)
    px, py = _peak(img, grid)
    assert abs(px - target[0, 0]) <= 1e-3 and abs(py - target[0, 1]) <= 1e-3


@pytest.mark.parametrize("recon", ["interp", "empm"])
def test_cross_range_resolution(recon, paper_raster):
    scan = paper_raster
    echo = radar.simulate_echo(scan.tx, scan.rx, K, np.array([[0.0, 0.0, Z0]]))
    x = np.linspace(-0.008, 0.008, 321)
    line = np.c_[x, np.zeros_like(x), np.full_like(x, Z0)]
    if recon == "interp":
        prof = radar.backproject(echo, scan.tx, scan.rx, K, line, method="interp")
    else:
        prof = radar.empm(echo, scan.tx, scan.rx, K, line, lattice_shape=scan.lattice_shape, upsample=8)
    d = scan.aperture_size()[0]
    lam = radar.C0 / radar.waveform("iwr1443").center_freq
    expected = lam * Z0 / (2 * d)
    w = _width_3db(prof, x)
    assert abs(w - expected) / expected <= 0.15, (w, expected)


def test_interp_vs_exact_correlation_multi_target(rng):
    scan = radar.raster_scan("awr1443", nx=64, ny_steps=8)
    scene = radar.random_points(rng, 12, extent=0.03, z0=Z0)
    echo = radar.simulate_scan(scan, scene, snr_db=30, rng=rng)
    grid = radar.image_grid(n=60, extent=0.03, z=Z0).points
    a = radar.backproject(echo, scan.tx, scan.rx, K, grid, method="exact")
    b = radar.backproject(echo, scan.tx, scan.rx, K, grid, method="interp")
    assert np.corrcoef(np.abs(a).ravel(), np.abs(b).ravel())[0, 1] >= 0.99


def _focus(img):
    a = np.abs(img)
    return a.max() / a.mean()


def test_naive_rma_fails_on_freehand_but_empm_does_not(freehand):
    echo = radar.simulate_echo(freehand.tx, freehand.rx, K, np.array([[0.01, 0.02, Z0], [-0.03, -0.01, Z0]]))
    grid = radar.image_grid(z=Z0)
    kw = dict(lattice_shape=freehand.lattice_shape)
    good = _focus(radar.empm(echo, freehand.tx_est, freehand.rx_est, K, grid, **kw))
    bad = _focus(radar.rma_planar(echo, freehand.tx_est, freehand.rx_est, K, grid, **kw))
    assert good > 10 * bad


def test_smooth_1mm_error_defocuses_but_iid_destroys():
    """Calibration of the error model: sigma = 1 mm smooth -> usable but defocused image;
    the same sigma i.i.d. per sample -> speckle (the physics note of the paper notes)."""
    target = np.array([[0.0, 0.01, Z0], [0.03, -0.02, Z0]])
    grid = radar.image_grid(z=Z0)
    focus = {}
    for name, err in [("none", None), ("smooth", radar.PositionError(1e-3)),
                      ("iid", radar.PositionError(1e-3, iid=True))]:
        vals = []
        for seed in range(3):
            scan = radar.freehand_scan("awr1443", error=err, rng=seed)
            echo = radar.simulate_echo(scan.tx, scan.rx, K, target)
            vals.append(_focus(radar.empm(echo, scan.tx_est, scan.rx_est, K, grid, lattice_shape=scan.lattice_shape)))
        focus[name] = np.mean(vals)
    assert focus["none"] > focus["smooth"] > 0.1 * focus["none"]  # defocused, not destroyed
    assert focus["smooth"] > 3 * focus["iid"]  # i.i.d. error of the same sigma is far worse
    assert focus["iid"] < 0.1 * focus["none"]


def test_psf_cut_width_and_sidelobes():
    from sarsr.plot import psf_cut

    grid = radar.image_grid(n=201, extent=0.01, z=0.1)
    x = grid.x
    sinc = np.sinc(x[:, None] / 2e-3) * np.sinc(x[None, :] / 1e-3)  # analytic PSF
    cx = psf_cut(sinc, grid, "x")
    cy = psf_cut(sinc, grid, "y")
    # sinc: -3 dB full width = 0.886 x first-null spacing; first sidelobe -13.26 dB
    assert cx["width_3db_m"] == pytest.approx(0.886 * 2e-3, rel=0.02)
    assert cy["width_3db_m"] == pytest.approx(0.886 * 1e-3, rel=0.03)
    assert cx["pslr_db"] == pytest.approx(-13.26, abs=0.3)
    with pytest.raises(ValueError, match="grid shape"):
        psf_cut(sinc[:5], grid)


def test_psf_and_error_field_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sarsr.plot import plot_error_field, plot_psf_cuts

    grid = radar.image_grid(n=41, extent=0.01, z=0.1)
    psf = np.sinc(grid.x[:, None] / 2e-3) * np.sinc(grid.y[None, :] / 2e-3)
    scan = radar.freehand_scan("awr1443", nx=16, ny_steps=2, error=radar.PositionError(1e-3), rng=0)
    fig, (a, b) = plt.subplots(1, 2)
    plot_psf_cuts(a, psf, grid)
    plot_error_field(b, scan)
    assert "3 dB width" in a.get_legend().get_texts()[0].get_text()
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 5000
