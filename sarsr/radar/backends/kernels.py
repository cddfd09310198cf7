"""numba kernels behind :mod:`sarsr.radar` (small, isolated, checked against numpy in the tests).

pip builds of numba have no SVML, so ``math.sin``/``math.cos`` do not vectorise. The kernels
use inlined polynomial ``sincos`` approximations with explicit range reduction instead:
``_sincos64`` (abs. error < 1e-11, float64) and ``_sincos32`` (abs. error < 5e-6, float32 lanes),
and loop orders whose inner loop runs over contiguous arrays without branches, so LLVM
emits AVX2/AVX-512 code.

Conventions: positions (m), wavenumbers (rad/m), phases (rad); an echo sample is
``sum_m a_m exp(+j k (R_tx + R_rx))`` and backprojection applies ``exp(-j k (R_tx + R_rx))``.
"""

from __future__ import annotations

import math
import concurrent.futures as cf

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

TWO_PI = 2.0 * math.pi
INV_TWO_PI = 1.0 / TWO_PI
HALF_PI = 0.5 * math.pi
# 2 pi split so that n * _TWO_PI_HI is exact for |n| < 2**13 in float32 arithmetic.
_TWO_PI_HI32 = np.float32(6.28125)
_TWO_PI_LO32 = np.float32(TWO_PI - 6.28125)

# Taylor coefficients on [-pi/2, pi/2] after quadrant folding.
_S64 = (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
        1.0 / 6227020800, -1.0 / 1307674368000)
_C64 = (1.0, -0.5, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600,
        -1.0 / 87178291200, 1.0 / 20922789888000)

_JIT = dict(fastmath=True, cache=True, nogil=True)


@nb.njit(inline="always", **_JIT)
def _legs(x, y, z, t0, t1, t2, r0, r1, r2):
    """The two legs of a bistatic path: distances (m) from the point (x, y, z) to the transmitter
    at (t0, t1, t2) and to the receiver at (r0, r1, r2), ``(R_tx, R_rx)``; every kernel's path
    length R = R_tx + R_rx comes from here (inlined: no call in the hot loops)."""
    a0 = x - t0
    a1 = y - t1
    a2 = z - t2
    b0 = x - r0
    b1 = y - r1
    b2 = z - r2
    return math.sqrt(a0 * a0 + a1 * a1 + a2 * a2), math.sqrt(b0 * b0 + b1 * b1 + b2 * b2)


@nb.njit(inline="always", **_JIT)
def _sincos64(x):
    """(sin x, cos x) for any float64 x; branch-free, vectorisable."""
    n = math.floor(x * INV_TWO_PI + 0.5)
    r = x - n * TWO_PI                      # r in [-pi, pi]
    sign = 1.0
    if r > HALF_PI:
        r = math.pi - r
        sign = -1.0
    elif r < -HALF_PI:
        r = -math.pi - r
        sign = -1.0
    r2 = r * r
    s = _S64[7]
    s = s * r2 + _S64[6]
    s = s * r2 + _S64[5]
    s = s * r2 + _S64[4]
    s = s * r2 + _S64[3]
    s = s * r2 + _S64[2]
    s = s * r2 + _S64[1]
    s = s * r2 + _S64[0]
    c = _C64[8]
    c = c * r2 + _C64[7]
    c = c * r2 + _C64[6]
    c = c * r2 + _C64[5]
    c = c * r2 + _C64[4]
    c = c * r2 + _C64[3]
    c = c * r2 + _C64[2]
    c = c * r2 + _C64[1]
    c = c * r2 + _C64[0]
    return s * r, sign * c


@nb.njit(inline="always", **_JIT)
def _sincos32(x):
    """(sin x, cos x) in float32 for |x| < 5e4; branch-free, vectorisable."""
    n = np.float32(math.floor(x * np.float32(INV_TWO_PI) + np.float32(0.5)))
    r = (x - n * _TWO_PI_HI32) - n * _TWO_PI_LO32
    sign = np.float32(1.0)
    if r > np.float32(HALF_PI):
        r = np.float32(math.pi) - r
        sign = np.float32(-1.0)
    elif r < np.float32(-HALF_PI):
        r = np.float32(-math.pi) - r
        sign = np.float32(-1.0)
    r2 = r * r
    s = np.float32(_S64[4])  # Taylor to r^9 and r^10: truncation < 4e-6 on [-pi/2, pi/2]
    s = s * r2 + np.float32(_S64[3])
    s = s * r2 + np.float32(_S64[2])
    s = s * r2 + np.float32(_S64[1])
    s = s * r2 + np.float32(1.0)
    c = np.float32(_C64[5])
    c = c * r2 + np.float32(_C64[4])
    c = c * r2 + np.float32(_C64[3])
    c = c * r2 + np.float32(_C64[2])
    c = c * r2 + np.float32(_C64[1])
    c = c * r2 + np.float32(1.0)
    return s * r, sign * c


@nb.njit(**_JIT)
def sincos64_array(x):
    """Vectorised :func:`_sincos64` over an array (for tests)."""
    s = np.empty_like(x)
    c = np.empty_like(x)
    for i in range(x.size):
        s[i], c[i] = _sincos64(x[i])
    return s, c


@nb.njit(**_JIT)
def sincos32_array(x):
    """Vectorised :func:`_sincos32` over a float32 array (for tests)."""
    s = np.empty_like(x)
    c = np.empty_like(x)
    for i in range(x.size):
        s[i], c[i] = _sincos32(x[i])
    return s, c


# --------------------------------------------------------------------------- simulation
@nb.njit(parallel=True, **_JIT)
def simulate_uniform_k(tx, rx, px, py, pz, amp, k0, dk, nk, path_loss, out):
    """Echo for uniformly spaced wavenumbers k_i = k0 + i dk, by a phase recurrence.

    tx, rx : (N, 3) float64 channel positions; px, py, pz, amp : (M,) float64 scatterers.
    out : (N, nk) complex64, overwritten. For every (channel, scatterer) pair one base phasor
    exp(j k0 R) and one step exp(j dk R) are computed in float64; the K samples follow by
    complex multiplication, vectorised over scatterers.
    """
    n_ch = tx.shape[0]
    m = px.shape[0]
    for n in nb.prange(n_ch):
        wr = np.empty(m)
        wi = np.empty(m)
        zr = np.empty(m)
        zi = np.empty(m)
        tx0, tx1, tx2 = tx[n, 0], tx[n, 1], tx[n, 2]
        rx0, rx1, rx2 = rx[n, 0], rx[n, 1], rx[n, 2]
        for j in range(m):
            rt, rr = _legs(px[j], py[j], pz[j], tx0, tx1, tx2, rx0, rx1, rx2)
            r = rt + rr
            a = amp[j]
            if path_loss:
                a = a / (rt * rr)
            s0, c0 = _sincos64(k0 * r)
            s1, c1 = _sincos64(dk * r)
            wr[j] = a * c0
            wi[j] = a * s0
            zr[j] = c1
            zi[j] = s1
        for i in range(nk):
            sr = 0.0
            si = 0.0
            for j in range(m):
                xr = wr[j]
                xi = wi[j]
                sr += xr
                si += xi
                wr[j] = xr * zr[j] - xi * zi[j]
                wi[j] = xr * zi[j] + xi * zr[j]
            out[n, i] += sr + 1j * si


@nb.njit(parallel=True, **_JIT)
def simulate_any_k(tx, rx, px, py, pz, amp, k, path_loss, out):
    """Echo for arbitrary (non-uniform) wavenumbers ``k`` (K,): one sincos per term."""
    n_ch = tx.shape[0]
    m = px.shape[0]
    nk = k.shape[0]
    for n in nb.prange(n_ch):
        r = np.empty(m)
        a = np.empty(m)
        for j in range(m):
            rt, rr = _legs(px[j], py[j], pz[j], tx[n, 0], tx[n, 1], tx[n, 2], rx[n, 0], rx[n, 1], rx[n, 2])
            r[j] = rt + rr
            a[j] = amp[j] / (rt * rr) if path_loss else amp[j]
        for i in range(nk):
            sr = 0.0
            si = 0.0
            for j in range(m):
                s, c = _sincos64(k[i] * r[j])
                sr += a[j] * c
                si += a[j] * s
            out[n, i] += sr + 1j * si


# ----------------------------------------------------------------------- backprojection
@nb.njit(parallel=True, **_JIT)
def backproject_exact(echo_re, echo_im, tx, rx, k0, dk, px, py, pz, block, out_re, out_im):
    """Frequency-domain backprojection, float64, uniform k_i = k0 + i dk.

    I(p) = sum_n sum_i s[n, i] exp(-j k_i (R_tx + R_rx)); echo_re/echo_im (N, K) float64;
    px, py, pz (P,) float64 pixels processed in blocks of ``block`` pixels per task.
    """
    n_ch, nk = echo_re.shape
    npix = px.shape[0]
    nblocks = (npix + block - 1) // block
    for b in nb.prange(nblocks):
        p0 = b * block
        p1 = min(p0 + block, npix)
        w = p1 - p0
        acc_r = np.zeros(w)
        acc_i = np.zeros(w)
        ur = np.empty(w)
        ui = np.empty(w)
        zr = np.empty(w)
        zi = np.empty(w)
        qx = px[p0:p1]
        qy = py[p0:p1]
        qz = pz[p0:p1]
        for n in range(n_ch):
            t0, t1, t2 = tx[n, 0], tx[n, 1], tx[n, 2]
            r0, r1, r2 = rx[n, 0], rx[n, 1], rx[n, 2]
            for q in range(w):
                rt, rr = _legs(qx[q], qy[q], qz[q], t0, t1, t2, r0, r1, r2)
                r = rt + rr
                s0, c0 = _sincos64(k0 * r)
                s1, c1 = _sincos64(dk * r)
                ur[q] = c0
                ui[q] = -s0
                zr[q] = c1
                zi[q] = -s1
            for i in range(nk):
                er = echo_re[n, i]
                ei = echo_im[n, i]
                for q in range(w):
                    xr = ur[q]
                    xi = ui[q]
                    acc_r[q] += er * xr - ei * xi
                    acc_i[q] += er * xi + ei * xr
                    ur[q] = xr * zr[q] - xi * zi[q]
                    ui[q] = xr * zi[q] + xi * zr[q]
        for q in range(w):
            out_re[p0 + q] = acc_r[q]
            out_im[p0 + q] = acc_i[q]


@intrinsic
def _opaque_index(typingctx, i):
    """Identity on an int32 through an empty inline-asm statement. LLVM cannot vectorise a loop
    that contains inline asm, so this keeps table lookups as scalar loads (hardware gathers are
    microcoded and ~20 cycles each on AMD Zen; scalar loads issue several per cycle)."""
    if i != types.int32:
        return None
    sig = types.int32(types.int32)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32)])
        return builder.asm(fnty, "", "=r,0", [args[0]], side_effect=False)

    return sig, codegen


# fast-math without ``reassoc``: keeps LLVM from vectorising the table lookups into hardware
# gathers, which are microcoded and ~20 cycles each on AMD Zen; scalar loads are far cheaper.
_JIT_SCALAR = dict(fastmath={"contract", "nnan", "ninf", "nsz", "arcp"}, cache=True, nogil=True)


@nb.njit(inline="always", **_JIT_SCALAR)
def _path_lookup(r, row_start, r_start, inv_dr, kc, hi):
    """For round-trip path ``r`` (m): the range-table index (row starting at ``row_start``) and
    linear weight, and the carrier phasor (cos, sin)(kc r). Shared by the direct and leaf loops."""
    f = min(max((r - r_start) * inv_dr, np.float32(0.0)), hi)
    i0 = np.int32(f)
    s, c = _sincos32(kc * r)
    return np.int32(row_start) + i0, f - np.float32(i0), c, s


@nb.njit(inline="always", **_JIT_SCALAR)
def _bp_paths(x, y, z, tx0, tx1, tx2, rx0, rx1, rx2, m, row0, nbin, r_start, inv_dr, kc, hi,
              idx, frac, cph, sph):
    """Vectorised part for one pixel and m channels (arrays already sliced to the chunk, so the
    loop starts at 0 and LLVM sees consecutive loads): path R = R_tx + R_rx, table index
    (``row0`` = first channel's row) and weight, carrier phasor (cos, sin)(kc R)."""
    for q in range(m):
        rt, rr = _legs(x, y, z, tx0[q], tx1[q], tx2[q], rx0[q], rx1[q], rx2[q])
        r = rt + rr
        idx[q], frac[q], cph[q], sph[q] = _path_lookup(r, (row0 + q) * nbin, r_start, inv_dr, kc, hi)


def pack_profiles(q: np.ndarray) -> np.ndarray:
    """Range profiles Q (N, L) complex as the lookup table of the backprojection kernels:
    (N * L * 4,) float32, bin j of row n holding (Re Q_j, Im Q_j, Re(Q_j+1 - Q_j), Im(Q_j+1 - Q_j))
    so one 16-byte record serves a linear interpolation (last bin's slope 0)."""
    n, nbin = q.shape
    tab = np.zeros((n, nbin, 4), np.float32)
    tab[:, :, 0] = q.real
    tab[:, :, 1] = q.imag
    tab[:, :-1, 2] = np.diff(q.real, axis=1)
    tab[:, :-1, 3] = np.diff(q.imag, axis=1)
    return tab.reshape(-1)




@nb.njit(**_JIT_SCALAR)
def _bp_lookup(tab, idx, frac, vr, vi, m):
    """Scalar part: the packed profiles (:func:`pack_profiles`) linearly interpolated at m
    precomputed (record index, weight) pairs: one 16-byte record per lookup, scalar loads
    (see :func:`_opaque_index`)."""
    for q in range(m):
        j = _opaque_index(idx[q]) * 4
        f = frac[q]
        vr[q] = tab[j] + tab[j + 2] * f
        vi[q] = tab[j + 1] + tab[j + 3] * f


@nb.njit(**_JIT)
def _bp_rotate_sum(vr, vi, cph, sph, m):
    """Vector part: sum over m channels of (vr + j vi) exp(-j kc R), given (cos, sin)(kc R)."""
    ar = np.float32(0.0)
    ai = np.float32(0.0)
    for q in range(m):
        ar += vr[q] * cph[q] + vi[q] * sph[q]
        ai += vi[q] * cph[q] - vr[q] * sph[q]
    return ar, ai


@nb.njit(**_JIT_SCALAR)
def backproject_interp(tab, nbin, tx0, tx1, tx2, rx0, rx1, rx2, r_start, inv_dr, kc,
                       px, py, pz, p0, p1, chunk, out_re, out_im):
    """Range-interpolated backprojection (float32) of pixels p0..p1-1; releases the GIL, so
    callers run disjoint pixel ranges on several threads (see :func:`parallel_blocks`).

    tab : (N * nbin * 4,) float32, the packed baseband range profiles Q_n(R) sampled at
    R_j = r_start + j / inv_dr (round-trip path, m; :func:`pack_profiles`). For each pixel the
    path R = R_tx + R_rx is computed, Q_n is linearly interpolated at R and the carrier
    exp(-j kc R) restored: I(p) = sum_n exp(-j kc R) Q_n(R). Channel coordinates tx0..rx2 (N,)
    float32 (SoA); pixels px, py, pz (P,) float32. Channels are walked in chunks of ``chunk``
    so the chunk's profiles stay in L2 cache; per pixel and chunk three loops: paths, table
    index and carrier (vector), lookups (scalar), rotate-and-sum (vector). (Not a numba
    ``prange``: parfor bodies are compiled with the caller's fast-math flags, which
    re-vectorises the lookups into slow gathers.)
    """
    n_ch = tx0.shape[0]
    hi = np.float32(nbin - 1.001)
    idx = np.empty(chunk, np.int32)
    frac = np.empty(chunk, np.float32)
    cph = np.empty(chunk, np.float32)
    sph = np.empty(chunk, np.float32)
    vr = np.empty(chunk, np.float32)
    vi = np.empty(chunk, np.float32)
    acc_r = np.zeros(p1 - p0, dtype=np.float32)
    acc_i = np.zeros(p1 - p0, dtype=np.float32)
    for n0 in range(0, n_ch, chunk):
        n1 = min(n0 + chunk, n_ch)
        for p in range(p0, p1):
            _bp_paths(px[p], py[p], pz[p], tx0[n0:n1], tx1[n0:n1], tx2[n0:n1], rx0[n0:n1], rx1[n0:n1],
                      rx2[n0:n1], n1 - n0, n0, nbin, r_start, inv_dr, kc, hi, idx, frac, cph, sph)
            _bp_lookup(tab, idx, frac, vr, vi, n1 - n0)
            ar, ai = _bp_rotate_sum(vr, vi, cph, sph, n1 - n0)
            acc_r[p - p0] += ar
            acc_i[p - p0] += ai
    for p in range(p0, p1):
        out_re[p] = acc_r[p - p0]
        out_im[p] = acc_i[p - p0]


def parallel_blocks(fn, n_items: int, block: int, n_threads: int | None = None) -> None:
    """Run ``fn(start, stop)`` over ``[0, n_items)`` in blocks on a thread pool (GIL-free kernels)."""

    n_threads = n_threads or nb.get_num_threads()
    ranges = [(i, min(i + block, n_items)) for i in range(0, n_items, block)]
    if n_threads <= 1 or len(ranges) == 1:
        for a, b in ranges:
            fn(a, b)
        return
    with cf.ThreadPoolExecutor(max_workers=n_threads) as ex:
        for f in [ex.submit(fn, a, b) for a, b in ranges]:
            f.result()


# ------------------------------------------------------------------- Fourier imaging
@nb.njit(parallel=True, **_JIT)
def spectral_focus(spec_re, spec_im, k, kx, ky, depth, out_re, out_im):
    """Sum over wavenumbers of the plane-wave focused spectrum (single depth slice).

    spec_re/spec_im : (K, nfx, nfy) float32 2-D spectra S_k(kx, ky) of the monostatic data;
    out (nfx, nfy) += sum_k S_k exp(-j kz depth), kz = sqrt(4 k^2 - kx^2 - ky^2),
    evanescent components (4 k^2 < kx^2 + ky^2) dropped.
    """
    nk, nfx, nfy = spec_re.shape
    for ix in nb.prange(nfx):
        kx2 = kx[ix] * kx[ix]
        for i in range(nk):
            k4 = 4.0 * k[i] * k[i] - kx2
            for iy in range(nfy):
                q = k4 - ky[iy] * ky[iy]
                valid = q > 0.0
                kz = math.sqrt(q if valid else 0.0)
                s, c = _sincos64(kz * depth)
                m = 1.0 if valid else 0.0
                sr = spec_re[i, ix, iy]
                si = spec_im[i, ix, iy]
                out_re[ix, iy] += m * (sr * c + si * s)
                out_im[ix, iy] += m * (si * c - sr * s)


# ------------------------------------------------------------------- factorized backprojection
@nb.njit(**_JIT)
def _leaf_paths(tx, ty, tz, rx, ry, rz, px, py, pz, row, nbin, r_start, inv_dr, kc, hi, idx, frac, cph, sph):
    """Vectorised over the P points for one channel: path R, table index / weight, carrier."""
    for p in range(px.shape[0]):
        rt, rr = _legs(px[p], py[p], pz[p], tx, ty, tz, rx, ry, rz)
        r = rt + rr
        idx[p], frac[p], cph[p], sph[p] = _path_lookup(r, row * nbin, r_start, inv_dr, kc, hi)


@nb.njit(**_JIT_SCALAR)
def _leaf_accumulate(tab, idx, frac, cph, sph, acc_r, acc_i):
    """Scalar part: one channel's packed profile interpolated at every point, times exp(-j kc R)."""
    for p in range(idx.shape[0]):
        j = _opaque_index(idx[p]) * 4
        f = frac[p]
        vr = tab[j] + tab[j + 2] * f
        vi = tab[j + 1] + tab[j + 3] * f
        acc_r[p] += vr * cph[p] + vi * sph[p]
        acc_i[p] += vi * cph[p] - vr * sph[p]


@nb.njit(**_JIT_SCALAR)
def backproject_leaves(tab, nbin, tx0, tx1, tx2, rx0, rx1, rx2, leaf_start, r_start, inv_dr, kc,
                       px, py, pz, l0, l1, out_re, out_im):
    """Leaf sub-images of factorized backprojection (float32), leaves l0..l1-1; GIL-free.

    Channels are sorted so leaf g owns channels ``leaf_start[g] .. leaf_start[g+1]-1``;
    tab holds their packed baseband range profiles (as :func:`backproject_interp`). For each
    leaf and each of the P points (px, py, pz): ``out[g, p] = sum_n Q_n(R) exp(-j kc R)``,
    R = |tx_n - p| + |rx_n - p|, i.e. the leaf's own (modulated) sub-image. Leaves have few
    channels and many points, so the vector loop runs over points, one channel at a time.
    """
    hi = np.float32(nbin - 1.001)
    n_pts = px.shape[0]
    idx = np.empty(n_pts, np.int32)
    frac = np.empty(n_pts, np.float32)
    cph = np.empty(n_pts, np.float32)
    sph = np.empty(n_pts, np.float32)
    acc_r = np.empty(n_pts, np.float32)
    acc_i = np.empty(n_pts, np.float32)
    for g in range(l0, l1):
        acc_r[:] = 0.0
        acc_i[:] = 0.0
        for n in range(leaf_start[g], leaf_start[g + 1]):
            _leaf_paths(tx0[n], tx1[n], tx2[n], rx0[n], rx1[n], rx2[n], px, py, pz, n, nbin, r_start, inv_dr,
                        kc, hi, idx, frac, cph, sph)
            _leaf_accumulate(tab, idx, frac, cph, sph, acc_r, acc_i)
        out_re[g, :] = acc_r
        out_im[g, :] = acc_i


@nb.njit(parallel=True, **_JIT)
def resample_axis(src, first, weights, out):
    """Sparse interpolation along the middle axis: ``out[b, d, r] = sum_t weights[d, t]
    src[b, first[d] + t, r]`` for src (B, n_src, R) and out (B, n_dst, R) float32 (complex
    data as interleaved pairs in R), first (n_dst,) int64 with ``first[d] + T <= n_src``,
    weights (n_dst, T) float32. Parallel over (b, d); the inner loop runs over contiguous r."""
    n_b, n_dst, n_r = out.shape
    n_t = weights.shape[1]
    for bd in nb.prange(n_b * n_dst):
        b = bd // n_dst
        d = bd - b * n_dst
        row = out[b, d]
        row[:] = 0.0
        f = first[d]
        for t in range(n_t):
            w = weights[d, t]
            s = src[b, f + t]
            for r in range(n_r):
                row[r] += w * s[r]


@nb.njit(parallel=True, **_JIT)
def carrier_swap(img, fx, fy, fz, tx, ty, tz, two_kc):
    """In place: ``img[i, j, l, m] *= exp(j two_kc (|c_to[m] - p| - |c_from[m] - p|))`` with
    p = (x[i], y[j], z[l]); img complex64 (nx, ny, nz, M) with the node axis last. The squared
    per-axis offsets are tables: fx (nx, M) = (x[i] - c_from[m, 0])^2, fy (ny, M), fz (nz, M),
    and tx, ty, tz alike for c_to (float32; all-zero tables and a zero weight drop a term:
    pass zeros). Float32 distances and phase (|phase| < 5e4 rad; error ~1e-4 rad), polynomial
    sincos; the inner loop runs over the nodes."""
    nx, ny, nz, m_count = img.shape
    for i in nb.prange(nx):
        for j in range(ny):
            for l in range(nz):
                for m in range(m_count):
                    ph = two_kc * (math.sqrt(tx[i, m] + ty[j, m] + tz[l, m])
                                   - math.sqrt(fx[i, m] + fy[j, m] + fz[l, m]))
                    s, c = _sincos32(ph)
                    v = img[i, j, l, m]
                    img[i, j, l, m] = complex(v.real * c - v.imag * s, v.real * s + v.imag * c)



@nb.njit(parallel=True, **_JIT)
def window_echo(tx, rx, qpts, val_re, val_im, p, kc, out_re, out_im):
    """Echo of an image window at each channel, relative to a point ``p`` (3,) (m):
    ``out[n] = sum_q I_q exp(+j kc (R_n(q) - R_n(p)))`` with ``R_n(x) = |tx_n - x| + |rx_n - x|``,
    window pixels ``qpts`` (M, 3) (m) with values ``I_q = val_re + j val_im``; ``kc`` (rad/m).
    The adjoint of narrow-band backprojection over the window (exact geometry)."""
    n_ch = tx.shape[0]
    m = qpts.shape[0]
    for n in nb.prange(n_ch):
        t0, t1, t2 = tx[n, 0], tx[n, 1], tx[n, 2]
        r0, r1, r2 = rx[n, 0], rx[n, 1], rx[n, 2]
        pt, pr = _legs(p[0], p[1], p[2], t0, t1, t2, r0, r1, r2)
        rp = pt + pr
        acc_r = 0.0
        acc_i = 0.0
        for j in range(m):
            qt, qr = _legs(qpts[j, 0], qpts[j, 1], qpts[j, 2], t0, t1, t2, r0, r1, r2)
            r = qt + qr
            s, c = _sincos64(kc * (r - rp))
            acc_r += val_re[j] * c - val_im[j] * s
            acc_i += val_re[j] * s + val_im[j] * c
        out_re[n] = acc_r
        out_im[n] = acc_i
