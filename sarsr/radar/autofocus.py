"""Autofocus of freehand (lattice-ordered) scans: estimate the smooth error of the measured
antenna positions from the echoes themselves, then image again.

A freehand scan is imaged at *estimated* positions that are off by a smooth field (tracking
drift, tremor): ``estimated = true + e(u, v)``, one error for the Tx and Rx of the virtual
element at aperture position (u, v). :func:`autofocus` models ``e`` as a tensor B-spline
over the aperture (``nodes`` x ``nodes`` coefficients per estimated axis) and picks the
coefficients that make the image sharpest (minimum entropy), through a differentiable copy of
the EMPM imager:

- a depth error ``e_z`` changes every sample's phase by ``2 k e_z`` (EMPM's multi-planar term,
  exact at normal incidence);
- a lateral error moves the sample off its lattice node; the data are resampled onto the
  lattice (backward warping, :func:`sarsr.radar.imaging.fourier.lateral_regrid_matrix`; bicubic in the
  differentiable copy), which is what makes lateral errors visible to a focus measure at all:
  plain EMPM places every sample on its nominal node and ignores lateral positions;
- per wavenumber a 2-D FFT and plane-wave focusing to the image depth, summed over a subset
  of wavenumbers (``k_step``) on an ``nfft`` grid; the image entropy over the scene region is
  minimised with L-BFGS (gradients by torch autograd), from a start that needs no optimiser
  (default: a two-dimensional phase-gradient estimate of the depth error,
  :func:`phase_gradient_depth_error`, then one stage of ``nodes`` coefficients per axis) or
  from zero coarse to fine (2, 4, ``nodes``), each stage starting from the last.

The correction is kept only if the full EMPM image at the corrected positions has a lower
entropy (:func:`sarsr.metrics.image_entropy`) than the uncorrected one; otherwise the scan comes
back unchanged. Measured in ``docs/autofocus.md``.

Conventions: positions in m, wavenumbers in rad/m; ``error_estimate`` has the sign of the
position error (estimated - true), so corrected positions are ``estimated - error_estimate``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as V
from .imaging.fourier import _lattice_axes, check_lattice_shape, empm
from .imaging.backprojection import backproject
from .backends.kernels import window_echo
from ..metrics import image_entropy
from .geometry.grid import ImageGrid

__all__ = ["autofocus", "AutofocusResult", "spline_basis", "phase_gradient_depth_error",
           "exact_phase_gradient_depth_error", "remove_plane", "focus_nfft"]


@dataclass
class AutofocusResult:
    """What :func:`autofocus` found.

    Attributes
    ----------
    tx, rx : ndarray (N, 3)   corrected positions (m): estimated - error_estimate
    error_estimate : ndarray (N, 3)   estimated position error per channel (m)
    image : ndarray complex64 (nx, ny)   EMPM image at the corrected positions (the
        uncorrected image when the correction was not kept)
    applied : bool   whether the correction was kept (the image got sharper)
    entropy_before, entropy_after : float   image entropy (lower is sharper)
    history : list of float   entropy of the optimiser's image after each iteration
    time_s : float   wall time (s)
    lateral : str   the EMPM ``lateral`` mode that forms ``image`` ("regrid" when x/y were
        estimated)
    message : str   why the correction was or was not kept
    """

    tx: np.ndarray
    rx: np.ndarray
    error_estimate: np.ndarray
    image: np.ndarray
    applied: bool
    entropy_before: float
    entropy_after: float
    history: list = field(default_factory=list)
    time_s: float = 0.0
    lateral: str = "ignore"
    message: str = ""

    @property
    def rms_m(self) -> np.ndarray:
        """RMS of the estimated error per axis (x, y, z), m."""
        return np.sqrt(np.mean(self.error_estimate ** 2, axis=0))


def spline_basis(u, n_nodes: int, lo: float, hi: float) -> np.ndarray:
    """Clamped B-spline basis (degree ``min(3, n_nodes - 1)``) with ``n_nodes`` coefficients on
    [lo, hi] (m), evaluated at ``u`` (M,): dense (M, n_nodes), rows summing to 1. One node is a
    constant, two a linear ramp."""
    from scipy.interpolate import BSpline

    n = int(n_nodes)
    if n < 1:
        raise ValueError(f"spline_basis: n_nodes must be >= 1, got {n_nodes}")
    u = np.clip(np.asarray(u, float), lo, hi)
    if n == 1 or hi <= lo:
        return np.ones((u.size, 1))
    deg = min(3, n - 1)
    inner = np.linspace(lo, hi, n - deg + 1)[1:-1]
    t = np.r_[[lo] * (deg + 1), inner, [hi] * (deg + 1)]
    return BSpline.design_matrix(u, t, deg, extrapolate=True).toarray()


def _empm_setup(echo, tx, rx, k, k_index: slice, pts, lattice_shape, nfft) -> dict:
    """What a torch copy of EMPM needs for one scan on the wavenumbers ``ks = k[k_index]`` (rad/m):
    the fitted lattice (``x0``, ``dx``, ``y0``, ``dy``, m), virtual positions ``v`` (N, 3),
    ``depth`` (m) and its ``sign``, the echo with EMPM's bistatic and multi-planar phase removed
    ``s0`` (Ks, nx, ny), the plane-wave focusing filter ``filt`` (Ks, nfft, nfft; it also moves
    the image so that the scene is centred in it) and the scene region ``ri``, ``rj`` (index
    ranges of the fftshifted image, where index i is x0_img + (i - nfft // 2) dx)."""

    nx, ny = lattice_shape
    v = 0.5 * (tx + rx)
    (x0, dx), (y0, dy) = _lattice_axes(v.reshape(nx, ny, 3))
    z_ref = float(v[:, 2].mean())
    depth = float(pts[..., 2].reshape(-1)[0]) - z_ref
    if abs(depth) < 1e-6:
        raise ValueError("autofocus: the image plane coincides with the scan plane")
    sign = float(np.sign(depth))
    ks = k[k_index]
    sep = tx - rx
    beta = (sep[:, 0] ** 2 + sep[:, 1] ** 2) / (4.0 * abs(depth)) - 2.0 * (v[:, 2] - z_ref) * sign
    s0 = np.moveaxis((echo[:, k_index] * np.exp(-1j * np.outer(beta, ks))).reshape(nx, ny, -1), -1, 0)
    kx = 2 * np.pi * np.fft.fftfreq(nfft, dx)
    ky = 2 * np.pi * np.fft.fftfreq(nfft, dy)
    q = 4 * ks[:, None, None] ** 2 - kx[None, :, None] ** 2 - ky[None, None, :] ** 2
    xs, ys = pts[..., 0], pts[..., 1]
    # the FFT image is circular with period nfft steps from the lattice's first node; moving it
    # by (mx, my) steps puts the scene's centre at the middle of the fftshifted image, so that
    # a scene up to nfft steps wide lies inside it (without this, a scene centred on the
    # lattice was cut off beyond nfft / 2 - nx / 2 steps from its centre)
    mx = int(round((0.5 * (xs.min() + xs.max()) - x0) / dx))
    my = int(round((0.5 * (ys.min() + ys.max()) - y0) / dy))
    filt = np.where(q > 0, np.exp(-1j * np.sqrt(np.maximum(q, 0)) * depth), 0) \
        * np.exp(1j * (kx[:, None] * (mx * dx) + ky[None, :] * (my * dy)))[None]
    x0_img, y0_img = x0 + mx * dx, y0 + my * dy
    ri = (max(0, int(np.floor((xs.min() - x0_img) / dx)) + nfft // 2),
          min(nfft, int(np.ceil((xs.max() - x0_img) / dx)) + nfft // 2 + 1))
    rj = (max(0, int(np.floor((ys.min() - y0_img) / dy)) + nfft // 2),
          min(nfft, int(np.ceil((ys.max() - y0_img) / dy)) + nfft // 2 + 1))
    return dict(x0=x0, dx=dx, y0=y0, dy=dy, x0_img=x0_img, y0_img=y0_img, v=v, depth=depth, sign=sign, ks=ks,
                s0=s0, filt=filt, ri=ri, rj=rj)


class _FocusModel:
    """Differentiable EMPM (torch, CPU or CUDA) of one scan on a subset of wavenumbers, as a
    function of a position-error field; returns the entropy of the scene region."""

    def __init__(self, echo, tx, rx, k, pts, lattice_shape, k_step, nfft, device):
        import torch

        nx, ny = lattice_shape
        self.nx, self.ny = nx, ny
        d = _empm_setup(echo, tx, rx, k, slice(None, None, k_step), pts, lattice_shape, nfft)
        x0, dx, y0, dy, v = d["x0"], d["dx"], d["y0"], d["dy"], d["v"]
        self.dx, self.dy = dx, dy
        self.sign, self.ri, self.rj = d["sign"], d["ri"], d["rj"]
        ks, s0, filt = d["ks"], d["s0"], d["filt"]
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        dev_x = (v[:, 0].reshape(nx, ny) - (x0 + ii * dx)) / dx
        dev_y = (v[:, 1].reshape(nx, ny) - (y0 + jj * dy)) / dy
        t = lambda a, dt=torch.float32: torch.as_tensor(np.ascontiguousarray(a), dtype=dt, device=device)  # noqa: E731
        self.torch = torch
        self.s0 = t(s0, torch.complex64)
        self.ks = t(ks)
        self.filt = t(filt, torch.complex64)
        self.dev_x, self.dev_y = t(dev_x), t(dev_y)
        self.gi, self.gj = t(ii), t(jj)
        self.nfft = nfft
        self.regrid = False  # resample laterally (set when x / y are estimated)
        self.power = 2.0  # entropy of |I|^power
        self.floor = 0.0  # pixels below floor x the maximum are left out of the entropy

    def entropy(self, e):
        """``e`` (nx, ny, 3) torch: position error field (m). Returns the entropy (torch scalar)."""
        torch = self.torch
        F = torch.nn.functional
        s = self.s0 * torch.exp(-1j * (2.0 * self.sign) * e[None, :, :, 2] * self.ks[:, None, None])
        if self.regrid:
            # where each sample really lies (lattice steps from its node), corrected by e
            fi = self.gi - (self.dev_x - e[..., 0] / self.dx)
            fj = self.gj - (self.dev_y - e[..., 1] / self.dy)
            grid = torch.stack([2 * fj / max(self.ny - 1, 1) - 1, 2 * fi / max(self.nx - 1, 1) - 1], -1)[None]
            ri = torch.cat([s.real, s.imag])[None]
            out = F.grid_sample(ri, grid, mode="bicubic", padding_mode="zeros", align_corners=True)[0]
            ks = s.shape[0]
            s = torch.complex(out[:ks], out[ks:])
        spec = (torch.fft.fft2(s, s=(self.nfft, self.nfft)) * self.filt).sum(0)
        img = torch.fft.fftshift(torch.fft.ifft2(spec))
        p = img[self.ri[0]:self.ri[1], self.rj[0]:self.rj[1]].abs() ** self.power
        if self.floor > 0:
            p = p * (p >= p.max().detach() * self.floor ** self.power)
        p = p / p.sum()
        return -(p * torch.log(p + 1e-30)).sum()


def _phase_gradient_rounds(image, target_gradients, zeros, lattice_shape, radii, targets, min_coherence,
                           nodes) -> np.ndarray:
    """The rounds shared by the phase-gradient estimators: aperture phase error (rad) (nx, ny).

    ``image(phi)`` -> (context, magnitude (H, W), entropy) of the image at phase error ``phi``;
    ``target_gradients(context, i, j, r)`` -> (K, nx, ny) complex: the echo of the target at
    pixel (i, j) cut out with a disc of ``r`` pixels, times the conjugate echo of an ideal point
    there (K = wavenumbers summed over; 1 where one centre wavenumber is used); ``zeros(shape)``
    a complex accumulator of the same array type (numpy or torch). Each round: up to
    ``targets`` bright maxima ``r`` apart, coherence-gated (``|sum| / sum|.| >=
    min_coherence``), their ramps (sub-pixel offsets) removed, phase differences weighted by
    coherence, integrated by ridge least squares onto a ``nodes`` x ``nodes`` B-spline; a step
    is kept only if the image gets sharper, else halved."""
    from scipy import ndimage

    nx, ny = lattice_shape
    m = int(nodes)
    basis = (spline_basis(np.arange(nx), m, 0, nx - 1)[:, None, :, None]
             * spline_basis(np.arange(ny), m, 0, ny - 1)[None, :, None, :]).reshape(nx, ny, m * m)
    gx_rows = (basis[1:] - basis[:-1]).reshape(-1, m * m)
    gy_rows = (basis[:, 1:] - basis[:, :-1]).reshape(-1, m * m)
    phi = np.zeros((nx, ny))
    # each round's step is kept only if the image gets sharper (entropy of |I|); a step that
    # does not is halved and tried again, so one bad round cannot run the estimate away
    best_phi, best_h, scale, step = phi, np.inf, 1.0, None
    for r in radii:
        ctx, mag, h = image(phi)
        if h < best_h:
            best_phi, best_h = phi, h
        else:
            scale *= 0.5
            phi = best_phi + scale * step
            continue
        top = float(mag.max())
        if top <= 0:
            break
        peaks = (mag == ndimage.maximum_filter(mag, 2 * int(r) + 1)) & (mag >= 0.2 * top)
        cand = np.argwhere(peaks)
        cand = cand[np.argsort(-mag[peaks])][:int(targets)]
        num_x, num_y = zeros((nx - 1, ny)), zeros((nx, ny - 1))
        for pi, pj in cand:
            z = target_gradients(ctx, pi, pj, r)
            zx = (z[:, 1:] * z[:, :-1].conj()).sum(0)
            zy = (z[:, :, 1:] * z[:, :, :-1].conj()).sum(0)
            ax, ay = zx.sum(), zy.sum()
            total = float(abs(zx).sum() + abs(zy).sum())
            coh = float(abs(ax) + abs(ay)) / total if total > 0 else 0.0
            if coh < min_coherence:
                continue
            w = coh ** 2 / total
            num_x += zx * (ax.conj() / abs(ax)) * w  # the target's ramp (sub-pixel offset) removed
            num_y += zy * (ay.conj() / abs(ay)) * w
        nxn, nyn = _to_numpy(num_x).ravel(), _to_numpy(num_y).ravel()
        if not (np.abs(nxn).sum() > 0 and np.abs(nyn).sum() > 0):
            break
        wx, wy = np.sqrt(np.abs(nxn)), np.sqrt(np.abs(nyn))
        lhs = np.vstack([gx_rows * wx[:, None], gy_rows * wy[:, None]])
        rhs = np.r_[np.angle(nxn) * wx, np.angle(nyn) * wy]
        # ridge: coefficients no target constrains stay at zero instead of drifting
        gram = lhs.T @ lhs
        c = np.linalg.solve(gram + 1e-3 * np.trace(gram) / len(gram) * np.eye(len(gram)), lhs.T @ rhs)
        step = (basis.reshape(-1, m * m) @ c).reshape(nx, ny)
        step -= step.mean()
        phi = best_phi + scale * step
    if phi is not best_phi and not image(phi)[2] < best_h:
        phi = best_phi
    return phi


def _to_numpy(a) -> np.ndarray:
    return a.cpu().numpy() if hasattr(a, "cpu") else np.asarray(a)


def phase_gradient_depth_error(echo, tx, rx, k, pts, lattice_shape, *, k_step: int = 8, nfft: int = 256,
                               radii=(32, 32, 24, 24, 20, 16, 16, 12, 12, 8, 8), targets: int = 30,
                               min_coherence: float = 0.5,
                               nodes: int = 8, device=None) -> np.ndarray:
    """Depth error of a lattice scan by a two-dimensional phase-gradient estimate (PGA-like).

    Each round: the image (every ``k_step``-th wavenumber, ``nfft``^2 EMPM grid) at the current
    estimate; up to ``targets`` bright local maxima at least ``radius`` pixels apart; for each,
    the image in a disc of ``radius`` pixels propagated back to the aperture (the echo of that
    target alone) times the conjugate echo of an ideal point at the target's pixel: its phase
    is the aperture's phase error plus a ramp (the target's sub-pixel offset, removed). Targets
    whose aperture phase differences are not coherent (``|sum| / sum|.| < min_coherence``:
    extended or overlapping reflectors) are skipped; the others' phase differences are summed
    (weighted by coherence), integrated by least squares onto a ``nodes`` x ``nodes`` B-spline
    field, and added to the estimate, if the image (entropy of ``|I|``) gets sharper; a step that
    does not is halved. The disc shrinks over the rounds (``radii``, pixels): it must hold the
    defocused target at first (a depth error of ~0.6 mm spreads a point over ~20 mm), so the
    rounds start wide.

    Returns the depth error per sample (N,), m, with the sign of the position error
    (measured - true), zero mean. The start of :func:`autofocus` (``start="pga"``): alone it
    removes most of the error on some scans and little on others (docs/autofocus.md), so the
    entropy stage refines it and it is used only where it sharpens the image.
    """
    import torch

    nx, ny = lattice_shape
    dev = torch.device(device or "cpu")
    d = _empm_setup(echo, tx, rx, k, slice(k_step // 2, None, k_step), pts, lattice_shape, nfft)
    x0, dx, y0, dy, depth, sign, ks, ri, rj = (d[key] for key in ("x0", "dx", "y0", "dy", "depth", "sign", "ks",
                                                                   "ri", "rj"))
    kc = float(np.mean(k))
    c64 = torch.complex64
    H = torch.as_tensor(d["filt"], dtype=c64, device=dev)
    X, Y = x0 + np.arange(nx) * dx, y0 + np.arange(ny) * dy
    st = torch.as_tensor(d["s0"], dtype=c64, device=dev)
    ks_t = torch.as_tensor(ks, dtype=torch.float64, device=dev)
    ii, jj = np.meshgrid(np.arange(nfft), np.arange(nfft), indexing="ij")
    scene = np.zeros((nfft, nfft), bool)
    scene[ri[0]:ri[1], rj[0]:rj[1]] = True

    def image(phase):
        ph = torch.as_tensor(phase, dtype=torch.float64, device=dev)
        corr = torch.exp(-1j * ph[None] * (ks_t[:, None, None] / kc)).to(c64)
        ik = torch.fft.fftshift(torch.fft.ifft2(torch.fft.fft2(st * corr, s=(nfft, nfft)) * H), dim=(-2, -1))
        mg = np.where(scene, ik.abs().pow(2).sum(0).sqrt().cpu().numpy(), 0.0)
        p = mg[scene] / max(float(mg.sum()), 1e-300)
        return ik, mg, float(-(p * np.log(p + 1e-30)).sum())

    def target_gradients(Ik, pi, pj, r):
        disc = torch.as_tensor((ii - pi) ** 2 + (jj - pj) ** 2 <= r * r, dtype=torch.float32, device=dev)
        alone = torch.fft.ifft2(torch.fft.fft2(torch.fft.ifftshift(Ik * disc, dim=(-2, -1))) * H.conj())[:, :nx, :ny]
        # EMPM's model of a point at the target's pixel (monostatic, at the lattice nodes): the
        # exact bistatic echo fitted worse, since the target's echo is cut out of EMPM's image
        R = np.sqrt((X[:, None] - (d["x0_img"] + (pi - nfft // 2) * dx)) ** 2
                    + (Y[None, :] - (d["y0_img"] + (pj - nfft // 2) * dy)) ** 2 + depth ** 2)
        return alone * torch.exp(-2j * ks_t[:, None, None] * torch.as_tensor(R, device=dev)[None]).to(c64)

    def zeros(shape):
        return torch.zeros(shape, dtype=c64, device=dev)

    phi = _phase_gradient_rounds(image, target_gradients, zeros, (nx, ny), radii, int(targets), min_coherence,
                                 int(nodes))
    return (phi / (2.0 * sign * kc)).reshape(-1)


def exact_phase_gradient_depth_error(echo, tx, rx, k, pts, lattice_shape, *,
                                     radii=(24, 20, 16, 12, 12, 8, 8), targets: int = 15,
                                     min_coherence: float = 0.5, nodes: int = 8) -> np.ndarray:
    """Depth error of a lattice scan by a phase-gradient estimate in exact geometry.

    As :func:`phase_gradient_depth_error`, but the image is the backprojection of the full echo
    (:func:`~sarsr.radar.backproject`, ``method="auto"``: factorized on paper-size scans) at the
    current estimate, and each target's disc of ``radius`` pixels goes back to the aperture
    through the exact bistatic paths of every channel (:func:`~sarsr.radar.backends.kernels.window_echo`:
    ``sum_q I_q exp(+j kc (R_n(q) - R_n(p)))`` for a target at pixel p): no lattice or
    far-field approximation. Costs a backprojection per round plus (targets x disc pixels x
    channels) exact paths: ~30 s per paper scan on 2 cores. Measured as the start of
    :func:`autofocus` (``start="pga_exact"``) it is not better than the EMPM estimate on
    independent scans (docs/autofocus.md); kept for exact-geometry work on a GPU.

    ``pts`` (H, W, 3) image points (m) on the scene plane; returns the depth error per sample
    (N,), m, with the sign of the position error (measured - true), zero mean.
    """

    nx, ny = lattice_shape
    echo, tx, rx, k = V.echo_geometry(echo, tx, rx, k)
    pts = np.asarray(pts, float)
    kc = float(np.mean(k))
    v = 0.5 * (tx + rx)
    sign = 1.0 if float(pts[..., 2].mean()) >= float(v[:, 2].mean()) else -1.0  # scene above the array
    ii, jj = np.meshgrid(np.arange(pts.shape[0]), np.arange(pts.shape[1]), indexing="ij")

    def positions(phase):
        dz = np.zeros_like(tx)
        dz[:, 2] = phase.reshape(-1) / (2.0 * sign * kc)
        return tx - dz, rx - dz

    def image(phase):
        txc, rxc = positions(phase)
        img = backproject(echo, txc, rxc, k, pts, method="auto")
        mag = np.abs(img)
        p = mag / max(float(mag.sum()), 1e-300)
        return (img, txc, rxc), mag, float(-(p * np.log(p + 1e-30)).sum())

    def target_gradients(ctx, pi, pj, r):
        img, txc, rxc = ctx
        disc = (ii - pi) ** 2 + (jj - pj) ** 2 <= r * r
        vals = img[disc].astype(np.complex128)
        out_re, out_im = np.empty(len(tx)), np.empty(len(tx))
        window_echo(txc, rxc, np.ascontiguousarray(pts[disc]), np.ascontiguousarray(vals.real),
                    np.ascontiguousarray(vals.imag), np.ascontiguousarray(pts[pi, pj]), kc, out_re, out_im)
        return (out_re + 1j * out_im).reshape(1, nx, ny)

    phi = _phase_gradient_rounds(image, target_gradients, lambda shape: np.zeros(shape, complex), (nx, ny),
                                 radii, int(targets), min_coherence, int(nodes))
    ez = (phi / (2.0 * sign * kc)).reshape(-1)
    return ez - ez.mean()


def focus_nfft(tx, rx, pts, lattice_shape, minimum: int = 256) -> int:
    """FFT size of the autofocus image of a lattice-ordered scan: the smallest 2^a 3^b 5^c
    >= the lattice and the scene width in lattice steps (the scene must fit inside the
    circular FFT image), at least ``minimum`` (256 for a paper scan: 200 x 200 lattice, a
    0.2 m scene = 209 steps at lambda/4)."""
    from scipy.fft import next_fast_len

    nx, ny = lattice_shape
    (_, dx), (_, dy) = _lattice_axes((0.5 * (np.asarray(tx) + np.asarray(rx))).reshape(nx, ny, 3))
    p = np.asarray(pts)
    wx = (p[..., 0].max() - p[..., 0].min()) / abs(dx) + 2
    wy = (p[..., 1].max() - p[..., 1].min()) / abs(dy) + 2
    return max(int(minimum), next_fast_len(int(np.ceil(max(nx, ny, wx, wy))), real=True))


def remove_plane(field, xy) -> np.ndarray:
    """``field`` (N, 3) position error (m) less its rigid part: the least-squares plane
    ``a + b x + c y`` of the depth (z) column over the aperture coordinates ``xy`` (N, 2) (m),
    and the mean of x and y. What is left is what defocuses the image."""
    field = np.array(field, float, copy=True)
    xy = np.asarray(xy, float)
    design = np.c_[np.ones(len(xy)), xy - xy.mean(0)]
    field[:, 2] -= design @ np.linalg.lstsq(design, field[:, 2], rcond=None)[0]
    field[:, :2] -= field[:, :2].mean(0)
    return field


def autofocus(echo, tx, rx, k, grid, *, lattice_shape, nodes: int = 6, axes: str = "z", k_step: int = 4,
              nfft=None, max_iter: int = 30, regularization: float = 1e-3, keep_if_sharper: bool = True,
              power: float = 1.0, floor: float = 0.0, stages=None, min_gain: float = 0.004, start: str = "pga",
              plane: str = "remove", pga_targets: int = 30, device=None, log=None) -> AutofocusResult:
    """Estimate the smooth position error of a lattice-ordered scan from its echoes; re-image.

    Parameters
    ----------
    echo : complex (N, K)   dechirped samples in lattice order (``n = ix * ny + iy``).
    tx, rx : (N, 3)   *measured* (erroneous) positions (m).
    k : (K,)   wavenumbers (rad/m).
    grid : ImageGrid or (nx, ny, 3) points on one plane z = const (m).
    lattice_shape : (nx, ny) of the scan (``Scan.lattice_shape``).
    nodes : spline coefficients per aperture axis in the last stage (stages 2, 4, ``nodes``).
    axes : which error components to estimate: "z" (default), "xyz", "xy", ... (x / y through
        EMPM with lateral regridding; docs/autofocus.md: not better so far)
    k_step, nfft : the optimiser's image uses every ``k_step``-th wavenumber on an ``nfft x nfft``
        FFT grid (speed; the final image uses all of them). ``nfft=None`` (default):
        :func:`focus_nfft`, 256 unless the lattice or the scene is wider. The image is centred
        on the scene, so the focus measure sees all of it (before 2026-11-28 it saw only the
        part within ~27 mm of the centre on paper scans, docs/autofocus.md).
    max_iter : L-BFGS iterations per stage.
    regularization : weight of ``sum c^2`` (coefficients in mm): keeps directions the image
        cannot see (a rigid shift) near zero.
    keep_if_sharper : keep the correction only if the final image's entropy drops by more than
        ``min_gain`` (relative; 0.4 %: error-free scans gained 0.38 % or less except one of
        four, 3 mm scans at least 0.56 %).
    power : the focus measure is the entropy of ``|I|^power`` (1: less dominated by the brightest
        target than the usual 2, measured better here).
    floor : pixels below ``floor`` x the image maximum are left out of the focus measure (0:
        every pixel; docs/autofocus.md "Sharper than the truth").
    stages : coefficients per axis of each coarse-to-fine stage (default 2, 4, ``nodes``).
    start : ``"pga"`` (default: the depth error of :func:`phase_gradient_depth_error` first,
        dropped if it does not sharpen the optimiser's image, then one entropy stage of
        ``nodes`` coefficients) or ``"zero"`` (coarse to fine from no error). Side by side on
        8 scans at 3 mm: recall 0.52 vs 0.48, depth residual 0.53 vs 0.60 mm, 1.8x faster
        (docs/autofocus.md). ``"pga_exact"`` (experimental): the start of
        :func:`exact_phase_gradient_depth_error` (exact bistatic geometry, judged by its own
        backprojected image), then the entropy stage; on 8 independent scans at 3 mm no better
        (recall 0.69 vs 0.71, depth residual 0.585 vs 0.572 mm) and 4.5x slower (37 vs 8.3 s),
        docs/autofocus.md.
    plane : ``"remove"`` (default) takes the best-fit plane (offset and tilts over the aperture)
        out of the estimated depth error and the mean out of x / y; ``"keep"`` leaves the
        estimate as found. A plane is a rigid motion of the array: it moves and turns the
        image (a tilt t by about t x range laterally) but hardly changes its sharpness (the
        planes found changed the entropy by <= 0.6 % on 64 x 64 scans, <= 0.1 % on paper
        scans), so the focus measure cannot see it and a plane in the estimate is noise that
        moves the points off their places (64 x 64 scans at 0.75 mm: tilts up to 55 mm/m
        found, recall 0.59 -> 0.18 with the plane, 0.58 without; paper scans at 3 mm: 0.57 with
        vs 0.54 without on 6 scans, 0.52 vs 0.52 on 8 more; docs/autofocus.md).
    pga_targets : bright targets per round of the phase-gradient start (:func:`phase_gradient_depth_error`
        ``targets``): its cost grows with them (two FFTs of the image stack per target and
        round); fewer make a quicker, rougher start (the explorer's setting).
    device : torch device of the optimiser (default CPU; "cuda" on a GPU).
    log : callable(str), optional   progress messages.

    Returns :class:`AutofocusResult`. Bad input (shapes, NaN, fewer than 4 x 4 lattice
    samples, axes) raises a one-line ``ValueError``; a scan the optimiser cannot sharpen comes
    back unchanged with a ``RuntimeWarning``.
    """
    import torch
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    echo, tx, rx, k = V.echo_geometry(echo, tx, rx, k)
    nx, ny = check_lattice_shape(lattice_shape, tx.shape[0], "autofocus: ")
    if nx < 4 or ny < 4:
        raise ValueError(f"autofocus: needs at least 4 x 4 lattice samples to estimate a smooth error, got {nx}x{ny}")
    pts = grid.points if isinstance(grid, ImageGrid) else V.as_array(grid, "grid", last=3)
    if pts.ndim != 3:
        raise ValueError(f"autofocus: grid must be a plane of points (nx, ny, 3), got shape {pts.shape}")
    if not axes or set(axes) - set("xyz") or len(set(axes)) != len(axes):
        raise ValueError(f"autofocus: axes must be distinct letters of 'xyz', got {axes!r}")
    for name, val in (("nodes", nodes), ("k_step", k_step), ("nfft", 1 if nfft is None else nfft), ("max_iter", max_iter),
                      ("pga_targets", pga_targets)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"autofocus: {name} must be an integer >= 1, got {val!r}")
    if nfft is not None and nfft < max(nx, ny):
        raise ValueError(f"autofocus: nfft={nfft} is smaller than the lattice {nx}x{ny}")
    if start not in ("zero", "pga", "pga_exact"):
        raise ValueError(f"autofocus: start must be 'zero', 'pga' or 'pga_exact', got {start!r}")
    if plane not in ("remove", "keep"):
        raise ValueError(f"autofocus: plane must be 'remove' or 'keep', got {plane!r}")
    if isinstance(floor, bool) or not isinstance(floor, (int, float, np.integer, np.floating)) or not 0.0 <= floor < 1.0:
        raise ValueError(f"autofocus: floor must be in [0, 1), got {floor!r}")
    if not (regularization >= 0 and np.isfinite(regularization)):
        raise ValueError(f"autofocus: regularization must be a finite number >= 0, got {regularization!r}")
    say = log or (lambda *a: None)
    dev = torch.device(device or "cpu")
    lateral_est = bool(set(axes) & set("xy"))
    img0 = empm(echo, tx, rx, k, pts, lattice_shape=(nx, ny))
    ent0 = image_entropy(img0) if np.abs(img0).max() > 0 else float("nan")
    zero = np.zeros_like(tx)

    def unchanged(msg, history=()):
        warnings.warn(f"autofocus: {msg}; positions left unchanged", RuntimeWarning, stacklevel=3)
        # entropy_after is the returned (uncorrected) image's; a rejected image's is in ``msg``
        return AutofocusResult(tx, rx, zero, img0, False, ent0, ent0, list(history),
                               time.perf_counter() - t0, "ignore", msg)

    if not np.isfinite(ent0) or np.abs(img0).max() <= 0:
        return unchanged("the image is empty")
    if nfft is None:
        nfft = focus_nfft(tx, rx, pts, (nx, ny))
    model = _FocusModel(echo, tx, rx, k, pts, (nx, ny), int(k_step), int(nfft), dev)
    model.regrid = lateral_est
    model.power = float(power)
    model.floor = float(floor)
    v = 0.5 * (tx + rx)
    lo, hi = v[:, :2].min(0), v[:, :2].max(0)
    ax_idx = ["xyz".index(a) for a in axes]
    mm = 1e-3
    with torch.no_grad():
        e_start = model.entropy(torch.zeros(nx, ny, 3, device=dev)).item()
    history = [e_start]
    field_now = np.zeros((nx * ny, 3))
    if start == "pga" and "z" in axes:
        field_now[:, 2] = phase_gradient_depth_error(echo, tx, rx, k, pts, (nx, ny), nfft=int(nfft),
                                                     targets=int(pga_targets), device=dev)
        with torch.no_grad():
            e_pga = model.entropy(torch.as_tensor(field_now.reshape(nx, ny, 3), dtype=torch.float32, device=dev)).item()
        say(f"autofocus phase-gradient start: entropy {e_start:.4f} -> {e_pga:.4f} ({time.perf_counter() - t0:.1f} s)")
        if e_pga < e_start:
            history.append(e_pga)
        else:
            field_now[:] = 0.0
        stages = stages or (int(nodes),)
    elif start == "pga_exact" and "z" in axes:  # judged by its own exact image, not the EMPM model's
        field_now[:, 2] = exact_phase_gradient_depth_error(echo, tx, rx, k, pts, (nx, ny))
        with torch.no_grad():
            history.append(model.entropy(torch.as_tensor(field_now.reshape(nx, ny, 3), dtype=torch.float32,
                                                         device=dev)).item())
        say(f"autofocus exact phase-gradient start: model entropy {e_start:.4f} -> {history[-1]:.4f} "
            f"({time.perf_counter() - t0:.1f} s)")
        stages = stages or (int(nodes),)
    for m in (stages or sorted({min(2, nodes), min(4, nodes), int(nodes)})):
        bu = spline_basis(v[:, 0], m, lo[0], hi[0])
        bv = spline_basis(v[:, 1], m, lo[1], hi[1])
        design = (bu[:, :, None] * bv[:, None, :]).reshape(nx * ny, m * m)
        c0 = np.linalg.lstsq(design, field_now[:, ax_idx] / mm, rcond=None)[0].T.reshape(-1)
        D = torch.as_tensor(design, dtype=torch.float32, device=dev)

        last = {}  # the latest evaluation: the iteration callback reads it instead of recomputing

        def fun(c, D=D, m=m, last=last):
            ct = torch.as_tensor(c, dtype=torch.float32, device=dev).requires_grad_(True)
            C = ct.reshape(len(ax_idx), m * m)
            cols = [torch.zeros(nx * ny, device=dev)] * 3
            for j, a in enumerate(ax_idx):
                cols[a] = (D @ C[j]) * mm
            e = torch.stack(cols, -1).reshape(nx, ny, 3)
            f = model.entropy(e) + regularization * (ct * ct).sum()
            f.backward()
            last["c"], last["f"] = np.array(c, dtype=np.float64, copy=True), float(f.detach())
            return last["f"], ct.grad.detach().cpu().numpy().astype(np.float64)

        def record(c, fun=fun, last=last):
            f = last["f"] if "c" in last and np.array_equal(np.asarray(c, np.float64), last["c"]) else fun(c)[0]
            history.append(f - regularization * float(c @ c))

        res = minimize(fun, c0, jac=True, method="L-BFGS-B", callback=record,
                       options=dict(maxiter=int(max_iter), gtol=1e-7))
        C = res.x.reshape(len(ax_idx), m * m)
        field_now = np.zeros((nx * ny, 3))
        field_now[:, ax_idx] = (design @ C.T) * mm
        say(f"autofocus {m}x{m} nodes: entropy {e_start:.4f} -> {history[-1]:.4f} ({res.nit} iterations, "
            f"{time.perf_counter() - t0:.1f} s)")
    if not history[-1] < e_start:
        return unchanged("no smooth correction sharpened the image", history)
    if plane == "remove":
        field_now = remove_plane(field_now, v[:, :2])
    tx_c, rx_c = tx - field_now, rx - field_now
    mode = "regrid" if lateral_est else "ignore"
    img1 = empm(echo, tx_c, rx_c, k, pts, lattice_shape=(nx, ny), lateral=mode)
    ent1 = image_entropy(img1)
    if keep_if_sharper and not ent1 < ent0 * (1.0 - min_gain):
        return unchanged(f"the corrected image is not sharper (entropy {ent0:.4f} -> {ent1:.4f})", history)
    return AutofocusResult(tx_c, rx_c, field_now, img1, True, ent0, ent1, history, time.perf_counter() - t0, mode,
                           f"kept: entropy {ent0:.4f} -> {ent1:.4f}")
