"""Autofocus of irregular near-field scans: estimate the smooth error of the measured antenna
positions from the echoes themselves.

A freehand or tracked scan is imaged at *estimated* positions that are off by a smooth field
(drift, tremor): ``estimated = true + e(u, v)``, the same error for the Tx and Rx of one
virtual element at aperture position (u, v). :func:`autofocus` models ``e`` as a tensor
B-spline over the aperture (x, y and z components, a few coefficients per axis) and chooses
the coefficients that make the image sharpest, then images again at ``estimated - e``.

Method (all of it measured in ``docs/autofocus.md``):

1. a first image (backprojection, or the one given) picks the brightest isolated spots;
   small patches of pixels around them are all the optimiser looks at;
2. every channel is range-compressed once (a baseband profile table, as the direct
   backprojection kernel uses), so an image of the patches for any trial positions is one
   pass over (patch pixels x channels), and its exact gradient with respect to every
   channel's displacement is another (:func:`sarsr.radar.kernels.af_image` /
   :func:`~sarsr.radar.kernels.af_gradient`);
3. the focus measure is the normalised fourth moment :func:`sharpness`
   (``sum |I|^4 / (sum |I|^2)^2``, higher is sharper), maximised with L-BFGS over the
   spline coefficients, coarse to fine (2 x 2 nodes, then 4 x 4, then ``nodes``), each
   stage starting from the last one's field;
4. the correction is kept only when the whole image gets sharper (lower entropy,
   :func:`sarsr.metrics.image_entropy`); otherwise the scan comes back unchanged.

Conventions: positions in m, wavenumbers in rad/m; ``error_estimate`` has the sign of the
position error (estimated - true), so corrected positions are ``estimated - error_estimate``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as V
from . import kernels
from .range_compression import image_path_window, range_profiles

__all__ = ["autofocus", "AutofocusResult", "sharpness", "spline_basis", "bright_patches"]


def sharpness(image) -> float:
    """Focus measure: ``sum |I|^4 / (sum |I|^2)^2`` over an image or a set of pixels (any
    shape, complex or magnitude). Scale invariant; higher is sharper (1 for a single bright
    pixel, 1/P for P equal pixels)."""
    p = np.abs(np.asarray(image, np.complex128)) ** 2
    s = p.sum()
    return float((p * p).sum() / (s * s)) if s > 0 else 0.0


@dataclass
class AutofocusResult:
    """What :func:`autofocus` found.

    Attributes
    ----------
    tx, rx : ndarray (N, 3)   corrected positions (m): estimated - error_estimate
    error_estimate : ndarray (N, 3)   estimated position error per channel (m)
    image : ndarray complex64 or None   image on the grid at the corrected positions
        (the uncorrected image when the correction was not kept)
    applied : bool   whether the correction was kept (the image got sharper)
    sharpness_before, sharpness_after : float   :func:`sharpness` of the patches
    entropy_before, entropy_after : float   :func:`sarsr.metrics.image_entropy` of the image
    history : list of float   patch sharpness after each optimiser iteration
    n_patches : int   bright patches used
    time_s : float   wall time (s)
    message : str   why the correction was or was not kept
    """

    tx: np.ndarray
    rx: np.ndarray
    error_estimate: np.ndarray
    image: np.ndarray | None
    applied: bool
    sharpness_before: float
    sharpness_after: float
    entropy_before: float
    entropy_after: float
    history: list = field(default_factory=list)
    n_patches: int = 0
    time_s: float = 0.0
    message: str = ""

    @property
    def rms_m(self) -> np.ndarray:
        """RMS of the estimated error per axis (x, y, z) in m."""
        return np.sqrt(np.mean(self.error_estimate ** 2, axis=0))


def spline_basis(u, n_nodes: int, lo: float, hi: float) -> np.ndarray:
    """Clamped B-spline basis (degree ``min(3, n_nodes - 1)``) with ``n_nodes`` coefficients on
    [lo, hi], evaluated at ``u`` (M,): dense (M, n_nodes); rows sum to 1. One node is a
    constant, two a linear ramp."""
    from scipy.interpolate import BSpline

    u = np.clip(np.asarray(u, float), lo, hi)
    n = int(n_nodes)
    if n < 1:
        raise ValueError(f"spline_basis: n_nodes must be >= 1, got {n_nodes}")
    if n == 1 or hi <= lo:
        return np.ones((u.size, 1))
    deg = min(3, n - 1)
    inner = np.linspace(lo, hi, n - deg + 1)[1:-1]
    t = np.r_[[lo] * (deg + 1), inner, [hi] * (deg + 1)]
    return BSpline.design_matrix(u, t, deg, extrapolate=True).toarray()


def bright_patches(image, points, radius_px: int = 6, max_patches: int = 16, floor: float = 0.2,
                   min_contrast: float = 6.0):
    """Centres of the brightest isolated spots of ``image`` (nx, ny) and the pixel points of a
    square patch around each.

    Parameters
    ----------
    image : (nx, ny) array (magnitude or complex) on grid ``points`` (nx, ny, 3).
    radius_px : patch half-width in pixels (patches are (2 r + 1)^2 pixels).
    max_patches : at most this many patches, brightest first.
    floor : spots below ``floor`` x the image maximum are ignored.
    min_contrast : the maximum must exceed ``min_contrast`` x the median, else the image has
        nothing bright to focus on and no patch is returned.

    Returns (centres (M, 2) int pixel indices, patch points (M * (2r+1)^2, 3)).
    """
    from scipy import ndimage

    a = np.abs(np.asarray(image))
    if a.ndim != 2 or a.shape != points.shape[:2]:
        raise ValueError(f"bright_patches: image {a.shape} does not match the grid {points.shape[:2]}")
    med = float(np.median(a))
    if not np.isfinite(a).all() or a.max() <= 0 or a.max() < min_contrast * max(med, 1e-30):
        return np.zeros((0, 2), int), np.zeros((0, 3))
    r = int(radius_px)
    peak = (a == ndimage.maximum_filter(a, size=2 * r + 1, mode="constant")) & (a >= floor * a.max())
    # stay a patch away from the borders
    peak[:r], peak[-r:], peak[:, :r], peak[:, -r:] = False, False, False, False
    idx = np.argwhere(peak)
    idx = idx[np.argsort(-a[peak])][:max_patches]
    if idx.size == 0:
        return np.zeros((0, 2), int), np.zeros((0, 3))
    off = np.arange(-r, r + 1)
    pts = [points[i - r:i + r + 1, j - r:j + r + 1].reshape(-1, 3) for i, j in idx]
    del off
    return idx, np.concatenate(pts)


def _full_image(echo, tx, rx, k, grid_points, image_fn):
    if image_fn is not None:
        return image_fn(tx, rx)
    from .backprojection import backproject

    return backproject(echo, tx, rx, k, grid_points, method="auto")


def autofocus(echo, tx, rx, k, grid, *, image=None, image_fn=None, nodes: int = 6, axes: str = "xyz",
              max_patches: int = 16, patch_radius_px: int = 6, channel_step: int = 2, max_iter: int = 25,
              regularization: float = 1e-4, oversample: int = 8, keep_if_sharper: bool = True,
              log=None) -> AutofocusResult:
    """Estimate the smooth position error of a scan from its echoes and re-image.

    Parameters
    ----------
    echo : complex (N, K)   dechirped samples; channel n has Tx ``tx[n]`` and Rx ``rx[n]``.
    tx, rx : (N, 3)   *measured* (erroneous) positions (m).
    k : (K,)   wavenumbers (rad/m).
    grid : ImageGrid or (nx, ny, 3) points   the image plane.
    image : (nx, ny) optional   a first image on ``grid`` (default: backprojection).
    image_fn : callable(tx, rx) -> (nx, ny) image, optional   how images are formed (e.g. EMPM
        with the scan's lattice); default backprojection (``method="auto"``).
    nodes : spline coefficients per aperture axis in the last stage (stages 2, 4, ``nodes``).
    axes : which components to estimate ("xyz", "z", "xy", ...).
    max_patches, patch_radius_px : bright patches the focus is measured on.
    channel_step : use every ``channel_step``-th channel while optimising (speed); the field
        is then applied to all channels.
    max_iter : L-BFGS iterations per stage.
    regularization : weight of ``sum c^2 / (1 mm)^2`` (keeps unobservable directions at 0).
    keep_if_sharper : keep the correction only if the image entropy drops.
    log : callable(str), optional   progress messages.

    Returns :class:`AutofocusResult`. Bad input (mismatched shapes, NaN, too few channels)
    raises a one-line ``ValueError``; a scene with nothing bright comes back unchanged with a
    warning.
    """
    from scipy.optimize import minimize

    from ..metrics import image_entropy
    from .grid import ImageGrid

    t0 = time.perf_counter()
    echo, tx, rx, k = V.echo_geometry(echo, tx, rx, k)
    if tx.shape[0] < 16:
        raise ValueError(f"autofocus: needs at least 16 channels to estimate a smooth error, got {tx.shape[0]}")
    pts = grid.points if isinstance(grid, ImageGrid) else V.as_array(grid, "grid", last=3)
    if pts.ndim != 3:
        raise ValueError(f"autofocus: grid must be a plane of points (nx, ny, 3), got {pts.shape}")
    bad = set(axes) - set("xyz")
    if bad or not axes:
        raise ValueError(f"autofocus: axes must be letters of 'xyz', got {axes!r}")
    for name, v in (("nodes", nodes), ("max_patches", max_patches), ("patch_radius_px", patch_radius_px),
                    ("channel_step", channel_step), ("max_iter", max_iter)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"autofocus: {name} must be an integer >= 1, got {v!r}")
    say = log or (lambda *a: None)
    img0 = _full_image(echo, tx, rx, k, pts, image_fn) if image is None else np.asarray(image)
    if img0.shape != pts.shape[:2]:
        raise ValueError(f"autofocus: image {img0.shape} does not match the grid {pts.shape[:2]}")
    ent0 = image_entropy(img0)
    centres, ppts = bright_patches(img0, pts, patch_radius_px, max_patches)
    zero = np.zeros_like(tx)

    def unchanged(msg, hist=()):
        warnings.warn(f"autofocus: {msg}; positions left unchanged", RuntimeWarning, stacklevel=3)
        return AutofocusResult(tx, rx, zero, img0, False, 0.0, 0.0, ent0, ent0, list(hist), len(centres),
                               time.perf_counter() - t0, msg)

    if len(centres) == 0:
        return unchanged("the image has nothing bright to focus on")

    # --- range profiles once, over the patches' path window plus a margin for the corrections
    sub = np.arange(0, tx.shape[0], int(channel_step))
    txs, rxs = np.ascontiguousarray(tx[sub]), np.ascontiguousarray(rx[sub])
    margin = 0.03
    r_min, r_max = image_path_window(txs, rxs, k, ppts)
    q, r0, dr, kc = range_profiles(echo[sub], k, max(r_min - margin, 1e-3), r_max + margin, oversample)
    qre, qim = np.ascontiguousarray(q.real, np.float64), np.ascontiguousarray(q.imag, np.float64)
    ppts = np.ascontiguousarray(ppts, np.float64)
    inv_dr = 1.0 / dr

    # --- smooth field over the aperture (virtual-element positions)
    v = 0.5 * (tx + rx)
    lo, hi = v[:, :2].min(0), v[:, :2].max(0)
    ax_idx = ["xyz".index(a) for a in axes]
    scale = 1e-3  # coefficients in mm

    def patch_image(d_sub):
        ore, oim = np.empty(len(ppts)), np.empty(len(ppts))
        kernels.af_image(qre, qim, r0, inv_dr, kc, txs + d_sub, rxs + d_sub, ppts, ore, oim)
        return ore + 1j * oim

    s_before = sharpness(patch_image(np.zeros_like(txs)))
    history = [s_before]
    field_sub = np.zeros_like(txs)  # current displacement d = -error of the used channels
    stages = sorted({min(2, nodes), min(4, nodes), int(nodes)})
    best_s = s_before
    for m in stages:
        bu = spline_basis(v[sub, 0], m, lo[0], hi[0])
        bv = spline_basis(v[sub, 1], m, lo[1], hi[1])
        design = (bu[:, :, None] * bv[:, None, :]).reshape(len(sub), m * m)  # (Ns, m^2)
        # start from the previous stage's field, projected on the new basis
        c0 = np.linalg.lstsq(design, field_sub[:, ax_idx] / scale, rcond=None)[0].T.reshape(-1)

        def fun(c):
            C = c.reshape(len(ax_idx), m * m)
            d = np.zeros_like(txs)
            d[:, ax_idx] = (design @ C.T) * scale
            I = patch_image(d)
            p2 = np.abs(I) ** 2
            A, B = float((p2 * p2).sum()), float(p2.sum())
            if B <= 0:
                return 0.0, np.zeros_like(c)
            S = A / (B * B)
            G = 4.0 * I * (p2 / (B * B) - A / B ** 3)  # dS = sum Re(conj(G) dI)
            grad_d = np.empty_like(txs)
            kernels.af_gradient(qre, qim, r0, inv_dr, kc, txs + d, rxs + d, ppts, G.real.copy(), G.imag.copy(),
                                grad_d)
            # minimise -log S + reg |c|^2
            gc = -(design.T @ grad_d[:, ax_idx]).T * scale / S
            f = -np.log(S) + regularization * float(c @ c)
            return f, gc.reshape(-1) + 2 * regularization * c

        def record(c):
            f, _ = fun(c)
            history.append(float(np.exp(-(f - regularization * float(c @ c)))))

        res = minimize(fun, c0, jac=True, method="L-BFGS-B", callback=record,
                       options=dict(maxiter=int(max_iter), gtol=1e-6))
        C = res.x.reshape(len(ax_idx), m * m)
        cand = np.zeros_like(txs)
        cand[:, ax_idx] = (design @ C.T) * scale
        s_cand = sharpness(patch_image(cand))
        say(f"autofocus stage {m}x{m}: patch sharpness {s_before:.4g} -> {s_cand:.4g} ({res.nit} iterations)")
        if s_cand > best_s:
            best_s, field_sub = s_cand, cand
            best = (m, C)
    if best_s <= s_before:
        return unchanged("no correction sharpened the bright patches", history)
    m, C = best
    full = np.zeros_like(tx)
    bu = spline_basis(v[:, 0], m, lo[0], hi[0])
    bv = spline_basis(v[:, 1], m, lo[1], hi[1])
    full[:, ax_idx] = ((bu[:, :, None] * bv[:, None, :]).reshape(len(v), m * m) @ C.T) * scale
    tx_c, rx_c = tx + full, rx + full
    img1 = _full_image(echo, tx_c, rx_c, k, pts, image_fn)
    ent1 = image_entropy(img1)
    if keep_if_sharper and not ent1 < ent0:
        r = unchanged(f"the corrected image is not sharper (entropy {ent0:.4f} -> {ent1:.4f})", history)
        r.sharpness_before, r.sharpness_after, r.entropy_after = s_before, best_s, ent1
        return r
    return AutofocusResult(tx_c, rx_c, -full, img1, True, s_before, best_s, ent0, ent1, history, len(centres),
                           time.perf_counter() - t0,
                           f"kept: patch sharpness {s_before:.4g} -> {best_s:.4g}, entropy {ent0:.4f} -> {ent1:.4f}")
