"""Image grids: where images are formed.

Reconstructors take any ``(..., 3)`` array of points (m). :class:`ImageGrid` builds the common
case, a plane z = const sampled on regular x and y axes; images on it are indexed
``image[ix, iy]`` (x along axis 0, like the paper's ``.mat`` files). Plot with
``imshow(image.T, origin="lower", extent=grid.extent_mm)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validate import check_memory


@dataclass(frozen=True)
class ImageGrid:
    """A planar image grid.

    Attributes
    ----------
    x : ndarray (nx,)  pixel x coordinates (m), increasing
    y : ndarray (ny,)  pixel y coordinates (m), increasing
    z : float          depth of the image plane (m)
    """

    x: np.ndarray
    y: np.ndarray
    z: float

    def __post_init__(self):
        for name in ("x", "y"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
                raise ValueError(f"ImageGrid.{name} must be a non-empty finite 1-D array")
            if a.size > 1 and np.any(np.diff(a) <= 0):
                raise ValueError(f"ImageGrid.{name} must be strictly increasing")
            object.__setattr__(self, name, a)
        if not np.isfinite(self.z):
            raise ValueError("ImageGrid.z must be finite")
        object.__setattr__(self, "z", float(self.z))

    @property
    def shape(self) -> tuple[int, int]:
        """(nx, ny)."""
        return (self.x.size, self.y.size)

    @property
    def points(self) -> np.ndarray:
        """Pixel positions, shape (nx, ny, 3) (m)."""
        X, Y = np.meshgrid(self.x, self.y, indexing="ij")
        return np.stack([X, Y, np.full_like(X, self.z)], axis=-1)

    @property
    def pixel_size(self) -> tuple[float, float]:
        dx = float(self.x[1] - self.x[0]) if self.x.size > 1 else 0.0
        dy = float(self.y[1] - self.y[0]) if self.y.size > 1 else 0.0
        return dx, dy

    @property
    def extent_mm(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) in mm for ``imshow(img.T, origin='lower')``."""
        dx, dy = self.pixel_size
        return (1e3 * (self.x[0] - dx / 2), 1e3 * (self.x[-1] + dx / 2),
                1e3 * (self.y[0] - dy / 2), 1e3 * (self.y[-1] + dy / 2))

    def with_depth(self, z: float) -> "ImageGrid":
        return ImageGrid(self.x, self.y, z)


def image_grid(n: int | tuple[int, int] = 200, extent: float | tuple[float, float] = 0.1,
               z: float = 0.25) -> ImageGrid:
    """Square-pixel grid over ``[-extent, extent)`` on each axis (the paper's default:
    200 x 200 pixels over [-0.1, 0.1) m, 1 mm pixels).

    Parameters
    ----------
    n : int or (nx, ny)
        Number of pixels per axis.
    extent : float or (ex, ey)
        Half-width of the field of view (m).
    z : float
        Depth of the image plane (m).
    """
    nx, ny = (n, n) if np.isscalar(n) else n
    ex, ey = (extent, extent) if np.isscalar(extent) else extent
    if nx < 1 or ny < 1:
        raise ValueError(f"image_grid: n must be >= 1, got {(nx, ny)}")
    if ex <= 0 or ey <= 0:
        raise ValueError(f"image_grid: extent must be > 0 (m), got {(ex, ey)}")
    check_memory(float(nx) * ny * 3 * 8 * 4, f"an image grid of {nx} x {ny} pixels")  # points + complex image + work
    x = -ex + 2 * ex * np.arange(nx) / nx
    y = -ey + 2 * ey * np.arange(ny) / ny
    return ImageGrid(x, y, z)


def resized_grid(grid: ImageGrid, size: int | tuple[int, int]) -> ImageGrid:
    """The grid of an image on ``grid`` resized to ``size`` pixels per axis by a pixel-area
    preserving resize (``torch.nn.functional.interpolate(..., align_corners=False)``, the
    datasets' 200 -> 256 step): both cover the same pixel footprint, the new pixel centres
    at ``x0 - dx/2 + (j + 1/2) dx nx / size``. Labels for a resized image are rendered on
    this grid (:func:`sarsr.radar.label_image`), never resized themselves."""
    sx, sy = (size, size) if np.isscalar(size) else size
    if int(sx) < 1 or int(sy) < 1:
        raise ValueError(f"resized_grid: size must be >= 1, got {size!r}")
    axes = []
    for a, n in ((grid.x, int(sx)), (grid.y, int(sy))):
        d = float(a[1] - a[0]) if a.size > 1 else 1e-3
        axes.append(a[0] - d / 2 + (np.arange(n) + 0.5) * d * a.size / n)
    return ImageGrid(axes[0], axes[1], grid.z)


def volume_points(x, y, z) -> np.ndarray:
    """3-D grid of points, shape (nx, ny, nz, 3) (m), for volumetric backprojection."""
    X, Y, Z = np.meshgrid(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float), indexing="ij")
    return np.stack([X, Y, Z], axis=-1)


def line_points(start, stop, n: int) -> np.ndarray:
    """``n`` points on the segment start -> stop, shape (n, 3) (m); for PSF cuts."""
    start = np.asarray(start, float)
    stop = np.asarray(stop, float)
    t = np.linspace(0.0, 1.0, int(n))[:, None]
    return start[None] * (1 - t) + stop[None] * t
