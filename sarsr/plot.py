"""Plotting helpers: dB images with axes in mm, side-by-side panels, PSF cuts, trajectories."""

from __future__ import annotations

import numpy as np


def to_db(image, dynamic_range: float = 40.0) -> np.ndarray:
    """20 log10(|I| / max |I|) clipped to [-dynamic_range, 0] (dB)."""
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
