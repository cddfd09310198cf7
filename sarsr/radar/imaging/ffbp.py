"""Factorized (fast) backprojection for near-field multistatic scans on regular grids.

Direct backprojection costs N_channels x N_pixels. The factorized method groups channels by
the position of their virtual element (Tx/Rx midpoint) into a balanced binary tree and forms
*demodulated sub-images*: for a node with centre c,

    B_c(p) = I_c(p) exp(+j kc 2 |c - p|),     I_c(p) = sum_{n in node} sum_i s[n, i] exp(-j k_i R_n(p))

with R_n(p) = |tx_n - p| + |rx_n - p|. Removing the node's own carrier leaves an image whose
spatial bandwidth is about ``2 kc rho / R + (k_max - k_min)`` rad/m (rho: the node's radius,
R: its distance to the image), so a small node's sub-image lives on a coarse grid. Leaves are
backprojected directly onto coarse grids; each level then interpolates the two children onto
the parent's finer grid (separable Lanczos interpolation, one matrix product per axis, batched
over the level's nodes), swaps the carrier reference ``exp(j 2 kc (|c_parent - p| - |c_child - p|))``
and adds. At the top the grid is the output grid and the root's carrier is restored.

Cost: ~ N x P_leaf for the leaves plus ~ log2(N / leaf) levels of interpolation, instead of
N x P. The accuracy / speed trade-off is one parameter, ``subimage_oversample``: how finely
sub-images are sampled relative to their estimated bandwidth (default 2.0 gives a relative
error energy of the magnitude image below -35 dB against ``method="exact"``; 1.5 is faster and
coarser, 3 slower and closer).
"""

from __future__ import annotations

import math

import numpy as np

from ... import _validate as V
from ..backends import kernels
from ..physics.range_compression import image_path_window, range_profiles, validate_backprojection

__all__ = ["ffbp", "regular_axes", "FFBP_LEAF", "FFBP_OVERSAMPLE"]

#: Channels per leaf of the channel tree.
FFBP_LEAF = 64
#: Default sub-image oversampling over the estimated Nyquist rate.
FFBP_OVERSAMPLE = 2.0
#: Working-set size (bytes) of one batch of subtrees / one breadth-first level; bounds memory
#: (an 800 x 800 image from 640,000 channels stays well under 4 GB).
_FFBP_BATCH_BYTES = 512 * 2 ** 20
#: Lanczos interpolation half-width (taps per axis = 2 a).
_LANCZOS_A = 4


def regular_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(x, y, z) axes (m) when ``points`` is a regular Cartesian grid: shape (nx, ny, 3) at one
    depth or (nx, ny, nz, 3), x along axis 0, y along axis 1 (z along axis 2), each axis
    uniformly spaced; else None."""
    g = np.asarray(points, float)
    if g.ndim == 3:
        g = g[:, :, None, :]
    if g.ndim != 4 or g.shape[-1] != 3:
        return None
    x, y, z = g[:, 0, 0, 0], g[0, :, 0, 1], g[0, 0, :, 2]
    grid = np.stack(np.meshgrid(x, y, z, indexing="ij"), -1)
    scale = max(float(np.abs(g).max()), 1e-9)
    if not np.allclose(grid, g, rtol=0, atol=1e-9 * scale):
        return None
    for a in (x, y, z):
        if a.size > 2 and V.uniform_step(a, rtol=1e-6) is None:
            return None
        if a.size > 1 and not np.all(np.diff(a) > 0):
            return None
    return x, y, z


def _tree(v: np.ndarray, leaf: int) -> tuple[np.ndarray, int]:
    """Order channels so that every node of a balanced binary tree of depth L is a contiguous
    range: recursive median splits along the longest extent of the virtual positions ``v``.
    Returns (permutation, L); the nodes at depth d are the 2^d ranges of :func:`_bounds`."""
    n = len(v)
    depth = max(0, math.ceil(math.log2(max(n / leaf, 1.0))))
    depth = min(depth, int(math.floor(math.log2(max(n, 1)))))  # every node keeps >= 1 channel
    order = np.arange(n)
    for level in range(depth):  # all nodes of a level split at once: one lexsort
        starts = _bounds(n, depth, level)
        vv = v[order]
        ext = np.maximum.reduceat(vv, starts[:-1], axis=0) - np.minimum.reduceat(vv, starts[:-1], axis=0)
        node = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        key = vv[np.arange(n), np.argmax(ext, axis=1)[node]]
        order = order[np.lexsort((key, node))]
    return order, depth


def _bounds(n: int, depth: int, level: int) -> np.ndarray:
    """Start indices (2^level + 1,) of the nodes at ``level`` (same splits as :func:`_tree`)."""
    b = [0, n]
    for _ in range(level):
        out = [b[0]]
        for a, c in zip(b[:-1], b[1:]):
            out += [a + (c - a) // 2, c]
        b = out
    return np.asarray(b, np.int64)


def _lanczos_taps(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse interpolation from a uniform axis ``src`` to points ``dst`` (Lanczos kernel,
    half-width a): (first (n_dst,) int64, weights (n_dst, 2a) float32), output d taking
    ``sum_t weights[d, t] src[first[d] + t]``; taps beyond the axis are dropped and each row
    is normalised to sum 1."""
    a = _LANCZOS_A
    if src.size == 1:
        return np.zeros(dst.size, np.int64), np.ones((dst.size, 1), np.float32)
    taps = min(2 * a, src.size)
    h = (src[-1] - src[0]) / (src.size - 1)
    pos = (dst - src[0]) / h
    first = np.clip(np.floor(pos).astype(np.int64) - a + 1, 0, src.size - taps)
    u = pos[:, None] - (first[:, None] + np.arange(taps)[None, :])
    w = np.where(np.abs(u) < a, np.sinc(u) * np.sinc(u / a), 0.0)
    s = w.sum(axis=1, keepdims=True)
    return first, (w / np.where(s == 0, 1.0, s)).astype(np.float32)


def _axis(lo: float, hi: float, out_axis: np.ndarray, spacing: float) -> tuple[np.ndarray, bool]:
    """Sub-image axis covering [lo, hi] at ``spacing`` (padded for the interpolation kernel),
    or the output axis itself once ``spacing`` is not coarser than it. Returns (axis, is_output)."""
    if out_axis.size == 1:
        return out_axis, True
    d_out = (out_axis[-1] - out_axis[0]) / (out_axis.size - 1)
    if spacing <= d_out * 1.0001:
        return out_axis, True
    n = int(math.ceil((hi - lo) / spacing)) + 1
    pad = _LANCZOS_A
    return lo + (np.arange(-pad, n + pad) * ((hi - lo) / max(n - 1, 1))), False


def _node_geometry(v, starts, box_lo, box_hi):
    """Centres (M, 3), radii rho (M,) and nearest image distance (M,) of the nodes whose
    channels are ``v[starts[m]:starts[m+1]]``."""
    lo = np.minimum.reduceat(v, starts[:-1], axis=0)
    hi = np.maximum.reduceat(v, starts[:-1], axis=0)
    c = 0.5 * (lo + hi)
    counts = np.diff(starts)
    d2 = ((v - np.repeat(c, counts, axis=0)) ** 2).sum(axis=1)
    rho = np.sqrt(np.maximum.reduceat(d2, starts[:-1]))
    near = np.clip(c, box_lo, box_hi)
    rmin = np.maximum(np.sqrt(((near - c) ** 2).sum(axis=1)), 1e-3)
    return c, rho, rmin


def _resample(img: np.ndarray, src_axes, dst_axes) -> np.ndarray:
    """Separable Lanczos interpolation of node images (nx, ny, nz, M) complex64 from the grid
    ``src_axes`` to ``dst_axes``, one axis at a time with the sparse kernel
    :func:`kernels.resample_axis` (2a taps per output sample, every node at once)."""
    for i in range(3):
        if src_axes[i].size == dst_axes[i].size and np.array_equal(src_axes[i], dst_axes[i]):
            continue
        first, w = _lanczos_taps(src_axes[i], dst_axes[i])
        shape = img.shape
        lead = int(np.prod(shape[:i], dtype=np.int64))
        src = np.ascontiguousarray(img).reshape(lead, shape[i], -1).view(np.float32)
        out = np.empty((lead, w.shape[0], src.shape[2]), np.float32)
        kernels.resample_axis(src, first, w, out)
        img = out.view(np.complex64).reshape(shape[:i] + (w.shape[0],) + shape[i + 1:])
    return img


def _swap(img: np.ndarray, c_from, c_to, kc: float, axes) -> np.ndarray:
    """In place: multiply node m's image (last axis) by exp(j 2 kc (|c_to[m] - p| - |c_from[m] - p|))
    on the grid ``axes``; a None centre drops its term (demodulate / remodulate only)."""
    m = img.shape[-1]

    def tables(c):
        if c is None:
            return [np.zeros((a.size, m), np.float32) for a in axes]
        c = np.asarray(c, float)
        return [((np.asarray(a, float)[:, None] - c[None, :, i]) ** 2).astype(np.float32) for i, a in enumerate(axes)]

    kernels.carrier_swap(img, *tables(c_from), *tables(c_to), np.float32(2.0 * kc))
    return img


def ffbp(echo, tx, rx, k, grid, *, oversample: int = 8, subimage_oversample: float = FFBP_OVERSAMPLE,
         leaf: int = FFBP_LEAF) -> np.ndarray:
    """Factorized backprojection onto a regular planar grid or 3-D volume.

    Parameters
    ----------
    echo : array_like complex (N, K)
        Dechirped samples; channel n has Tx at ``tx[n]`` and Rx at ``rx[n]``.
    tx, rx : array_like (N, 3)
        Tx/Rx positions (m), any geometry.
    k : array_like (K,)
        Strictly increasing wavenumbers (rad/m).
    grid : array_like (nx, ny, 3) or (nx, ny, nz, 3)
        Regular Cartesian image points (m): x along axis 0, y along axis 1 (z along axis 2),
        each axis uniformly spaced (e.g. ``image_grid(...).points`` or ``volume_points``).
    oversample : int
        Range-profile oversampling (as ``backproject(method="interp")``).
    subimage_oversample : float
        Sampling of the sub-images relative to their estimated bandwidth: the accuracy /
        speed trade-off (>= 1; default 2.0: relative error energy < -35 dB).
    leaf : int
        Channels per leaf.

    Returns
    -------
    ndarray complex64 with the grid's shape (without the last axis): the same image as
    ``backproject`` up to the interpolation error.
    """
    if not subimage_oversample >= 1.0:
        raise ValueError(f"subimage_oversample must be >= 1, got {subimage_oversample!r}")
    if int(leaf) < 1:
        raise ValueError(f"leaf must be >= 1, got {leaf!r}")
    echo, tx, rx, k, g = validate_backprojection(echo, tx, rx, k, grid)
    axes = regular_axes(g)
    if axes is None:
        raise ValueError("method='ffbp' needs a regular Cartesian grid of shape (nx, ny, 3) or (nx, ny, nz, 3) "
                         "with uniformly spaced x, y (and z) axes; use method='interp' for other point sets")
    out_shape = g.shape[:-1]
    pts = g.reshape(-1, 3)
    n = echo.shape[0]
    v = 0.5 * (tx + rx)
    order, depth = _tree(v, int(leaf))
    tx, rx, v = tx[order], rx[order], v[order]  # the echo is gathered per batch (no full copy)
    r_min, r_max = image_path_window(tx, rx, k, pts)
    kc = float(k.mean())
    bk = float(k[-1] - k[0]) if k.size > 1 else 0.0
    box_lo, box_hi = pts.min(axis=0), pts.max(axis=0)

    # every level's node centres and sub-image axes (one sampling per level: its widest node)
    starts, centres, lev_axes = [], [], []
    for level in range(depth + 1):
        st = _bounds(n, depth, level)
        c, rho, rmin = _node_geometry(v, st, box_lo, box_hi)
        bw = 2.0 * kc * float(np.max(rho / rmin)) + bk + 1e-9
        h = math.pi / (bw * subimage_oversample)
        starts.append(st)
        centres.append(c)
        lev_axes.append(tuple(_axis(box_lo[i], box_hi[i], axes[i], h)[0] for i in range(3)))

    def elements(level):  # complex samples of all sub-images of a level
        return float(len(starts[level]) - 1) * np.prod([a.size for a in lev_axes[level]])

    # Levels depth .. top+1 run subtree by subtree (a batch of level-`top` nodes at a time), so
    # the many small leaf images never all exist at once; levels top .. 0 run breadth-first.
    budget = _FFBP_BATCH_BYTES / 8
    top = depth
    while top > 0 and elements(top) > budget:
        top -= 1
    V.check_memory(max(elements(lev) for lev in range(top + 1)) * 8 * 3, "the FFBP sub-images")
    fan = 2 ** (depth - top)  # leaves per level-`top` node
    leaf_px = np.prod([a.size for a in lev_axes[depth]])
    nbin_est = (r_max - r_min) / (2 * np.pi / (oversample * max(bk, 1e-9))) + 8 if k.size > 1 else 8
    per_node = fan * leaf_px * 16 + (starts[top][-1] / max(len(starts[top]) - 1, 1)) * nbin_est * 16
    batch = int(max(1, min(len(starts[top]) - 1, _FFBP_BATCH_BYTES // max(per_node, 1))))
    img_top = np.empty(tuple(a.size for a in lev_axes[top]) + (len(starts[top]) - 1,), np.complex64)
    for j0 in range(0, len(starts[top]) - 1, batch):
        j1 = min(j0 + batch, len(starts[top]) - 1)
        img_top[..., j0:j1] = _subtrees(echo, order, tx, rx, k, starts, centres, lev_axes, depth, top, j0, j1,
                                        r_min, r_max, oversample, kc)

    # merge two children per node, level by level up to the root
    img, ax_child, c_child = img_top, lev_axes[top], centres[top]
    for level in range(top - 1, -1, -1):
        img = _merge(img, ax_child, lev_axes[level], c_child, centres[level], kc)
        ax_child, c_child = lev_axes[level], centres[level]
    img = _resample(img, ax_child, axes)  # the root's grid onto the output grid
    img = _swap(np.ascontiguousarray(img), c_child, None, kc, axes)[..., 0]
    return img.reshape(out_shape).astype(np.complex64)


def _merge(img, ax_child, ax_par, c_child, c_par, kc):
    """One merge level: child images (..., 2 M) -> parent images (..., M): interpolate onto the
    parent grid, swap the carrier reference child -> parent, add the two children."""
    img = _resample(img, ax_child, ax_par)
    _swap(img, c_child, np.repeat(c_par, 2, axis=0), kc, ax_par)
    return np.add(img[..., 0::2], img[..., 1::2])


def _subtrees(echo, order, tx, rx, k, starts, centres, lev_axes, depth, top, j0, j1, r_min, r_max,
              oversample, kc):
    """Images (level-`top` grid + (j1 - j0,)) of level-`top` nodes j0..j1-1: range profiles of
    their channels, leaf sub-images by direct backprojection, demodulation, then merging up."""
    fan = 2 ** (depth - top)
    g0, g1 = j0 * fan, j1 * fan  # their leaves
    st = starts[depth]
    a, b = int(st[g0]), int(st[g1])  # their channels
    q, r0, dr, _ = range_profiles(echo[order[a:b]], k, r_min, r_max, int(oversample))
    f32 = np.float32
    ax = lev_axes[depth]
    sub_pts = np.stack(np.meshgrid(*ax, indexing="ij"), -1).reshape(-1, 3)
    n_leaves = g1 - g0
    out_re = np.empty((n_leaves, sub_pts.shape[0]), f32)
    out_im = np.empty_like(out_re)
    nbin = q.shape[1]
    tab = kernels.pack_profiles(q)
    del q
    chan = [np.ascontiguousarray(p[a:b, i], dtype=f32) for p in (tx, rx) for i in range(3)]
    pix = [np.ascontiguousarray(sub_pts[:, i], dtype=f32) for i in range(3)]
    leaf_start = np.ascontiguousarray(st[g0:g1 + 1] - a)

    def run(l0, l1):
        kernels.backproject_leaves(tab, nbin, *chan, leaf_start, f32(r0),
                                   f32(1.0 / dr), f32(kc), *pix, l0, l1, out_re, out_im)

    kernels.parallel_blocks(run, n_leaves, max(1, n_leaves // 16))
    del tab
    img = np.empty((sub_pts.shape[0], n_leaves), np.complex64)  # node axis last
    img.real = out_re.T
    img.imag = out_im.T
    del out_re, out_im
    img = img.reshape(tuple(a_.size for a_ in ax) + (n_leaves,))
    _swap(img, None, centres[depth][g0:g1], kc, ax)
    for level in range(depth - 1, top - 1, -1):
        span = 2 ** (level - top)
        img = _merge(img, lev_axes[level + 1], lev_axes[level], centres[level + 1][2 * j0 * span:2 * j1 * span],
                     centres[level][j0 * span:j1 * span], kc)
    return img
