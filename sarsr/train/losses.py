"""Pixel losses for image-to-image training (mean over pixels), by name:

- ``l1`` (the paper's), ``charbonnier`` (eps 1e-3), ``mse``;
- ``l1_peak``: L1 plus a shift-tolerant peak term for point targets (below);
- ``l1_peak_clean``: ``l1_peak`` plus a background term against false points (below);
- ``mse_sparse``: squared error plus an absolute-value term on the background (below).

Why ``l1_peak``: under position error a point's blob in the input is displaced by about a
pixel from the label's point, in an unknown direction. Against an unknown shift, plain pixel L1
is minimised by a dim smear. The peak term compares ``k x k`` max-pooled prediction and label,
so a sharp peak of the right height anywhere within ``k // 2`` pixels of the label's point
costs nothing, while a dim smear or a bright spot where the label is dark does; its weight
grows with the pooled label (``1 + point_weight * maxpool(label)``) so small bright targets
count as much as the large flat shape::

    loss = |p - y|.mean() + peak_weight * ((1 + point_weight * Y) * |maxpool(p) - Y|).mean()
    Y = maxpool_k(y)

Why ``l1_peak_clean``: a network trained with ``l1_peak`` restores most points but also paints
1-2 bright spots per image where the label is dark (``false_points`` of :mod:`sarsr.metrics`:
components of prediction > 0.25 touching no label component). The clean term charges every
pixel farther than ``guard // 2`` pixels from any label structure for what it exceeds
``floor``; near a label point it is silent, so the shift tolerance of the peak term stays::

    loss = l1_peak + clean_weight * (relu(p - floor) * [maxpool_guard(y) < 0.05]).mean()

Why ``l1_peak_keep`` (do no harm): under large position error a point's blob can drift out of
the peak term's tolerance, and a network trained without this term learns to erase every blob
it is unsure of, including points its input plainly shows. The keep term takes the network
input ``x`` (normalised magnitude) and, wherever the input's ``k x k`` maximum reaches half the
label there (the point is visible in the input, scored like :func:`sarsr.metrics.point_metrics`),
charges the output for falling below what the input shows (capped at the label)::

    S = min(maxpool_k(x), Y);  visible = [S >= 0.5 Y] & [Y > 0.1]
    loss = l1_peak_clean + keep_weight * ((1 + point_weight * Y) * relu(S - maxpool_k(p)) * visible).mean()

Why ``mse_sparse``: PSNR is a squared error, and under position error the place of a point or an
edge is unsure by about a pixel. The L1 minimiser is the posterior median (a sharp edge at its
likeliest place, a point drawn only where it is likelier there than not); the squared-error
minimiser is the posterior mean (the edge and the spot blurred by the uncertainty), which lowers
the error at edges and points (fifth point-head design, ``paper_freehand``: shape-edge RMSE 0.201
-> 0.186) but leaves a haze on the background (RMSE 0.008 -> 0.016) that per-image PSNR punishes
on sparse scenes. The sparse term charges the background the way L1 does, so the per-pixel
optimum there is the mean shrunk by ``sparse_weight / (2 scale)`` (0.06 at the defaults), zero
for a haze, a few hundredths lower for a real structure::

    loss = scale * ((p - y) ** 2).mean() + sparse_weight * (|p| * [maxpool_guard(y) < 0.05]).mean()

``point_bce`` trains the point detector (:mod:`sarsr.models.detect`, task ``point_detection``):
the prediction is per-pixel logits; the target mask is the label's isolated point targets (the
components :func:`sarsr.metrics.point_targets` scores, dilated by ``dilate`` pixels), positives
weighted ``pos_weight`` (they are ~1 % of the pixels)::

    loss = BCE_with_logits(pred, mask(target), pos_weight)

Losses that need the input carry ``needs_input = True`` and are called ``loss(pred, target, x)``.

Networks with a point head (``point_head`` > 0, :class:`sarsr.models.srvit.PointHead`) output the
image followed by four point channels; :class:`WithPointHead` wraps any image loss above for
them: the image loss on channel 0 plus the CenterNet-style point terms of :func:`point_head_loss`
against targets read off the label itself (:func:`point_head_targets`: each isolated point's
peak pixel, its sub-pixel centre from the Gaussian's log-parabola, its amplitude = the label's
peak, exact for the label convention of :func:`sarsr.radar.label_image`).
"""

from __future__ import annotations

import functools
import inspect

import torch
import torch.nn.functional as F
import numpy as np

from ..metrics import point_targets

__all__ = ["LOSSES", "get_loss", "needs_input", "mse_sparse", "l1_peak", "l1_peak_clean", "l1_peak_keep", "point_bce", "point_mask",
           "point_head_targets", "point_head_loss", "WithPointHead", "POINT_LOSS_WEIGHTS"]


def _far_from_label(target, guard: int) -> torch.Tensor:
    """(B, 1, H, W) bool: the pixels of label images ``target`` farther than ``guard // 2`` pixels
    from any label structure (the label's ``guard x guard`` maximum below 0.05): the background
    that ``l1_peak_clean`` and ``mse_sparse`` charge."""
    return F.max_pool2d(target, guard, stride=1, padding=guard // 2) < 0.05


def l1(pred, target):
    return (pred - target).abs().mean()


def charbonnier(pred, target, eps=1e-3):
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def mse(pred, target, scale: float = 1.0):
    """Mean squared error times ``scale``: the loss whose minimiser is the posterior mean, the
    image of highest expected PSNR. Its gradient on a network is ~17x weaker than
    ``l1_peak_clean``'s at the same weights (0.043 vs 0.72 on the body of the fourth point-head
    design), so a ``scale`` keeps its balance with other terms (a point head's)."""
    return scale * ((pred - target) ** 2).mean()


def mse_sparse(pred, target, scale: float = 16.0, sparse_weight: float = 2.0, guard: int = 9):
    """``mse`` (times ``scale``) plus ``sparse_weight`` x the mean absolute value of the prediction
    on the pixels farther than ``guard // 2`` from any label structure (module docstring).
    ``pred`` and ``target`` are (B, 1, H, W) in [0, 1], ``guard`` odd (pixels)."""
    far = _far_from_label(target, guard)
    return mse(pred, target, scale) + sparse_weight * pred.abs().masked_fill(~far, 0.0).mean()


def l1_peak(pred, target, kernel: int = 5, peak_weight: float = 1.0, point_weight: float = 4.0):
    """L1 plus the shift-tolerant peak term (module docstring); ``pred`` and ``target`` are
    (B, 1, H, W), ``kernel`` odd (pixels)."""
    pad = kernel // 2
    pp = F.max_pool2d(pred, kernel, stride=1, padding=pad)
    yp = F.max_pool2d(target, kernel, stride=1, padding=pad)
    peak = ((1 + point_weight * yp) * (pp - yp).abs()).mean()
    return (pred - target).abs().mean() + peak_weight * peak


def l1_peak_clean(pred, target, kernel: int = 5, guard: int = 9, floor: float = 0.1,
                  clean_weight: float = 4.0, peak_weight: float = 1.0, point_weight: float = 4.0):
    """``l1_peak`` plus the background term against false points (module docstring); ``pred``
    and ``target`` are (B, 1, H, W) in [0, 1], ``kernel`` and ``guard`` odd (pixels), ``floor``
    the tolerated background amplitude (fraction of the image maximum); ``peak_weight`` and
    ``point_weight`` as in :func:`l1_peak`."""
    excess = F.relu(pred - floor).masked_fill(~_far_from_label(target, guard), 0.0)
    return l1_peak(pred, target, kernel, peak_weight, point_weight) + clean_weight * excess.mean()


def l1_peak_keep(pred, target, inp, kernel: int = 5, guard: int = 9, floor: float = 0.1,
                 clean_weight: float = 4.0, peak_weight: float = 1.0, point_weight: float = 4.0,
                 keep_weight: float = 8.0):
    """``l1_peak_clean`` plus the do-no-harm keep term (module docstring). ``pred`` and
    ``target`` are (B, 1, H, W) in [0, 1]; ``inp`` the network input (B, C, H, W): one
    normalised magnitude channel, or (real, imag) whose modulus is used (further channels,
    such as a log view, are ignored)."""
    mag = inp[:, :1].abs() if inp.shape[1] != 2 else torch.sqrt(inp[:, :1] ** 2 + inp[:, 1:2] ** 2)
    pad = kernel // 2
    yp = F.max_pool2d(target, kernel, stride=1, padding=pad)
    shown = torch.minimum(F.max_pool2d(mag.float(), kernel, stride=1, padding=pad), yp)
    visible = (shown >= 0.5 * yp) & (yp > 0.1)
    pp = F.max_pool2d(pred, kernel, stride=1, padding=pad)
    keep = ((1 + point_weight * yp) * F.relu(shown - pp)).masked_fill(~visible, 0.0).mean()
    return l1_peak_clean(pred, target, kernel, guard, floor, clean_weight, peak_weight, point_weight) + keep_weight * keep


l1_peak_keep.needs_input = True


def point_mask(target, dilate: int = 1) -> torch.Tensor:
    """(B, 1, H, W) float mask of the isolated point targets of label images ``target`` (B, 1, H,
    W) in [0, 1] (:func:`sarsr.metrics.point_targets`), dilated by ``dilate`` pixels (8-neighbourhood)."""
    from scipy import ndimage

    masks = []
    for y in target.detach().float().cpu().numpy()[:, 0]:
        comp, pts = point_targets(y)
        m = np.isin(comp, pts) if pts else np.zeros(y.shape, bool)
        if dilate > 0 and m.any():
            m = ndimage.binary_dilation(m, np.ones((3, 3), bool), iterations=int(dilate))
        masks.append(m)
    return torch.from_numpy(np.stack(masks).astype(np.float32))[:, None].to(target.device)


def point_bce(pred, target, pos_weight: float = 10.0, dilate: int = 1):
    """Point-detector loss (module docstring): ``pred`` (B, 1, H, W) logits, ``target`` the label
    images (B, 1, H, W) in [0, 1]."""
    mask = point_mask(target, dilate)
    return F.binary_cross_entropy_with_logits(pred.float(), mask,
                                              pos_weight=torch.tensor(float(pos_weight), device=pred.device))


point_bce.logits = True  # the prediction is per-pixel logits, not an image in [0, 1]


def _isolated_point_pixels(target) -> torch.Tensor:
    """(B, 1, H, W) bool: pixels of the label's isolated point components (:func:`sarsr.metrics.point_targets`)."""

    masks = []
    for y in target.detach().float().cpu().numpy()[:, 0]:
        comp, pts = point_targets(y)
        masks.append(np.isin(comp, pts) if pts else np.zeros(y.shape, bool))
    return torch.from_numpy(np.stack(masks))[:, None].to(target.device)


def _neighbour(a, di: int, dj: int, fill: float = 0.0):
    """``a`` (B, C, H, W) moved so that ``out[..., i, j] = a[..., i - di, j - dj]`` (edges filled)."""
    H, W = a.shape[-2:]
    r = max(abs(di), abs(dj), 1)
    p = F.pad(a, (r, r, r, r), value=fill)
    return p[..., r - di:r - di + H, r - dj:r - dj + W]


def point_head_targets(target, heat_sigma: float = 1.0, reach: int = 1):
    """Targets of a point head, read off label images.

    Parameters
    ----------
    target : (B, 1, H, W) labels in [0, 1] (points are Gaussians ``a exp(-r^2 / o^2)`` whose peak
        pixel holds ``a``, :func:`sarsr.radar.label_image`).
    heat_sigma : width (pixels) of the Gaussian splat around each peak pixel in the heat map.
    reach : the offset and amplitude are regressed on the (2 reach + 1)^2 pixels around each
        peak, so a detection a pixel off its point still lands on it.

    Returns a dict of tensors on ``target``'s device: ``heat`` (B, 1, H, W), 1 at each point's
    peak pixel; ``peaks`` (B, 1, H, W) bool; ``reg_mask`` (B, 1, H, W) bool; ``offset`` (B, 2,
    H, W), the point centre minus the pixel (rows, columns; pixels); ``amplitude`` (B, 1, H, W).
    A peak is a local maximum (3 x 3) above 0.1 inside an isolated point component; its
    sub-pixel centre is the vertex of the parabola through the log of the label at the peak and
    its two neighbours on each axis (exact for one Gaussian).
    """
    y = target.detach().float()
    peaks = (y >= F.max_pool2d(y, 3, stride=1, padding=1)) & (y > 0.1) & _isolated_point_pixels(y)
    ly = torch.log(y.clamp_min(1e-6))
    def vertex(di, dj):
        lo, hi = _neighbour(ly, di, dj, -13.8), _neighbour(ly, -di, -dj, -13.8)  # a[i - d], a[i + d]
        curv = lo - 2 * ly + hi
        return torch.where(curv < -1e-6, 0.5 * (lo - hi) / curv.clamp(max=-1e-6), torch.zeros_like(ly)).clamp(-0.5, 0.5)
    d_row, d_col = vertex(1, 0), vertex(0, 1)
    pk = peaks.float()
    k = int(3 * heat_sigma + 0.5)
    r = torch.arange(-k, k + 1, device=y.device, dtype=torch.float32)
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * heat_sigma ** 2))
    heat = F.conv2d(pk, g[None, None], padding=k).clamp(max=1.0)
    heat = torch.where(peaks, torch.ones_like(heat), heat)
    reg_mask = torch.zeros_like(peaks)
    offset = torch.zeros(y.shape[0], 2, *y.shape[-2:], device=y.device)
    amplitude = torch.zeros_like(y)
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            here = _neighbour(pk, di, dj) > 0  # a peak lies at (i - di, j - dj)
            reg_mask |= here
            offset[:, :1] = torch.where(here, _neighbour(d_row, di, dj) - di, offset[:, :1])
            offset[:, 1:] = torch.where(here, _neighbour(d_col, di, dj) - dj, offset[:, 1:])
            amplitude = torch.where(here, _neighbour(y, di, dj), amplitude)
    return {"heat": heat, "peaks": peaks, "reg_mask": reg_mask, "offset": offset, "amplitude": amplitude}


#: Default weights of the point terms in :func:`point_head_loss` (config ``train.point_loss``).
POINT_LOSS_WEIGHTS = {"heat": 0.1, "offset": 0.1, "amplitude": 1.0}


def point_head_loss(head, target, heat: float = POINT_LOSS_WEIGHTS["heat"],
                    offset: float = POINT_LOSS_WEIGHTS["offset"], amplitude: float = POINT_LOSS_WEIGHTS["amplitude"],
                    heat_sigma: float = 1.0, reach: int = 1, targets: dict | None = None):
    """Point-head terms: ``heat`` x the penalty-reduced focal loss of CenterNet (alpha 2, beta 4,
    summed and divided by the number of points) on the logits ``head[:, 0]``, plus ``offset`` x
    and ``amplitude`` x the mean L1 error of ``head[:, 1:3]`` (pixels) and ``head[:, 3]``
    (label units) on the regression pixels of :func:`point_head_targets`. ``head`` is (B, 4,
    H, W), ``target`` the labels (B, 1, H, W)."""
    t = targets if targets is not None else point_head_targets(target, heat_sigma, reach)
    logit = head[:, :1].float()
    logp, log1mp = F.logsigmoid(logit), F.logsigmoid(-logit)
    p = torch.sigmoid(logit)
    pos = t["peaks"]
    focal = torch.where(pos, -((1 - p) ** 2) * logp, -((1 - t["heat"]) ** 4) * (p ** 2) * log1mp)
    n_pos = pos.sum().clamp_min(1)
    loss = heat * focal.sum() / n_pos
    m = t["reg_mask"]
    n_reg = m.sum().clamp_min(1)
    loss = loss + offset * ((head[:, 1:3].float() - t["offset"]).abs() * m).sum() / (2 * n_reg)
    return loss + amplitude * ((head[:, 3:4].float() - t["amplitude"]).abs() * m).sum() / n_reg


class WithPointHead:
    """An image loss for a network with a point head: ``image_loss`` on the image channel plus
    :func:`point_head_loss` (``weights``: ``heat``, ``offset``, ``amplitude``, ``heat_sigma``,
    ``reach``) on the four point channels that follow it."""

    def __init__(self, image_loss, weights: dict | None = None):
        known = ("heat", "offset", "amplitude", "heat_sigma", "reach")
        for key, value in (weights or {}).items():
            if key not in known:
                raise ValueError(f"train.point_loss.{key}: not a point-loss option (options: {', '.join(known)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value != value \
                    or (key == "reach" and not isinstance(value, int)) or (key == "heat_sigma" and not value > 0):
                raise ValueError(f"train.point_loss.{key}: expected a number >= 0 ({'an integer' if key == 'reach' else '> 0' if key == 'heat_sigma' else 'a weight'}), got {value!r}")
        self.image_loss, self.weights = image_loss, {**POINT_LOSS_WEIGHTS, **(weights or {})}
        self.needs_input = needs_input(image_loss)

    def __call__(self, pred, target, *inp):
        image = pred[:, :1]
        base = self.image_loss(image, target, *inp) if self.needs_input else self.image_loss(image, target)
        return base + point_head_loss(pred[:, 1:5], target, **self.weights)


def needs_input(loss) -> bool:
    """Whether ``loss`` (a function of :data:`LOSSES`, possibly with options bound) is called
    ``loss(pred, target, x)`` with the network input."""
    if isinstance(loss, WithPointHead):
        return loss.needs_input
    return bool(getattr(getattr(loss, "func", loss), "needs_input", False))


LOSSES = {"l1": l1, "charbonnier": charbonnier, "mse": mse, "mse_sparse": mse_sparse, "l1_peak": l1_peak,
          "l1_peak_clean": l1_peak_clean, "l1_peak_keep": l1_peak_keep, "point_bce": point_bce}


def get_loss(name, options=None):
    """The loss called ``name`` (a key of :data:`LOSSES`), with keyword ``options`` bound (config
    ``train.loss_options``, e.g. ``{kernel = 9, point_weight = 8.0}`` for ``l1_peak``).

    Raises ValueError naming an unknown loss, an option the loss does not take, or a kernel size
    that is not a positive odd number of pixels.
    """
    try:
        fn = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose from {sorted(LOSSES)}") from None
    if not options:
        return fn
    params = inspect.signature(fn).parameters
    known = [k for k in list(params)[3 if needs_input(fn) else 2:]]
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"train.loss_options.{key}: loss {name!r} takes no option {key!r}"
                             f" (it takes {known or 'none'})")
        if key == "dilate" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ValueError(f"train.loss_options.dilate: expected a whole number of pixels >= 0, got {value!r}")
        if key in ("kernel", "guard") and (not isinstance(value, int) or value < 1 or value % 2 == 0):
            raise ValueError(f"train.loss_options.{key}: expected a positive odd number of pixels, got {value!r}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"train.loss_options.{key}: expected a number >= 0, got {value!r}")
    return functools.partial(fn, **options)
