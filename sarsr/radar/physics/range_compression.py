"""Range compression shared by every backprojection (numba, torch, factorized): the round-trip
path window an image needs, baseband range profiles on it, and backend selection."""

from __future__ import annotations

import math

import numpy as np

from ... import _validate as V

__all__ = ["path_window", "image_path_window", "range_profiles", "range_profile_basis", "image_range_profiles", "resolve_backend", "validate_backprojection"]


def path_window(tx, rx, pts) -> tuple[float, float]:
    """Lower and upper bound of the round-trip path ``|tx - p| + |rx - p|`` over all channels and
    image points, using the points' bounding box (m)."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])

    def near(p):
        return np.linalg.norm(np.clip(p, lo, hi) - p, axis=1)

    def far(p):
        return np.max(np.linalg.norm(p[:, None, :] - corners[None], axis=-1), axis=1)

    return float(np.min(near(tx) + near(rx))), float(np.max(far(tx) + far(rx)))


def range_profiles(echo, k, r_min, r_max, oversample: int = 8):
    """Baseband range profiles on a window of round-trip paths (zoom DFT).

    ``Q_n(R) = sum_i s[n, i] exp(-j (k_i - kc) R)`` with ``kc`` the mean wavenumber, sampled on
    ``R_j = r0 + j dr``: the values a zero-padded FFT of length ``oversample * K`` gives at those
    bins, computed only inside ``[r_min, r_max]`` (one complex matrix product). Then
    ``sum_i s_i exp(-j k_i R) = exp(-j kc R) Q(R)`` exactly at the bins; in between, Q is smooth
    (band-limited to +-B/2) and linear interpolation is accurate.

    Returns (Q (N, L) complex64, r0, dr, kc).
    """
    e, r0, dr, kc = range_profile_basis(k, r_min, r_max, oversample, n_channels=np.asarray(echo).shape[0])
    q = np.asarray(echo, np.complex64) @ e
    return q, r0, dr, kc


def range_profile_basis(k, r_min, r_max, oversample: int = 8, n_channels: int = 1):
    """The (K, L) complex64 matrix ``exp(-j (k_i - kc) R_l)`` of :func:`range_profiles` (an echo
    (N, K) times it gives the profiles) with its bins ``R_l = r0 + l dr`` covering
    ``[r_min, r_max]`` (m). ``n_channels`` sizes the memory check of the (N, L) result.
    Returns (E, r0, dr, kc): r0, dr in m, kc in rad/m."""
    k = np.asarray(k, float)
    kc = float(k.mean())
    if k.size > 1:
        span = (k[-1] - k[0]) * k.size / (k.size - 1)  # bandwidth in wavenumber, as the FFT sees it
        dr = 2 * np.pi / (oversample * span)
    else:  # one wavenumber: no range information, Q(R) = s is constant; any finite bin width is exact
        dr = max(float(r_max - r_min), 1e-3)
    j0 = math.floor(r_min / dr) - 2
    j1 = math.ceil(r_max / dr) + 3
    V.check_memory(float(n_channels) * (j1 - j0) * 8, "the range profiles")
    r = (np.arange(j0, j1) * dr).astype(np.float64)
    e = np.exp(-1j * np.outer(k - kc, r)).astype(np.complex64)  # (K, L)
    return e, float(r[0]), float(dr), kc


def resolve_backend(backend: str) -> str:
    """"numba" or "torch" for a backend argument ("auto": torch when CUDA is present)."""
    if backend not in ("numba", "torch", "auto"):
        raise ValueError(f"backend must be 'numba', 'torch' or 'auto', got {backend!r}")
    if backend == "auto":
        try:
            import torch
            return "torch" if torch.cuda.is_available() else "numba"
        except ImportError:  # pragma: no cover
            return "numba"
    return backend


def validate_backprojection(echo, tx, rx, k, grid):
    """Validated (echo, tx, rx, k, grid points) for backprojection (ValueError naming the problem)."""
    # keep complex128 input in double precision (the exact method sums in float64)
    dtype = np.complex128 if np.asarray(echo).dtype == np.complex128 else np.complex64
    V.check_echo_scale(echo, np.complex64)  # every method images in float32
    echo, tx, rx, k = V.echo_geometry(echo, tx, rx, k, dtype)
    g = np.asarray(grid)
    if g.ndim < 1 or g.shape[-1] != 3:
        raise ValueError(f"grid must be an array of points with shape (..., 3), got {g.shape}")
    V.check_memory(g.size / 3 * 8 * 4, "the image")
    g = V.as_array(g, "grid", last=3)
    return echo, tx, rx, k, g


def image_path_window(tx, rx, k, pts) -> tuple[float, float]:
    """:func:`path_window` of image points ``pts`` (P, 3) (m), after checking that it fits in
    the unambiguous range of wavenumbers ``k`` (rad/m; ValueError otherwise)."""
    r_min, r_max = path_window(tx, rx, pts)
    ambiguity = 2 * np.pi * (k.size - 1) / (k[-1] - k[0]) if k.size > 1 else np.inf
    if r_max - r_min >= ambiguity:
        raise ValueError(f"the image spans round-trip paths {r_min:.3f}..{r_max:.3f} m, more than the "
                         f"unambiguous {ambiguity:.3f} m of this waveform")
    return r_min, r_max


def image_range_profiles(echo, tx, rx, k, pts, oversample: int = 8):
    """:func:`range_profiles` over the :func:`image_path_window` of image points ``pts`` (P, 3).
    Returns (Q (N, L) complex64, r0, dr, kc) as :func:`range_profiles`."""
    r_min, r_max = image_path_window(tx, rx, k, pts)
    return range_profiles(echo, k, r_min, r_max, int(oversample))
