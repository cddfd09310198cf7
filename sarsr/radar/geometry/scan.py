"""Scan geometries: per-channel Tx and Rx positions of a whole acquisition.

Every scanner returns a :class:`Scan` holding the *true* Tx/Rx positions (where the echoes are
simulated) and the *estimated* ones (what the positioning system believes; used to form
images). Coordinates (m): the nominal aperture lies in the plane z = 0, the array faces +z,
targets sit at depth z0 > 0.

Samples of scans that cover a uniform virtual lattice are stored in lattice order
``n = ix * ny + iy`` (x index major), so ``echo.reshape(nx, ny, K)`` is the virtual planar
array; ``Scan.order`` gives the order in which the radar acquired them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .array import MIMOArray, mimo_array
from ..physics.constants import C0
from .position_error import PositionError, smooth_random_field


@dataclass(frozen=True)
class Scan:
    """Positions of one acquisition.

    Attributes
    ----------
    tx, rx : ndarray (N, 3)
        True Tx and Rx position of every channel sample (m).
    tx_est, rx_est : ndarray (N, 3)
        Estimated positions (m), ``true + error``.
    lattice_shape : (nx, ny) or None
        When set, the virtual elements form a uniform lattice; sample ``n = ix * ny + iy``.
    lattice_spacing : (dx, dy) or None
        Lattice pitch (m).
    order : ndarray (N,)
        Acquisition order (indices of samples in the order they were measured).
    meta : dict
        Generator parameters (JSON-serialisable) for reproduction.
    """

    tx: np.ndarray
    rx: np.ndarray
    tx_est: np.ndarray
    rx_est: np.ndarray
    lattice_shape: tuple | None = None
    lattice_spacing: tuple | None = None
    order: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        n = None
        for name in ("tx", "rx", "tx_est", "rx_est"):
            a = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != 3:
                raise ValueError(f"Scan.{name} must have shape (N, 3), got {a.shape}")
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise ValueError(f"Scan.{name} has {a.shape[0]} samples, expected {n}")
            object.__setattr__(self, name, a)
        if self.lattice_shape is not None:
            nx, ny = (int(v) for v in self.lattice_shape)
            if nx * ny != n:
                raise ValueError(f"Scan.lattice_shape {self.lattice_shape} does not match {n} samples")
            object.__setattr__(self, "lattice_shape", (nx, ny))
        if self.order is None:
            object.__setattr__(self, "order", np.arange(n))

    @property
    def n_samples(self) -> int:
        return self.tx.shape[0]

    def virtual(self, estimated: bool = True) -> np.ndarray:
        """Virtual element (Tx/Rx midpoint) of every sample, (N, 3) (m)."""
        t, r = (self.tx_est, self.rx_est) if estimated else (self.tx, self.rx)
        return 0.5 * (t + r)

    def positions(self, estimated: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(tx, rx) estimated or true."""
        return (self.tx_est, self.rx_est) if estimated else (self.tx, self.rx)

    def aperture_size(self) -> tuple[float, float]:
        """Extent (m) of the virtual aperture along x and y."""
        v = self.virtual(estimated=False)
        return float(np.ptp(v[:, 0])), float(np.ptp(v[:, 1]))

    def with_error(self, error: PositionError | None, rng=None) -> "Scan":
        """Return a copy whose estimated positions are ``true + error`` (error drawn on the lattice)."""
        if error is None:
            return replace(self, tx_est=self.tx.copy(), rx_est=self.rx.copy())
        if self.lattice_shape is not None:
            e = error.sample(self.lattice_shape, self.lattice_spacing, rng).reshape(-1, 3)
        else:  # smooth along the acquisition order, spacing = mean step between samples
            v = self.virtual(estimated=False)[self.order]
            step = float(np.mean(np.linalg.norm(np.diff(v, axis=0), axis=1))) if len(v) > 1 else 1.0
            e_ord = error.sample((self.n_samples,), max(step, 1e-9), rng)
            e = np.empty_like(e_ord)
            e[self.order] = e_ord
        meta = dict(self.meta, position_error=dict(sigma=error.sigma_xyz.tolist(),
                                                   correlation_length=error.correlation_length,
                                                   iid=error.iid))
        return replace(self, tx_est=self.tx + e, rx_est=self.rx + e, meta=meta)


def _virtual_rows(array: MIMOArray):
    """Sort channels by virtual y; return (order, virtual y, pitch or None if not uniform)."""
    v = array.virtual_positions()
    order = np.argsort(v[:, 1], kind="stable")
    vy = v[order, 1]
    if vy.size == 1:
        return order, vy, None
    d = np.diff(vy)
    pitch = float(d.mean())
    uniform = pitch > 0 and np.allclose(d, pitch, rtol=1e-6, atol=1e-9)
    return order, vy, (pitch if uniform else None)


def raster_scan(array="awr1443", nx: int = 200, x_step: float | None = None, ny_steps: int = 25,
                y_step: float | None = None, z: float = 0.0) -> Scan:
    """Rectilinear raster: the board steps ``ny_steps`` times along y and sweeps ``nx`` positions along x.

    With the AWR1443 array and the defaults this is the paper's aperture: 25 y-steps of
    2 lambda x 200 x-steps of lambda / 4 -> a 200 x 200 virtual lattice at lambda / 4 pitch
    (189.7 mm square), centred on the origin.

    Parameters
    ----------
    array : MIMOArray or preset name
    nx : int               number of x positions per sweep
    x_step : float         x pitch (m); default lambda(79 GHz) / 4
    ny_steps : int         number of board positions along y
    y_step : float         y pitch of the board (m); default n_channels * virtual pitch so that
                           virtual rows tile uniformly
    z : float              board depth (m)
    """
    array = mimo_array(array)
    lam = C0 / 79e9
    x_step = lam / 4 if x_step is None else float(x_step)
    if nx < 1 or ny_steps < 1 or x_step <= 0:
        raise ValueError("raster_scan: nx, ny_steps must be >= 1 and x_step > 0")
    order_ch, vy, pitch = _virtual_rows(array)
    nch = array.n_channels
    if y_step is None:
        y_step = nch * pitch if pitch is not None else lam / 2 if nch == 1 else float(np.ptp(vy)) + lam / 4
    tx_c, rx_c = array.channel_positions()
    tx_c, rx_c = tx_c[order_ch], rx_c[order_ch]
    xb = (np.arange(nx) - (nx - 1) / 2) * x_step
    yb = (np.arange(ny_steps) - (ny_steps - 1) / 2) * y_step
    # lattice index: ix, iy = ystep * nch + channel
    XB = np.broadcast_to(xb[:, None, None], (nx, ny_steps, nch))
    YB = np.broadcast_to(yb[None, :, None], (nx, ny_steps, nch))
    board = np.stack([XB, YB, np.full(XB.shape, float(z))], axis=-1)
    tx = (board + tx_c[None, None]).reshape(-1, 3)
    rx = (board + rx_c[None, None]).reshape(-1, 3)
    ny = ny_steps * nch
    uniform = pitch is not None and np.isclose(y_step, nch * pitch) or nch == 1
    lattice = (nx, ny) if uniform else None
    spacing = (x_step, (pitch if nch > 1 else y_step)) if uniform else None
    # acquisition: for each y step, sweep x, all channels per position
    ix, iys, ic = np.meshgrid(np.arange(nx), np.arange(ny_steps), np.arange(nch), indexing="ij")
    n_idx = (ix * ny + iys * nch + ic)
    acq = np.transpose(n_idx, (1, 0, 2)).reshape(-1)
    meta = dict(kind="raster", array=array.name, nx=nx, x_step=x_step, ny_steps=ny_steps, y_step=y_step, z=z)
    return Scan(tx, rx, tx.copy(), rx.copy(), lattice, spacing, acq, meta)


def freehand_surface(shape, peak_to_peak: float = 0.03, filter_width: float = 3.0, rng=None) -> np.ndarray:
    """Smooth random multi-planar surface (the paper's freehand demos), shape ``shape`` (m).

    White Gaussian noise is low-pass filtered in the 2-D FFT domain with
    ``exp(-(i^2 + j^2) / (2 F^2))`` (i, j circular frequency indices, F = ``filter_width``),
    min-max normalised and scaled to ``peak_to_peak`` (default 3 cm, i.e. +-1.5 cm).
    """
    rng = np.random.default_rng(rng)
    shape = tuple(int(s) for s in shape)
    w = rng.standard_normal(shape)
    idx = [np.minimum(np.arange(n), n - np.arange(n)) for n in shape]
    grids = np.meshgrid(*idx, indexing="ij")
    h = np.exp(-0.5 * sum(g.astype(float) ** 2 for g in grids) / filter_width ** 2)
    s = np.real(np.fft.ifftn(h * np.fft.fftn(w)))
    s = (s - s.min()) / max(np.ptp(s), 1e-300)
    return peak_to_peak * (s - 0.5)


def freehand_scan(array="awr1443", nx: int = 200, x_step: float | None = None, ny_steps: int = 25,
                  surface_peak_to_peak: float = 0.03, surface_filter_width: float = 3.0,
                  lateral_jitter: float = 0.0, jitter_correlation: float = 0.02,
                  error: PositionError | None = None, rng=None) -> Scan:
    """Freehand (irregular, multi-planar) scan as in the paper.

    The raster of :func:`raster_scan` with every virtual element displaced in z by a smooth
    random surface (+-``surface_peak_to_peak / 2``), plus optional smooth lateral jitter (std
    ``lateral_jitter`` m) that the fast Fourier reconstructors cannot compensate. The
    positioning system knows this geometry; ``error`` adds the estimation error.
    """
    rng = np.random.default_rng(rng)
    base = raster_scan(array, nx=nx, x_step=x_step, ny_steps=ny_steps)
    if base.lattice_shape is None:
        raise ValueError("freehand_scan needs an array whose virtual elements tile a uniform lattice")
    zs = freehand_surface(base.lattice_shape, surface_peak_to_peak, surface_filter_width, rng).reshape(-1)
    disp = np.zeros((base.n_samples, 3))
    disp[:, 2] = zs
    if lateral_jitter > 0:
        for ax in (0, 1):
            disp[:, ax] = lateral_jitter * smooth_random_field(
                base.lattice_shape, base.lattice_spacing, jitter_correlation, rng).reshape(-1)
    tx, rx = base.tx + disp, base.rx + disp
    meta = dict(base.meta, kind="freehand", surface_peak_to_peak=surface_peak_to_peak,
                surface_filter_width=surface_filter_width, lateral_jitter=lateral_jitter,
                jitter_correlation=jitter_correlation)
    scan = Scan(tx, rx, tx.copy(), rx.copy(), base.lattice_shape, base.lattice_spacing, base.order, meta)
    return scan.with_error(error, rng)


def linear_track(array="awr1443", n_positions: int = 256, step: float | None = None, passes: int = 1,
                 pass_spacing: float | None = None, z: float = 0.0, drift_sigma: float = 0.0,
                 drift_correlation: float = 0.05, error: PositionError | None = None, rng=None) -> Scan:
    """Straight-line track(s) along x: handheld linear sweep, UAV strip or automotive pass.

    The board moves ``n_positions`` steps of ``step`` along x, ``passes`` times, each pass
    offset by ``pass_spacing`` in y (default: the array's virtual extent + pitch, so passes tile
    uniformly). The true path drifts from the nominal line by a smooth random 3-D deviation of
    std ``drift_sigma`` (m) and correlation length ``drift_correlation`` (m) along the track; the
    estimated path is the true one plus ``error``.
    """
    rng = np.random.default_rng(rng)
    array = mimo_array(array)
    lam = C0 / 79e9
    step = lam / 4 if step is None else float(step)
    order_ch, vy, pitch = _virtual_rows(array)
    nch = array.n_channels
    if pass_spacing is None:
        pass_spacing = nch * pitch if pitch is not None else lam / 2
    base = raster_scan(array, nx=n_positions, x_step=step, ny_steps=passes, y_step=pass_spacing, z=z)
    tx, rx = base.tx.copy(), base.rx.copy()
    if drift_sigma > 0:
        # drift is a property of the board pose along time: one value per (pass, position)
        drift = np.stack([smooth_random_field((passes * n_positions,), step, drift_correlation, rng)
                          for _ in range(3)], axis=-1) * drift_sigma
        drift = drift.reshape(passes, n_positions, 3).transpose(1, 0, 2)  # (nx, passes, 3)
        d = np.repeat(drift[:, :, None, :], nch, axis=2).reshape(-1, 3)
        tx += d
        rx += d
    meta = dict(base.meta, kind="linear_track", passes=passes, pass_spacing=pass_spacing,
                drift_sigma=drift_sigma, drift_correlation=drift_correlation)
    scan = Scan(tx, rx, tx.copy(), rx.copy(), base.lattice_shape, base.lattice_spacing, base.order, meta)
    return scan.with_error(error, rng)
