"""torch implementations of :func:`simulate_echo` and :func:`backproject` (CUDA when available).

Same definitions as the numba kernels; distances and phases are computed in float64 so the
results agree with the CPU kernels to float32 precision (tested on CPU). Work is chunked so
intermediates stay below :func:`chunk_elements` complex values: ``CHUNK_ELEMENTS`` on the CPU,
on a GPU a share of its free memory (large chunks keep a data-centre GPU busy, small ones keep a
small GPU from running out of memory).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ..physics.range_compression import image_path_window, range_profile_basis

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


def _dist(a, pts):
    """|a_n - p_m| (N, M) from coordinate columns, no (N, M, 3) intermediate (fuses well)."""
    dx = a[:, 0:1] - pts[None, :, 0]
    dy = a[:, 1:2] - pts[None, :, 1]
    dz = a[:, 2:3] - pts[None, :, 2]
    return torch.sqrt(dx * dx + dy * dy + dz * dz)


def _wrap(phase):
    """float64 phase (rad) reduced to [-pi, pi] and cast to float32, so cos / sin run in float32
    (fast on a GPU) with float64 accuracy of the argument (error < 1e-6 rad)."""
    return (phase - (2 * math.pi) * torch.round(phase * (1 / (2 * math.pi)))).to(torch.float32)


def _simulate_chunk(tx, rx, pts, amp, k, path_loss: bool):
    """Echo (re, im), each (n, K) float64, of scatterers ``pts`` (m, 3) with amplitudes ``amp``
    (m,) at channels tx / rx (n, 3), wavenumbers k (K,): ``sum_m w_nm exp(j k (rt + rr))``.
    Real arithmetic only, so torch.compile fuses it into one reduction kernel."""
    rt, rr = _dist(tx, pts), _dist(rx, pts)
    w = amp[None, :] / (rt * rr) if path_loss else amp[None, :].expand_as(rt)
    ph = _wrap((rt + rr)[:, :, None] * k[None, None, :])
    w32 = w.to(torch.float32)[:, :, None]
    re = (w32 * torch.cos(ph)).sum(1, dtype=torch.float64)
    im = (w32 * torch.sin(ph)).sum(1, dtype=torch.float64)
    return re, im


def _backproject_interp_chunk(q_re, q_im, tx, rx, pts, r0: float, dr: float, kc: float):
    """Backprojection (re, im), each (p,) float64, of range profiles q (n, L) (float32 re / im)
    at image points ``pts`` (p, 3): ``sum_n Q_n(R) exp(-j kc R)``, R = |tx - p| + |rx - p|,
    Q linearly interpolated between its bins ``r0 + l dr``. Real arithmetic only (fuses). The
    geometry (tx, rx, pts) may be float64 or float32 (the GPU's choice)."""
    nbin = q_re.shape[1]
    r = _dist(tx, pts) + _dist(rx, pts)  # (n, p) float64
    f = ((r - r0) * (1.0 / dr)).clamp(0, nbin - 1.001)
    i0 = f.floor()
    fr = (f - i0).to(torch.float32)
    idx = i0.long() + (torch.arange(q_re.shape[0], device=q_re.device) * nbin)[:, None]
    qr, qi = q_re.reshape(-1), q_im.reshape(-1)
    a_re, a_im = qr[idx], qi[idx]
    v_re = a_re + (qr[idx + 1] - a_re) * fr
    v_im = a_im + (qi[idx + 1] - a_im) * fr
    ph = _wrap(-kc * r)
    c, s = torch.cos(ph), torch.sin(ph)
    return (v_re * c - v_im * s).sum(0, dtype=torch.float64), (v_re * s + v_im * c).sum(0, dtype=torch.float64)


_COMPILED: dict = {}


def _kernel(fn, dev):
    """``fn`` compiled with torch.compile on CUDA (one fused kernel per chunk instead of a dozen
    memory-bound passes), else ``fn`` itself. A compile failure falls back to ``fn`` with a
    warning: the results are the same, only slower."""
    if getattr(dev, "type", str(dev)) != "cuda":
        return fn
    if fn not in _COMPILED:
        compiled = torch.compile(fn, dynamic=True)
        failed = False

        def run(*args):
            nonlocal failed
            if failed:
                return fn(*args)
            try:
                return compiled(*args)
            except Exception as exc:  # noqa: BLE001 - an inductor / Triton failure must never stop imaging
                warnings.warn(f"torch.compile of {fn.__name__} failed ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:160]}); running it uncompiled", RuntimeWarning)
                failed = True
                return fn(*args)

        _COMPILED[fn] = run
    return _COMPILED[fn]


def simulate_echo_torch(tx, rx, k, points, amplitudes, *, path_loss=False, device=None) -> np.ndarray:
    dev = _device(device)
    f64 = torch.float64
    tx_t = torch.as_tensor(tx, dtype=f64, device=dev)
    rx_t = torch.as_tensor(rx, dtype=f64, device=dev)
    k_t = torch.as_tensor(k, dtype=f64, device=dev)
    p_t = torch.as_tensor(points, dtype=f64, device=dev)
    a_t = torch.as_tensor(amplitudes, dtype=f64, device=dev)
    n, m, nk = tx_t.shape[0], p_t.shape[0], k_t.shape[0]
    re = torch.zeros((n, nk), dtype=f64, device=dev)
    im = torch.zeros((n, nk), dtype=f64, device=dev)
    chunk = chunk_elements(dev)
    mc = max(1, min(m, chunk // max(nk, 1)))
    nc = max(1, chunk // (mc * nk))
    kern = _kernel(_simulate_chunk, dev)
    for j0 in range(0, m, mc):
        pj, aj = p_t[j0:j0 + mc], a_t[j0:j0 + mc]
        for i0 in range(0, n, nc):
            dre, dim = kern(tx_t[i0:i0 + nc], rx_t[i0:i0 + nc], pj, aj, k_t, bool(path_loss))
            re[i0:i0 + nc] += dre
            im[i0:i0 + nc] += dim
    return torch.complex(re, im).to(torch.complex64).cpu().numpy()


def _range_profiles_torch(s, k, r_min, r_max, oversample, dev):
    """:func:`~sarsr.radar.physics.range_compression.range_profiles` on ``dev``: the (K, L) basis from
    numpy, the (N, K) x (K, L) product on the device. Returns (re, im) float32 (N, L), r0, dr, kc."""
    e, r0, dr, kc = range_profile_basis(k, r_min, r_max, oversample, n_channels=s.shape[0])
    q = s.to(torch.complex64) @ torch.as_tensor(e, device=dev)
    return q.real.contiguous(), q.imag.contiguous(), r0, dr, kc


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
                r = _dist(tx_t[i0:i0 + nc], pp) + _dist(rx_t[i0:i0 + nc], pp)  # (n, p)
                ph = -r[:, :, None] * k_t[None, None, :]
                out[p0:p0 + pc] += torch.einsum("nk,npk->p", s[i0:i0 + nc], torch.polar(torch.ones_like(ph), ph))
    else:
        r_min, r_max = image_path_window(np.asarray(tx, float), np.asarray(rx, float), k_np, g.reshape(-1, 3))
        q_re, q_im, r0, dr, kc = _range_profiles_torch(s, k_np, r_min, r_max, int(oversample), dev)
        nbin = q_re.shape[1]
        nc = max(1, min(n, chunk // max(npix, 1)))
        pc = npix if nc > 1 else max(1, chunk)
        kern = _kernel(_backproject_interp_chunk, dev)
        # float32 geometry on a GPU (fp64 is its slow path): the image differs from float64 geometry
        # by ~1e-5 relative, below the complex64 range profiles' own rounding (tested on CPU)
        ct = torch.float32 if dev.type == "cuda" else f64
        tx_c, rx_c, pts_c = tx_t.to(ct), rx_t.to(ct), pts.to(ct)
        re = torch.zeros(npix, dtype=f64, device=dev)
        im = torch.zeros(npix, dtype=f64, device=dev)
        for p0 in range(0, npix, pc):
            pp = pts_c[p0:p0 + pc]
            for i0 in range(0, n, nc):
                dre, dim = kern(q_re[i0:i0 + nc], q_im[i0:i0 + nc], tx_c[i0:i0 + nc], rx_c[i0:i0 + nc], pp,
                                r0, dr, kc)
                re[p0:p0 + pc] += dre
                im[p0:p0 + pc] += dim
        out = torch.complex(re, im)
    return out.to(torch.complex64).cpu().numpy().reshape(g.shape[:-1])
