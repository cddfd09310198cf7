"""torch implementations of :func:`simulate_echo` and :func:`backproject` (CUDA when available).

Same definitions as the numba kernels; distances and phases are computed in float64 so the
results agree with the CPU kernels to float32 precision (tested on CPU). Work is chunked so
intermediates stay below :func:`chunk_elements` complex values: ``CHUNK_ELEMENTS`` on the CPU,
on a GPU a share of its free memory (large chunks keep a data-centre GPU busy, small ones keep a
small GPU from running out of memory).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .range_compression import image_range_profiles

CHUNK_ELEMENTS = 2 ** 24
#: Bytes of device memory one chunk element may take with its float64 / complex128 temporaries.
_BYTES_PER_ELEMENT = 128


def chunk_elements(dev) -> int:
    """Elements (channel x pixel x wavenumber products) per chunk on torch device ``dev``: on
    CUDA a quarter of the free memory at ``_BYTES_PER_ELEMENT`` bytes each, between 2^20 and
    2^28; elsewhere ``CHUNK_ELEMENTS``."""
    if getattr(dev, "type", str(dev)) == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(min(2 ** 28, max(2 ** 20, free // 4 // _BYTES_PER_ELEMENT)))
    return CHUNK_ELEMENTS


def _device(device):
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _paths(a, pts):
    """|a_n - p_m| for a (N, 3), pts (M, 3) -> (N, M)."""
    return torch.linalg.vector_norm(a[:, None, :] - pts[None, :, :], dim=-1)


def simulate_echo_torch(tx, rx, k, points, amplitudes, *, path_loss=False, device=None) -> np.ndarray:
    dev = _device(device)
    f64 = torch.float64
    tx_t = torch.as_tensor(tx, dtype=f64, device=dev)
    rx_t = torch.as_tensor(rx, dtype=f64, device=dev)
    k_t = torch.as_tensor(k, dtype=f64, device=dev)
    p_t = torch.as_tensor(points, dtype=f64, device=dev)
    a_t = torch.as_tensor(amplitudes, dtype=f64, device=dev)
    n, m, nk = tx_t.shape[0], p_t.shape[0], k_t.shape[0]
    out = torch.zeros((n, nk), dtype=torch.complex128, device=dev)
    chunk = chunk_elements(dev)
    mc = max(1, min(m, chunk // max(nk, 1)))
    nc = max(1, chunk // (mc * nk))
    for j0 in range(0, m, mc):
        pj, aj = p_t[j0:j0 + mc], a_t[j0:j0 + mc]
        for i0 in range(0, n, nc):
            rt, rr = _paths(tx_t[i0:i0 + nc], pj), _paths(rx_t[i0:i0 + nc], pj)
            w = aj[None, :] / (rt * rr) if path_loss else aj[None, :].expand_as(rt)
            ph = (rt + rr)[:, :, None] * k_t[None, None, :]
            out[i0:i0 + nc] += torch.einsum("nm,nmk->nk", w.to(torch.complex128), torch.polar(torch.ones_like(ph), ph))
    return out.to(torch.complex64).cpu().numpy()


def backproject_torch(echo, tx, rx, k, grid, *, method="interp", oversample=8, device=None) -> np.ndarray:
    dev = _device(device)
    f64 = torch.float64
    g = np.asarray(grid, float)
    pts = torch.as_tensor(g.reshape(-1, 3), dtype=f64, device=dev)
    tx_t = torch.as_tensor(tx, dtype=f64, device=dev)
    rx_t = torch.as_tensor(rx, dtype=f64, device=dev)
    k_np = np.asarray(k, float)
    k_t = torch.as_tensor(k_np, dtype=f64, device=dev)
    s = torch.as_tensor(np.asarray(echo), device=dev).to(torch.complex128)
    n, nk = s.shape
    npix = pts.shape[0]
    out = torch.zeros(npix, dtype=torch.complex128, device=dev)
    chunk = chunk_elements(dev)
    if method == "exact":
        pc = max(1, chunk // max(n * nk, 1))
        nc = n if pc > 1 else max(1, chunk // nk)
        for p0 in range(0, npix, pc):
            pp = pts[p0:p0 + pc]
            for i0 in range(0, n, nc):
                r = _paths(tx_t[i0:i0 + nc], pp) + _paths(rx_t[i0:i0 + nc], pp)  # (n, p)
                ph = -r[:, :, None] * k_t[None, None, :]
                out[p0:p0 + pc] += torch.einsum("nk,npk->p", s[i0:i0 + nc], torch.polar(torch.ones_like(ph), ph))
    else:
        q, r0, dr, kc = image_range_profiles(np.asarray(echo), np.asarray(tx, float), np.asarray(rx, float), k_np,
                                             g.reshape(-1, 3), oversample)
        q_t = torch.as_tensor(q, device=dev).to(torch.complex128)
        nbin = q_t.shape[1]
        nc = max(1, min(n, chunk // max(npix, 1)))
        pc = npix if nc > 1 else max(1, chunk)
        rows = torch.arange(n, device=dev)
        for p0 in range(0, npix, pc):
            pp = pts[p0:p0 + pc]
            for i0 in range(0, n, nc):
                r = _paths(tx_t[i0:i0 + nc], pp) + _paths(rx_t[i0:i0 + nc], pp)
                f = ((r - r0) / dr).clamp(0, nbin - 1.001)
                i = f.floor().long()
                fr = (f - i).to(torch.complex128)
                qq = q_t[i0:i0 + nc]
                v = torch.gather(qq, 1, i) * (1 - fr) + torch.gather(qq, 1, i + 1) * fr
                out[p0:p0 + pc] += (v * torch.polar(torch.ones_like(r), -kc * r)).sum(0)
    return out.to(torch.complex64).cpu().numpy().reshape(g.shape[:-1])
