"""Backprojection (time-domain / matched-filter) imaging for arbitrary geometries.

``I(p) = sum_n sum_i s[n, i] exp(-j k_i (|tx_n - p| + |rx_n - p|))``: multistatic, irregular
positions, any set of image points (a plane in any orientation or a 3-D volume).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ... import _validate as V
from ..backends import kernels
from .ffbp import ffbp, regular_axes
from ..physics.range_compression import (image_range_profiles, path_window, range_profiles, resolve_backend,
                                         validate_backprojection as _validate_bp)  # noqa: F401

METHODS = ("interp", "exact", "ffbp", "auto")
#: ``method="auto"`` picks ffbp from this many channel x pixel pairs on (below that interp is
#: as fast; ``sarsr bench bp`` shows the crossover).
FFBP_MIN_WORK = 1e8


def choose_method(n_channels: int, grid) -> str:
    """The fastest backprojection method that meets the accuracy target (ffbp error energy
    <= -35 dB against exact) for ``n_channels`` and image points ``grid``: "ffbp" on a regular
    grid with at least :data:`FFBP_MIN_WORK` channel x pixel pairs, else "interp"."""
    g = np.asarray(grid)
    npix = g.size // 3 if g.ndim >= 1 and g.shape[-1] == 3 else 0
    if n_channels * npix >= FFBP_MIN_WORK and regular_axes(g) is not None:
        return "ffbp"
    return "interp"


def _block_size(npix: int) -> int:
    nth = numba.get_num_threads()
    return int(max(64, min(4096, math.ceil(npix / (2 * nth)))))


def backproject(echo, tx, rx, k, grid, *, method: str = "interp", oversample: int = 8,
                backend: str = "numba", device=None, subimage_oversample: float = 2.0) -> np.ndarray:
    """Backproject multistatic echoes onto arbitrary image points.

    Parameters
    ----------
    echo : array_like complex (N, K)
        Dechirped samples; channel n has Tx at ``tx[n]`` and Rx at ``rx[n]``.
    tx, rx : array_like (N, 3)
        (Estimated) Tx/Rx positions (m).
    k : array_like (K,)
        Strictly increasing wavenumbers (rad/m).
    grid : array_like (..., 3)
        Image points (m): a plane in any orientation, a line or a 3-D volume.
    method : {"interp", "exact", "ffbp", "auto"}
        "exact": the frequency-domain sum over every wavenumber (float64; K x the work).
        "interp" (default): range-compress each channel (zoom DFT = zero-padded FFT bins over the
        needed window, ``oversample`` x finer than the range resolution), linearly interpolate
        the baseband profile at each pixel's path and restore the carrier phase exactly.
        "ffbp": factorized backprojection (:mod:`sarsr.radar.imaging.ffbp`) on a regular planar grid
        (nx, ny, 3) or volume (nx, ny, nz, 3): channel tree, demodulated sub-images on coarse
        grids merged level by level; ~N log N instead of N x pixels. "auto": :func:`choose_method`.
    subimage_oversample : float
        "ffbp" only: the accuracy / speed trade-off (see :func:`sarsr.radar.imaging.ffbp.ffbp`).
    oversample : int
        Range-profile oversampling for "interp".
    backend : {"numba", "torch", "auto"}
    device : torch device for the torch backend.

    Returns
    -------
    ndarray complex64, shape ``grid.shape[:-1]``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if int(oversample) < 2:
        raise ValueError(f"oversample must be >= 2, got {oversample}")
    if method == "auto":
        method = choose_method(np.shape(echo)[0] if np.ndim(echo) == 2 else 0, grid)
    if method == "ffbp":
        if backend not in ("numba", "auto"):
            raise ValueError("method='ffbp' runs on the numba backend only")
        return ffbp(echo, tx, rx, k, grid, oversample=oversample, subimage_oversample=subimage_oversample)
    echo, tx, rx, k, g = _validate_bp(echo, tx, rx, k, grid)
    if resolve_backend(backend) == "torch":
        from ..backends.torch_backend import backproject_torch  # lazy: torch only for backend='torch'
        return backproject_torch(echo, tx, rx, k, g, method=method, oversample=oversample, device=device)
    pts = g.reshape(-1, 3)
    npix = pts.shape[0]
    block = _block_size(npix)
    if method == "exact":
        dk = V.uniform_step(k)
        if dk is None:
            from ..backends.reference import backproject_numpy  # lazy: the numpy reference only for method='numpy'
            out = np.concatenate([backproject_numpy(echo, tx, rx, k, pts[i:i + 256])
                                  for i in range(0, npix, 256)])
            return out.astype(np.complex64).reshape(g.shape[:-1])
        out_re = np.empty(npix)
        out_im = np.empty(npix)
        kernels.backproject_exact(np.ascontiguousarray(echo.real, np.float64), np.ascontiguousarray(echo.imag, np.float64),
                                  tx, rx, float(k[0]), dk, *(np.ascontiguousarray(pts[:, i]) for i in range(3)),
                                  block, out_re, out_im)
    else:
        q, r0, dr, kc = image_range_profiles(echo, tx, rx, k, pts, oversample)
        out_re = np.empty(npix, np.float32)
        out_im = np.empty(npix, np.float32)
        f32 = np.float32
        nbin = q.shape[1]
        chunk = int(max(64, (256 * 1024) // (16 * nbin)))  # keep a chunk's profiles (~256 KiB) in L2
        tab = kernels.pack_profiles(q)
        del q
        chan = [np.ascontiguousarray(a[:, i], dtype=f32) for a in (tx, rx) for i in range(3)]
        pix = [np.ascontiguousarray(pts[:, i], dtype=f32) for i in range(3)]

        def run(p0, p1):
            kernels.backproject_interp(tab, nbin, *chan, f32(r0), f32(1.0 / dr), f32(kc), *pix,
                                       p0, p1, chunk, out_re, out_im)

        kernels.parallel_blocks(run, npix, block)
    return (out_re + 1j * out_im).astype(np.complex64).reshape(g.shape[:-1])
