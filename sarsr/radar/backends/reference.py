"""Straightforward vectorised numpy implementations of the radar kernels.

They define what the fast kernels compute: the tests check the numba and torch backends
against them, and ``sarsr bench radar`` times them side by side. float64 throughout; memory
grows with the product of the sizes, so use them on small problems.
"""

from __future__ import annotations

import numpy as np


def _paths(tx, rx, pts):
    """Round-trip path lengths R_tx + R_rx, shape (N, M) (m), plus (R_tx, R_rx)."""
    rt = np.linalg.norm(tx[:, None, :] - pts[None, :, :], axis=-1)
    rr = np.linalg.norm(rx[:, None, :] - pts[None, :, :], axis=-1)
    return rt + rr, rt, rr


def simulate_echo_numpy(tx, rx, k, points, amplitudes=None, path_loss=False):
    """s[n, i] = sum_m a_m exp(+j k_i (|tx_n - p_m| + |rx_n - p_m|)), complex128 (N, K)."""
    tx, rx, k, points = (np.asarray(a, np.float64) for a in (tx, rx, k, points))
    a = np.ones(len(points)) if amplitudes is None else np.asarray(amplitudes, np.float64)
    r, rt, rr = _paths(tx, rx, points)
    w = a[None, :] / (rt * rr) if path_loss else np.broadcast_to(a[None, :], r.shape)
    return np.einsum("nm,nmk->nk", w, np.exp(1j * r[:, :, None] * k[None, None, :]))


def backproject_numpy(echo, tx, rx, k, grid):
    """I(p) = sum_n sum_i s[n, i] exp(-j k_i (|tx_n - p| + |rx_n - p|)) (exact), complex128."""
    echo = np.asarray(echo, np.complex128)
    g = np.asarray(grid, np.float64)
    pts = g.reshape(-1, 3)
    r, _, _ = _paths(np.asarray(tx, float), np.asarray(rx, float), pts)  # (N, P)
    img = np.einsum("nk,npk->p", echo, np.exp(-1j * r[:, :, None] * np.asarray(k, float)[None, None, :]))
    return img.reshape(g.shape[:-1])


def backproject_interp_numpy(echo, tx, rx, k, grid, oversample=16):
    """Range-interpolated backprojection: zero-padded FFT range profiles, linear
    interpolation of the baseband profile, carrier phase restored at the exact path."""
    echo = np.asarray(echo, np.complex128)
    k = np.asarray(k, float)
    nk = k.size
    dk = (k[-1] - k[0]) / (nk - 1)
    nfft = int(oversample * nk)
    ic = (nk - 1) / 2
    kc = k[0] + ic * dk
    spec = np.fft.fft(echo, n=nfft, axis=1)  # S[m] = sum_i s_i exp(-j 2pi i m / nfft)
    m = np.arange(nfft)
    q = spec * np.exp(1j * 2 * np.pi * ic * m / nfft)[None, :]  # baseband profile at R_m
    dr = 2 * np.pi / (nfft * dk)
    g = np.asarray(grid, float)
    pts = g.reshape(-1, 3)
    r, _, _ = _paths(np.asarray(tx, float), np.asarray(rx, float), pts)
    f = np.clip(r / dr, 0, nfft - 1.001)
    i0 = f.astype(int)
    fr = f - i0
    rows = np.arange(len(echo))[:, None]
    val = q[rows, i0] * (1 - fr) + q[rows, i0 + 1] * fr
    img = np.sum(val * np.exp(-1j * kc * r), axis=0)
    return img.reshape(g.shape[:-1])


def spectral_focus_numpy(spec, k, kx, ky, depth):
    """sum_k S_k(kx, ky) exp(-j kz depth), kz = sqrt(4k^2 - kx^2 - ky^2) (evanescent dropped)."""
    q = 4 * np.asarray(k)[:, None, None] ** 2 - np.asarray(kx)[None, :, None] ** 2 - np.asarray(ky)[None, None, :] ** 2
    kz = np.sqrt(np.maximum(q, 0))
    return np.sum(np.where(q > 0, spec * np.exp(-1j * kz * depth), 0), axis=0)


def window_echo_numpy(tx, rx, qpts, values, p, kc):
    """g[n] = sum_q I_q exp(+j kc (R_n(q) - R_n(p))), complex128 (N,): the echo of image window
    pixels ``qpts`` (M, 3) with values ``I_q`` at each channel, relative to point ``p`` (3,)."""
    r, _, _ = _paths(np.asarray(tx, float), np.asarray(rx, float), np.asarray(qpts, float))
    rp, _, _ = _paths(np.asarray(tx, float), np.asarray(rx, float), np.asarray(p, float)[None])
    return np.exp(1j * kc * (r - rp)) @ np.asarray(values, np.complex128)
