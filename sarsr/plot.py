"""Plotting helpers: dB images with axes in mm, side-by-side panels, PSF cuts, trajectories."""

from __future__ import annotations

import numpy as np


def to_db(image, dynamic_range: float = 40.0) -> np.ndarray:
    """``20 log10(|I| / max |I|)`` clipped to [-dynamic_range, 0] (dB)."""
    a = np.abs(np.asarray(image, np.complex128))
    m = a.max()
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(a / m) if m > 0 else np.full(a.shape, -dynamic_range)
    return np.clip(db, -dynamic_range, 0.0)


def show_db(ax, image, grid, title: str = "", dynamic_range: float = 40.0, colorbar: bool = True, db: bool = True):
    """Show an image indexed [ix, iy] on ``grid`` (ImageGrid) in dB (or linear when ``db=False``)."""
    data = to_db(image, dynamic_range) if db else np.abs(image)
    kw = dict(vmin=-dynamic_range, vmax=0) if db else dict(vmin=0, vmax=max(float(np.max(data)), 1e-12))
    im = ax.imshow(data.T, origin="lower", extent=grid.extent_mm, cmap="viridis", **kw)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="dB" if db else "")
    return im


def panels(images: dict, grid, dynamic_range: float = 40.0, db=True, ncols: int | None = None, figsize_per=3.6):
    """One figure with a dB panel per ``{title: image}``; ``db`` may be a dict per title."""
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(figsize_per * ncols + 0.6, figsize_per * nrows), squeeze=False)
    for ax, (title, img) in zip(axes.ravel(), images.items()):
        use_db = db.get(title, True) if isinstance(db, dict) else db
        show_db(ax, img, grid, title, dynamic_range, db=use_db)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_trajectory(ax3d, scan, every: int = 50, estimated: bool = True):
    """3-D scatter of the virtual positions (true and estimated), mm."""
    v = scan.virtual(estimated=False)[::every] * 1e3
    ax3d.scatter(v[:, 0], v[:, 1], v[:, 2], s=2, label="true")
    if estimated:
        e = scan.virtual(estimated=True)[::every] * 1e3
        ax3d.scatter(e[:, 0], e[:, 1], e[:, 2], s=2, label="estimated")
    ax3d.set_xlabel("x (mm)")
    ax3d.set_ylabel("y (mm)")
    ax3d.set_zlabel("z (mm)")
    ax3d.legend()


def psf_cut(image, grid, axis: str = "x", through=None) -> dict:
    """Cut through the peak of ``image`` (indexed [ix, iy]) along ``axis`` ("x" or "y").

    Returns ``{"position_m", "db", "width_3db_m", "pslr_db"}``: the cut in dB relative to the
    peak, the -3 dB main-lobe width (linear interpolation between samples, m) and the peak
    sidelobe ratio (highest sidelobe outside the main lobe's first nulls, dB, negative).
    ``through`` = (ix, iy) forces the cut through another pixel.
    """
    a = np.abs(np.asarray(image))
    if a.ndim != 2 or a.shape != grid.shape:
        raise ValueError(f"psf_cut: image shape {a.shape} != grid shape {grid.shape}")
    ix, iy = np.unravel_index(np.argmax(a), a.shape) if through is None else through
    if axis == "x":
        cut, pos, i0 = a[:, iy], grid.x, ix
    elif axis == "y":
        cut, pos, i0 = a[ix, :], grid.y, iy
    else:
        raise ValueError("axis must be 'x' or 'y'")
    peak = cut[i0] if cut[i0] > 0 else 1.0
    db = 20 * np.log10(np.maximum(cut / peak, 1e-12))
    half = 10 ** (-3 / 20)

    def crossing(step):
        i = i0
        while 0 <= i + step < cut.size and cut[i + step] / peak >= half:
            i += step
        if not 0 <= i + step < cut.size:
            return pos[i]
        c0, c1 = cut[i] / peak, cut[i + step] / peak
        return pos[i] + (pos[i + step] - pos[i]) * (c0 - half) / (c0 - c1)

    width = abs(crossing(1) - crossing(-1))

    def null(step):
        i = i0
        while 0 <= i + step < cut.size and cut[i + step] <= cut[i]:
            i += step
        return i

    lo, hi = null(-1), null(1)
    side = np.concatenate([cut[:lo], cut[hi + 1:]])
    pslr = 20 * np.log10(side.max() / peak) if side.size and side.max() > 0 else -np.inf
    return {"position_m": pos, "db": db, "width_3db_m": float(width), "pslr_db": float(pslr)}


def plot_psf_cuts(ax, image, grid, dynamic_range: float = 40.0):
    """Plot x and y cuts through the peak (dB vs mm) with the 3 dB widths in the legend."""
    for axis in ("x", "y"):
        c = psf_cut(image, grid, axis)
        ax.plot(c["position_m"] * 1e3, c["db"],
                label=f"{axis}: 3 dB width {c['width_3db_m'] * 1e3:.2f} mm, PSLR {c['pslr_db']:.1f} dB")
    ax.axhline(-3, color="0.6", ls=":", lw=1)
    ax.set_ylim(-dynamic_range, 1)
    ax.set_xlabel("position (mm)")
    ax.set_ylabel("dB")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_error_field(ax, scan, component: int = 2):
    """Map of the position-estimation error (estimated - true) on the virtual lattice, mm,
    for ``component`` 0/1/2 = x/y/z."""
    if scan.lattice_shape is None:
        raise ValueError("plot_error_field needs a scan on a lattice")
    err = ((scan.tx_est - scan.tx) + (scan.rx_est - scan.rx))[:, component] / 2 * 1e3
    im = ax.imshow(err.reshape(scan.lattice_shape).T, origin="lower", cmap="RdBu_r")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=f"{'xyz'[component]} error (mm)")
    ax.set_xlabel("x index")
    ax.set_ylabel("virtual row")
    return ax
