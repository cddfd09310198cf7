"""Points as data: decode a point head's output into a table of points and draw them as the
label's own spots.

A network with a point head (``point_head`` > 0, :class:`sarsr.models.srvit.PointHead`) returns,
after its image channel, four channels on the working grid (:data:`sarsr.models.POINT_CHANNELS`):
a per-pixel point logit, the sub-pixel offset of the point's centre (rows, columns; pixels) and
its amplitude (label units). :func:`decode_points` keeps the local maxima (3 x 3) of the point
probability above a threshold; :func:`draw_points` renders each point as the label convention
renders a point target (:func:`sarsr.radar.label_image`: ``a exp(-r^2 / o^2)``, o = 1.2 mm,
normalised to its maximum over the pixel grid, so the spot peaks at its amplitude on any grid);
:func:`compose` lays the spots over the image head's output. Coordinates: ``image[row, col]``,
rows along x (the :class:`sarsr.radar.ImageGrid` convention ``image[ix, iy]``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..config import WORKING_SIZE
from ..radar.geometry.scene import LABEL_WIDTH

__all__ = ["decode_points", "decode_uncertain", "draw_points", "compose", "points_table", "default_output", "NMS_WINDOW",
           "POINT_FIELDS", "DEFAULT_POINT_THRESHOLD", "SPOT_WIDTH_PX", "BLENDS", "DEFAULT_BLEND", "WORKING_EXTENT_M",
           "PRESENCE_RADIUS", "DEFAULT_PRESENCE_MASS", "UNCERTAIN_SPOT_WIDTH_M", "HEAT_SIGMA_PX"]

#: Half-width (m) of the field the networks are trained on: 256 working pixels over [-0.1, 0.1) m.
WORKING_EXTENT_M = 0.1
#: Width o of a label point on the working grid, pixels (1.2 mm over 0.78 mm pixels = 1.536).
SPOT_WIDTH_PX = LABEL_WIDTH / (2 * WORKING_EXTENT_M / WORKING_SIZE)
#: Point probability above which a local maximum of the point head is a point (the default call).
DEFAULT_POINT_THRESHOLD = 0.5
#: How :func:`compose` lays the spots over the image: ``"max"`` (pixel-wise maximum) or
#: ``"replace"`` (the image head's own rendering of the point, within two spot widths of its
#: centre, gives way to the spot).
BLENDS = ("max", "replace")
DEFAULT_BLEND = "replace"
#: Side (pixels) of the window in which a point is the probability's maximum: 5 x 5 (+-2 px).
#: Two label points lie at least 3 mm (3.8 working pixels) apart, so this never merges two real
#: points, while a 3 x 3 window let one point through twice (11 close pairs among 132
#: detections at p > 0.2 on 24 validation records, step 3,000), each drawn at full height.
NMS_WINDOW = 5
#: Columns of :func:`points_table`: ``spread_m`` is the width o (m) of the spot drawn for the
#: point: the label's 1.2 mm for a detected point, 1.2 mm to :data:`UNCERTAIN_SPOT_WIDTH_M` for
#: an uncertain one (:func:`decode_uncertain`).
POINT_FIELDS = ("x_m", "y_m", "amplitude", "confidence", "row", "col", "spread_m")
#: Half-side (pixels of the head's grid, the 256 working grid: +-3.9 mm) of the box over which
#: :func:`decode_uncertain` sums the point probability. Chosen on validation with
#: :data:`DEFAULT_PRESENCE_MASS` (docs/sr_points.md, "Uncertain points").
PRESENCE_RADIUS = 5
#: Probability mass (the point probability summed over a (2 R + 1)^2 box, R =
#: :data:`PRESENCE_RADIUS`) above which a box with no detected point within R holds an
#: uncertain point (:func:`decode_uncertain`); 0 turns them off. Chosen on validation
#: (docs/sr_points.md, "Uncertain points").
DEFAULT_PRESENCE_MASS = 14.0
#: Widest spot (width o, m) drawn for an uncertain point; each is drawn as wide as the head's
#: probability spreads around it (its rms radius), at least the label's 1.2 mm. Position error
#: of 2-3 mm moves the input's own peaks a median 3-5 mm (docs/sr_points.md).
UNCERTAIN_SPOT_WIDTH_M = 0.005
#: Width (pixels) of the Gaussian splat ``exp(-r^2 / (2 sigma^2))`` the point heads' probability
#: is trained to (``train.point_loss.heat_sigma`` of every point-head design so far): a point
#: placed exactly still spreads its probability this wide, so :func:`decode_uncertain` widens a
#: spot only by the spread beyond it.
HEAT_SIGMA_PX = 2.0


def _splat_rms(radius: int, sigma: float = HEAT_SIGMA_PX) -> float:
    """rms distance from its centre of a ``sigma`` Gaussian splat above its floor over the
    ``(2 radius + 1)^2`` box (the spread of an exactly placed point, pixels)."""
    r = np.arange(-radius, radius + 1, dtype=np.float64)
    d2 = r[:, None] ** 2 + r[None, :] ** 2
    w = np.exp(-d2 / (2 * sigma ** 2))
    w = w - w.min()
    return float(np.sqrt((w * d2).sum() / w.sum()))


@torch.no_grad()
def decode_points(head, threshold: float = DEFAULT_POINT_THRESHOLD) -> list[np.ndarray]:
    """Points of a point head's output.

    Parameters
    ----------
    head : (B, 4, H, W) tensor (or array): point logit, row offset, column offset (pixels),
        amplitude, on the network's output grid.
    threshold : point probability (0-1) above which a local maximum (:data:`NMS_WINDOW` pixels
        square) is a point.

    Returns a list of B float32 arrays (n, 4): row, column (fractional pixels of the head's
    grid, within the image's footprint [-0.5, H - 0.5]), amplitude (clipped to [0, 1]) and
    probability, brightest first.
    """
    h = torch.as_tensor(head).float()
    if h.ndim != 4 or h.shape[1] != 4:
        raise ValueError(f"decode_points: expected a (B, 4, H, W) point-head output, got shape {tuple(h.shape)}")
    if not 0 <= threshold < 1:
        raise ValueError(f"decode_points: threshold must be in [0, 1), got {threshold!r}")
    prob = torch.sigmoid(h[:, 0])
    keep = (prob >= F.max_pool2d(prob[:, None], NMS_WINDOW, stride=1, padding=NMS_WINDOW // 2)[:, 0]) & (prob > threshold)
    out = []
    for b in range(h.shape[0]):
        i, j = torch.nonzero(keep[b], as_tuple=True)
        rows = (i.float() + h[b, 1, i, j]).clamp(-0.5, h.shape[-2] - 0.5)  # centres stay on the image
        cols = (j.float() + h[b, 2, i, j]).clamp(-0.5, h.shape[-1] - 0.5)
        amp = h[b, 3, i, j].clamp(0, 1)
        pts = torch.stack([rows, cols, amp, prob[b, i, j]], 1).cpu().numpy().astype(np.float32)
        out.append(pts[np.argsort(-pts[:, 2], kind="stable")] if len(pts) else pts.reshape(0, 4))
    return out


@torch.no_grad()
def decode_uncertain(head, found=None, mass: float = DEFAULT_PRESENCE_MASS, radius: int = PRESENCE_RADIUS) -> list[np.ndarray]:
    """Points the head knows are there but not exactly where: where position error defocuses the
    input, the point probability spreads over the area the point may be in (no pixel passes the
    detection threshold) while its sum over that area stays high.

    Parameters
    ----------
    head : (B, 4, H, W) point-head output (as :func:`decode_points`).
    found : the detected points (:func:`decode_points`), one (n, >= 2) array per image, or None.
    mass : the probability summed over a ``(2 radius + 1)^2`` box must exceed this, at a local
        maximum of that sum (same window), with no point of ``found`` within ``radius`` pixels.
    radius : half-side of the box, pixels of the head's grid.

    Returns a list of B float32 arrays (n, 5): row, column (the probability's centroid over the
    box), amplitude (the amplitude channel at the box's most probable pixel, clipped to [0, 1]),
    that pixel's probability and the spot width o (pixels of the head's grid): the label's width
    (:data:`SPOT_WIDTH_PX`) widened by the probability's spread beyond an exactly placed point's
    (``o^2 = SPOT_WIDTH_PX^2 + max(0, s^2 - s0^2)``, s the rms distance of the probability above
    the box's floor from the centroid, s0 the same of the trained splat,
    :data:`HEAT_SIGMA_PX`), at most :data:`UNCERTAIN_SPOT_WIDTH_M`. Drawn by :func:`compose`
    (``uncertain``).
    """
    h = torch.as_tensor(head).float()
    if h.ndim != 4 or h.shape[1] != 4:
        raise ValueError(f"decode_uncertain: expected a (B, 4, H, W) point-head output, got shape {tuple(h.shape)}")
    if not mass >= 0 or isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 1:
        raise ValueError(f"decode_uncertain: mass must be >= 0 and radius an integer >= 1, got {mass!r}, {radius!r}")
    B, _, H, W = h.shape
    empty = [np.zeros((0, 5), np.float32) for _ in range(B)]
    if mass <= 0:
        return empty
    widest = SPOT_WIDTH_PX * UNCERTAIN_SPOT_WIDTH_M / LABEL_WIDTH
    s0 = _splat_rms(int(radius))
    k = 2 * int(radius) + 1
    prob = torch.sigmoid(h[:, :1])
    box = F.avg_pool2d(prob, k, stride=1, padding=radius, count_include_pad=True) * (k * k)
    peak = (box >= F.max_pool2d(box, k, stride=1, padding=radius)) & (box > mass)
    out = empty
    for b in range(B):
        near = [tuple(q) for q in np.asarray(found[b])[:, :2]] if found is not None and len(found[b]) else []
        cand = torch.nonzero(peak[b, 0])
        order = torch.argsort(-box[b, 0][cand[:, 0], cand[:, 1]], stable=True) if len(cand) else []
        rows = []
        for i, j in cand[order].tolist() if len(cand) else []:  # strongest first; one point per radius
            if near and min(np.hypot(r - i, c - j) for r, c in near) <= radius:
                continue
            near.append((i, j))
            i0, j0 = max(0, i - radius), max(0, j - radius)
            win = prob[b, 0, i0:i + radius + 1, j0:j + radius + 1]
            total = float(win.sum())
            ci = float((win.sum(1) * torch.arange(i0, i0 + win.shape[0])).sum()) / total
            cj = float((win.sum(0) * torch.arange(j0, j0 + win.shape[1])).sum()) / total
            a, c = divmod(int(torch.argmax(win)), win.shape[1])
            above = (win - win.min()).clamp(min=0)
            gi = torch.arange(i0, i0 + win.shape[0], dtype=torch.float32)[:, None]
            gj = torch.arange(j0, j0 + win.shape[1], dtype=torch.float32)[None, :]
            r2 = float((above * ((gi - ci) ** 2 + (gj - cj) ** 2)).sum()) / max(float(above.sum()), 1e-12)
            width = min((SPOT_WIDTH_PX ** 2 + max(0.0, r2 - s0 * s0)) ** 0.5, widest)
            rows.append((ci, cj, float(h[b, 3, i0 + a, j0 + c].clamp(0, 1)), float(win[a, c]), width))
        if rows:
            pts = np.asarray(rows, np.float32)
            out[b] = pts[np.argsort(-pts[:, 2], kind="stable")]
    return out


def _to_grid(points: np.ndarray, src_shape, dst_shape) -> np.ndarray:
    """Rows / columns of ``points`` (n, >= 2) from a ``src_shape`` grid to a ``dst_shape`` grid
    covering the same footprint (the align_corners=False resize of :mod:`sarsr.data`)."""
    p = np.array(points, np.float64, copy=True).reshape(-1, points.shape[-1] if np.ndim(points) == 2 else 4)
    for ax in (0, 1):
        s = dst_shape[ax] / src_shape[ax]
        p[:, ax] = (p[:, ax] + 0.5) * s - 0.5
    return p


def _spots(points, shape, width_px) -> np.ndarray:
    """Label spots ``a exp(-r^2 / o^2)`` (each normalised to its maximum over the pixel grid) of
    ``points`` (n, >= 3: row, col, amplitude) on a ``shape`` grid, combined by their pixel-wise
    maximum (the label sums its points, which lie >= 3 mm apart: sum and maximum differ by ~1e-3
    where two tails overlap; two detections of one point must not double its height), in [0, 1].
    ``width_px``: o along rows and columns (pixels), one pair or one pair per point (n, 2)."""
    H, W = shape
    out = np.zeros(shape, np.float32)
    p = np.asarray(points, np.float64).reshape(-1, np.shape(points)[-1] if np.ndim(points) == 2 else 3)
    widths = np.broadcast_to(np.asarray(width_px, np.float64), (len(p), 2))
    for (r, c, a), (wr, wc) in zip(p[:, :3], widths):
        gr = np.exp(-((np.arange(H) - r) ** 2) / wr ** 2)
        gc = np.exp(-((np.arange(W) - c) ** 2) / wc ** 2)
        i0, i1 = np.flatnonzero(gr > 1e-7)[[0, -1]] if (gr > 1e-7).any() else (0, -1)
        j0, j1 = np.flatnonzero(gc > 1e-7)[[0, -1]] if (gc > 1e-7).any() else (0, -1)
        peak = gr.max() * gc.max()
        if peak <= 0 or i1 < i0 or j1 < j0:
            continue
        win = (slice(i0, i1 + 1), slice(j0, j1 + 1))
        np.maximum(out[win], (a / peak) * np.outer(gr[win[0]], gc[win[1]]), out=out[win])
    return np.clip(out, 0.0, 1.0)


def draw_points(points, shape, head_shape=None, width_px=None) -> np.ndarray:
    """Render ``points`` (n, >= 3: row, column on the ``head_shape`` grid, amplitude) as label
    spots on a ``shape`` (H, W) grid covering the same footprint (``head_shape`` None: the
    same grid). The spot width is the label's, 1.2 mm, i.e. :data:`SPOT_WIDTH_PX` pixels of
    the network's grid (256 working pixels span 0.2 m), scaled to the target grid (1.2 px on
    the paper's 200 x 200 grid); ``width_px`` (pixels of the ``head_shape`` grid, one value or
    one per point) draws other widths (uncertain points, :func:`decode_uncertain`). Returns
    float32 (H, W) in [0, 1]."""
    shape = (int(shape[0]), int(shape[1]))
    head_shape = shape if head_shape is None else (int(head_shape[0]), int(head_shape[1]))
    p = np.asarray(points, np.float64).reshape(-1, np.shape(points)[-1] if np.ndim(points) == 2 else 4)
    if len(p) and p.shape[1] < 3:
        raise ValueError(f"draw_points: expected (n, >= 3) points (row, col, amplitude), got shape {p.shape}")
    p = _to_grid(p, head_shape, shape) if head_shape != shape else p
    # the network's pixels are the working grid's: a spot is SPOT_WIDTH_PX of them wide
    px = np.asarray(SPOT_WIDTH_PX if width_px is None else width_px, np.float64).reshape(-1, 1)
    return _spots(p, shape, px * [shape[0] / head_shape[0], shape[1] / head_shape[1]])


def compose(image, points, head_shape=None, blend: str = DEFAULT_BLEND, uncertain=None) -> np.ndarray:
    """The default output of a network with a point head: its image ``image`` (H, W) with each
    point of ``points`` (n, >= 3: row, column on the ``head_shape`` grid, amplitude) drawn as a
    label spot (:func:`draw_points`). ``blend``: ``"max"`` keeps the brighter of image and spot
    at each pixel; ``"replace"`` (default) first fades the image out within about two spot
    widths of each point (weight ``1 - exp(-r^2 / (2 o)^2)``), so the image head's own, wider
    and dimmer, rendering of the point does not survive around the spot. ``uncertain`` ((n, 5)
    from :func:`decode_uncertain`: row, column, amplitude, probability, width o in pixels of the
    ``head_shape`` grid): each drawn its own width, by pixel-wise maximum over the rest. Returns
    float32 (H, W) in [0, 1]."""
    if blend not in BLENDS:
        raise ValueError(f"compose: blend must be one of {BLENDS}, got {blend!r}")
    img = np.asarray(image, np.float32)
    if img.ndim != 2:
        raise ValueError(f"compose: expected one (H, W) image, got shape {img.shape}")
    p = np.asarray(points, np.float64).reshape(-1, np.shape(points)[-1] if np.ndim(points) == 2 else 4)
    wide = None
    if uncertain is not None and len(uncertain):
        u = np.asarray(uncertain, np.float64)
        if u.ndim != 2 or u.shape[1] < 5:
            raise ValueError(f"compose: uncertain points must be (n, 5) (decode_uncertain), got shape {u.shape}")
        wide = draw_points(u[:, :3], img.shape, head_shape, width_px=u[:, 4])
    if len(p) == 0:
        return np.clip(img if wide is None else np.maximum(img, wide), 0, 1).astype(np.float32)
    spots = draw_points(p, img.shape, head_shape)
    if wide is not None:
        spots = np.maximum(spots, wide)
    if blend == "replace":
        head_shape = img.shape if head_shape is None else head_shape
        q = _to_grid(p, head_shape, img.shape) if tuple(head_shape) != img.shape else p.copy()
        q[:, 2] = 1.0
        width = (2 * SPOT_WIDTH_PX * img.shape[0] / head_shape[0], 2 * SPOT_WIDTH_PX * img.shape[1] / head_shape[1])
        img = img * (1.0 - _spots(q, img.shape, width))
    return np.clip(np.maximum(img, spots), 0, 1).astype(np.float32)


def points_table(points, head_shape, image_shape, out_shape=None, grid=None,
                 extent_m: float = WORKING_EXTENT_M, spread_m=LABEL_WIDTH) -> np.ndarray:
    """Decoded points (n, 4: row, column on the ``head_shape`` grid, amplitude, probability) as
    a structured array with the fields :data:`POINT_FIELDS`: ``x_m``, ``y_m`` (metres), the
    amplitude (label units, 0-1), the confidence (probability, 0-1) and ``row``, ``col``
    (fractional pixels of the ``out_shape`` grid, the image returned to the user; default
    ``image_shape``).

    ``image_shape`` is the input image's (H, W) and ``grid`` its :class:`sarsr.radar.ImageGrid`
    (anything with increasing ``x`` and ``y`` pixel-centre axes in metres; rows map to x,
    columns to y). Without a grid the image is taken to span ``[-extent_m, extent_m)`` on both
    axes (the paper's field: 0.1 m, pixel centres at ``-extent + 2 extent i / H``).
    ``spread_m``: the drawn spot's width o (m), one value or one per point.
    """
    p = np.asarray(points, np.float64).reshape(-1, 4)
    H, W = int(image_shape[0]), int(image_shape[1])
    out_shape = (H, W) if out_shape is None else (int(out_shape[0]), int(out_shape[1]))
    q = _to_grid(p, head_shape, (H, W))
    if grid is not None:
        gx, gy = np.asarray(grid.x, float), np.asarray(grid.y, float)
        if (len(gx), len(gy)) != (H, W):
            raise ValueError(f"points_table: the grid has {len(gx)} x {len(gy)} pixels, the image {H} x {W}")
        dx = gx[1] - gx[0] if H > 1 else 2 * extent_m / H
        dy = gy[1] - gy[0] if W > 1 else 2 * extent_m / W
        x, y = gx[0] + q[:, 0] * dx, gy[0] + q[:, 1] * dy
    else:
        x = -extent_m + 2 * extent_m * q[:, 0] / H
        y = -extent_m + 2 * extent_m * q[:, 1] / W
    r = _to_grid(p, head_shape, out_shape)
    table = np.zeros(len(p), dtype=[(f, np.float64) for f in POINT_FIELDS])
    table["x_m"], table["y_m"], table["amplitude"], table["confidence"] = x, y, p[:, 2], p[:, 3]
    table["row"], table["col"] = r[:, 0], r[:, 1]
    table["spread_m"] = np.broadcast_to(np.asarray(spread_m, np.float64), (len(p),)) if len(p) else 0.0
    return table


def default_output(out, threshold: float = DEFAULT_POINT_THRESHOLD, blend: str = DEFAULT_BLEND, presence_mass: float = 0.0):
    """The default call's images from a point-head network's raw output on its own grid.

    ``out``: (B, 5, H, W) tensor (image, then the four point channels). Returns ``(composed,
    image, points)``: float32 (B, H, W) arrays of the default output (:func:`compose`) and of
    the image head alone (clipped to [0, 1]), and the decoded points (:func:`decode_points`).
    ``presence_mass`` > 0 also draws the uncertain points (:func:`decode_uncertain`); the
    trainer's validation leaves them out (0, the default), so the curves of every design stay
    on the measure they were recorded with.
    """
    o = torch.as_tensor(out).float()
    if o.ndim != 4 or o.shape[1] != 5:
        raise ValueError(f"default_output: expected a (B, 5, H, W) point-head network output, got {tuple(o.shape)}")
    image = o[:, 0].clamp(0, 1).cpu().numpy().astype(np.float32)
    points = decode_points(o[:, 1:5], threshold)
    unsure = decode_uncertain(o[:, 1:5], points, presence_mass)
    composed = np.stack([compose(im, p, blend=blend, uncertain=u) for im, p, u in zip(image, points, unsure)])
    return composed, image, points
