"""Image-quality metrics, defined once and used everywhere.

Conventions: labels are in [0, 1]; a reconstructed image is compared after
:func:`normalize` (magnitude divided by its maximum) and clipping to [0, 1]; PSNR uses data
range 1.
"""

from __future__ import annotations

import numpy as np


def normalize(image) -> np.ndarray:
    """``|image| / max |image|`` as float32 (zeros stay zeros), divided in the input's precision
    before the cast, so a float64 image of any finite scale (1e308) stays finite."""
    a = np.abs(np.asarray(image))
    m = float(a.max()) if a.size else 0.0
    return (a / m if m > 0 else a).astype(np.float32)


def rmse(pred, label) -> float:
    """Root-mean-square error between ``clip(pred, 0, 1)`` and ``label``."""
    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    return float(np.sqrt(np.mean((p - np.asarray(label, np.float64)) ** 2)))


def psnr(pred, label, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio (dB) of ``clip(pred, 0, 1)`` against ``label``, data range 1."""
    e = rmse(pred, label)
    return float("inf") if e == 0 else float(20 * np.log10(data_range / e))


def image_entropy(image) -> float:
    """No-reference focus metric: ``-sum p ln p`` with ``p = |I|^2 / sum |I|^2`` (lower = sharper)."""
    p = np.abs(np.asarray(image, np.complex128)) ** 2
    p = p / p.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def image_contrast(image) -> float:
    """No-reference focus metric: ``std(|I|^2) / mean(|I|^2)`` (higher = sharper)."""
    p = np.abs(np.asarray(image, np.complex128)) ** 2
    return float(p.std() / p.mean())


def ssim(pred, label, data_range: float = 1.0, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al. 2004) of ``clip(pred, 0, 1)`` against ``label``, with a
    Gaussian window (sigma 1.5 px, truncated at 3.5 sigma: 11 x 11), K1 = 0.01, K2 = 0.03, sample
    covariances (N/(N-1)) and the mean over the region not touched by padding: the same as
    scikit-image's ``structural_similarity(pred, label, data_range=1, gaussian_weights=True,
    sigma=1.5)`` (parity-tested)."""
    from scipy.ndimage import gaussian_filter

    x = np.clip(np.asarray(pred, np.float64), 0, 1)
    y = np.asarray(label, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"ssim: expected two images of the same 2-D shape, got {x.shape} and {y.shape}")
    filt = dict(sigma=sigma, truncate=3.5, mode="reflect")
    ux, uy = gaussian_filter(x, **filt), gaussian_filter(y, **filt)
    uxx, uyy, uxy = gaussian_filter(x * x, **filt), gaussian_filter(y * y, **filt), gaussian_filter(x * y, **filt)
    n = (2 * int(3.5 * sigma + 0.5) + 1) ** 2
    cov = n / (n - 1.0)
    vx, vy, vxy = cov * (uxx - ux * ux), cov * (uyy - uy * uy), cov * (uxy - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    pad = (int(3.5 * sigma + 0.5) * 2 + 1 - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean()) if pad else float(s.mean())


# ------------------------------------------------------------------------- point targets
#: Label level that delimits a label component (points and shapes).
POINT_LABEL_THRESHOLD = 0.1
#: Prediction level above which a connected blob counts as a detected bright object.
FALSE_POINT_THRESHOLD = 0.25
#: Fraction of the label peak a prediction must reach over a point for it to count as recovered.
POINT_RECALL_FRACTION = 0.5
#: Largest label component (pixels) counted as a point rather than a shape. On the 256 x 256
#: working grid (0.78 mm pixels) one label point covers up to ~20 px and two touching points
#: ~40 px, while the smallest shape covers several hundred.
POINT_MAX_AREA = 64


def point_targets(label, max_area: int = POINT_MAX_AREA, threshold: float = POINT_LABEL_THRESHOLD):
    """Isolated point targets of a label image.

    Parameters
    ----------
    label : (H, W) array in [0, 1]
    max_area : int
        Components of ``label > threshold`` with at most this many pixels are points; larger
        ones are shapes.
    threshold : float

    Returns
    -------
    components : (H, W) int array
        Connected-component ids of ``label > threshold`` (8-connectivity; 0 = background).
    points : list of int
        Ids of the components that are points.
    """
    from scipy import ndimage

    lab = np.asarray(label, np.float64)
    if lab.ndim != 2:
        raise ValueError(f"point_targets: expected a 2-D label, got shape {lab.shape}")
    comp, n = ndimage.label(lab > threshold, structure=np.ones((3, 3), bool))
    if n == 0:
        return comp, []
    areas = np.bincount(comp.ravel(), minlength=n + 1)
    return comp, [i for i in range(1, n + 1) if areas[i] <= max_area]


def point_metrics(pred, label, max_area: int = POINT_MAX_AREA) -> dict:
    """Point-target scores of one prediction against its label.

    A point target is a connected component of ``label > 0.1`` of at most ``max_area``
    pixels (:func:`point_targets`); larger components are shapes.

    - a point is *recovered* when ``max(clip(pred, 0, 1))`` over its component reaches
      ``0.5 x`` the label's maximum there;
    - a *false point* is a connected component of ``pred > 0.25`` that touches no label
      component (point or shape);
    - the *amplitude ratio* of a point is prediction peak / label peak over its component.

    Returns a dict: ``n_points``, ``recovered`` (counts), ``false_points`` (count),
    ``amplitude_ratios`` (list, one per point). Aggregate over a test set with
    :func:`summarize_points`.
    """
    from scipy import ndimage

    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    lab = np.asarray(label, np.float64)
    if p.shape != lab.shape or p.ndim != 2:
        raise ValueError(f"point_metrics: expected two images of the same 2-D shape, got {p.shape} and {lab.shape}")
    comp, points = point_targets(lab, max_area)
    ratios = []
    if points:
        idx = np.asarray(points)
        pk_pred = ndimage.maximum(p, comp, idx)
        pk_lab = ndimage.maximum(lab, comp, idx)
        ratios = [float(a / b) for a, b in zip(np.atleast_1d(pk_pred), np.atleast_1d(pk_lab))]
    return dict(n_points=len(points), recovered=int(sum(r >= POINT_RECALL_FRACTION for r in ratios)),
                false_points=_untouched_components(p > FALSE_POINT_THRESHOLD, comp > 0), amplitude_ratios=ratios)


def _untouched_components(mask, covered) -> int:
    """Number of connected components (8-connectivity) of the bool image ``mask`` that share no
    pixel with the bool image ``covered`` (false points, false detections)."""
    from scipy import ndimage

    blobs, nb = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if not nb:
        return 0
    touches = ndimage.maximum(covered, blobs, np.arange(1, nb + 1))
    return int(np.sum(~np.atleast_1d(touches).astype(bool)))


def register_shift(pred, label, max_shift: int = 12) -> tuple[np.ndarray, tuple[int, int]]:
    """Move ``pred`` by the whole-pixel shift that best lines it up with ``label``.

    A rigid shift of the whole image is what a blind autofocus cannot see (a tilt of the
    array moves the image by about tilt x range without blurring it), so scores *up to a
    rigid shift* separate focus from placement. The shift maximises the correlation
    ``sum(clip(pred, 0, 1) shifted x label)`` over ``|dx|, |dy| <= max_shift`` pixels; it is
    chosen from the images alone, never from the point scores.

    Parameters
    ----------
    pred, label : (nx, ny) arrays on the same grid (``pred`` normalised as for
        :func:`point_metrics`; ``label`` in [0, 1]).
    max_shift : largest shift per axis, pixels (12 = 6 mm on the paper's 0.5 mm grid).

    Returns (``pred`` shifted, zero-filled at the edges (:func:`shift_image`); (dx, dy) in
    pixels, ``shifted[i + dx, j + dy] = pred[i, j]``).
    """
    from scipy.signal import correlate

    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    lab = np.asarray(label, np.float64)
    if p.shape != lab.shape or p.ndim != 2:
        raise ValueError(f"register_shift: expected two images of the same 2-D shape, got {p.shape} and {lab.shape}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"register_shift: max_shift must be an integer >= 0, got {max_shift!r}")
    r = int(min(max_shift, p.shape[0] - 1, p.shape[1] - 1))
    # full correlation: c[k, l] = sum label[i, j] pred[i - dx, j - dy] at dx = k - (n0 - 1)
    c = correlate(lab, p, mode="full", method="fft")
    c0, c1 = p.shape[0] - 1, p.shape[1] - 1
    win = c[c0 - r:c0 + r + 1, c1 - r:c1 + r + 1]
    k, l_ = np.unravel_index(int(np.argmax(win)), win.shape)
    dx, dy = int(k) - r, int(l_) - r
    return shift_image(np.asarray(pred), dx, dy), (dx, dy)


def shift_image(image, dx: int, dy: int) -> np.ndarray:
    """``image`` (nx, ny) moved by whole pixels, zero-filled: ``out[i + dx, j + dy] = image[i, j]``
    (the shift :func:`register_shift` found on one image, applied to another on its grid)."""
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"shift_image: expected a 2-D image, got shape {a.shape}")
    dx, dy = int(dx), int(dy)
    n0, n1 = a.shape
    out = np.zeros_like(a)
    if abs(dx) < n0 and abs(dy) < n1:
        out[max(dx, 0):n0 + min(dx, 0), max(dy, 0):n1 + min(dy, 0)] = a[max(-dx, 0):n0 + min(-dx, 0),
                                                                        max(-dy, 0):n1 + min(-dy, 0)]
    return out


#: Regions of :func:`region_errors`, in report order.
REGIONS = ("shape_interior", "shape_edges", "points", "background")


def label_regions(label, edge_px: int = 2) -> dict:
    """Masks of the regions of a label image (H, W) in [0, 1]: ``points`` (the isolated point
    components of :func:`point_targets`, grown by ``edge_px``), ``shape_interior`` (shape
    components shrunk by ``edge_px``), ``shape_edges`` (within ``edge_px`` of a shape's
    boundary, either side) and ``background`` (everything else). Bool arrays, disjoint."""
    from scipy import ndimage

    comp, pts = point_targets(label)
    is_point = np.isin(comp, pts) if pts else np.zeros(comp.shape, bool)
    shapes = (comp > 0) & ~is_point
    k = np.ones((3, 3), bool)
    inner = ndimage.binary_erosion(shapes, k, iterations=edge_px) if shapes.any() else shapes
    outer = ndimage.binary_dilation(shapes, k, iterations=edge_px) if shapes.any() else shapes
    near_pts = ndimage.binary_dilation(is_point, k, iterations=edge_px) if is_point.any() else is_point
    edges = outer & ~inner
    near_pts &= ~outer
    return {"shape_interior": inner, "shape_edges": edges, "points": near_pts,
            "background": ~(outer | near_pts)}


def region_errors(pred, label, edge_px: int = 2) -> dict:
    """Where the error of ``clip(pred, 0, 1)`` against ``label`` lives: for each region of
    :func:`label_regions`, ``<region>_sse`` (sum of squared errors), ``<region>_bias`` (sum of
    signed errors: > 0 brighter than the label) and ``<region>_px`` (pixels). Pool over images
    with :func:`summarize_regions`."""
    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    lab = np.asarray(label, np.float64)
    if p.shape != lab.shape or p.ndim != 2:
        raise ValueError(f"region_errors: expected two images of the same 2-D shape, got {p.shape} and {lab.shape}")
    d = p - lab
    out = {}
    for name, m in label_regions(lab, edge_px).items():
        out[f"{name}_sse"] = float(np.sum(d[m] ** 2))
        out[f"{name}_bias"] = float(np.sum(d[m]))
        out[f"{name}_px"] = int(m.sum())
    return out


def summarize_regions(per_image: list[dict]) -> dict:
    """Pooled :func:`region_errors`: per region the RMSE (``rmse_<region>``), the mean signed
    error (``bias_<region>``, label units) and the share of the total squared error
    (``error_share_<region>``, 0-1); NaN for a region no image has."""
    total = sum(d[f"{r}_sse"] for d in per_image for r in REGIONS) or float("nan")
    res = {}
    for r in REGIONS:
        n = sum(d[f"{r}_px"] for d in per_image)
        sse = sum(d[f"{r}_sse"] for d in per_image)
        res[f"rmse_{r}"] = float(np.sqrt(sse / n)) if n else float("nan")
        res[f"bias_{r}"] = float(sum(d[f"{r}_bias"] for d in per_image) / n) if n else float("nan")
        res[f"error_share_{r}"] = float(sse / total) if n else float("nan")
    return res


def summarize_points(per_image: list[dict]) -> dict:
    """Test-set point scores from :func:`point_metrics` results.

    Returns ``point_recall`` (recovered / all points, pooled over images; NaN without points),
    ``false_points`` (mean per image), ``point_amplitude_ratio`` (median over all points) and
    ``kept_amplitude_ratio`` (median over the recovered points: how bright the kept points are;
    when fewer than half the points are recovered, the median over all points is an erased
    point's residue and says nothing about the kept ones).
    """
    n = sum(d["n_points"] for d in per_image)
    ratios = [r for d in per_image for r in d["amplitude_ratios"]]
    kept = [r for r in ratios if r >= POINT_RECALL_FRACTION]
    return dict(point_recall=float(sum(d["recovered"] for d in per_image) / n) if n else float("nan"),
                false_points=float(np.mean([d["false_points"] for d in per_image])) if per_image else float("nan"),
                point_amplitude_ratio=float(np.median(ratios)) if ratios else float("nan"),
                kept_amplitude_ratio=float(np.median(kept)) if kept else float("nan"))


def detection_metrics(prob, label, threshold: float = 0.5, guard: int = 2) -> dict:
    """Scores of a point-detection map against its label.

    Parameters
    ----------
    prob : (H, W) array in [0, 1], the detector's probability that a point target lies at each pixel.
    label : (H, W) label image in [0, 1] on the same grid (point targets as in :func:`point_targets`).
    threshold : probability above which a pixel is a detection.
    guard : pixels by which a label point's component is grown before matching (a detection one
        or two pixels off a point is still that point's).

    Returns a dict: ``n_points``, ``detected`` (label points with a detection within their grown
    component), ``false_detections`` (components of ``prob > threshold`` touching no grown label
    point). Pool over images with :func:`summarize_detections`.
    """
    from scipy import ndimage

    p = np.asarray(prob, np.float64)
    lab = np.asarray(label, np.float64)
    if p.shape != lab.shape or p.ndim != 2:
        raise ValueError(f"detection_metrics: expected two images of the same 2-D shape, got {p.shape} and {lab.shape}")
    comp, points = point_targets(lab)
    grown = ndimage.grey_dilation(np.where(np.isin(comp, points), comp, 0), size=2 * int(guard) + 1) if points \
        else np.zeros(lab.shape, int)
    hit = p > threshold
    detected = len(np.unique(grown[hit & (grown > 0)]))
    return dict(n_points=len(points), detected=int(detected), false_detections=_untouched_components(hit, grown > 0))


def summarize_detections(per_image: list[dict]) -> dict:
    """Pooled :func:`detection_metrics`: ``detection_recall`` (detected / all points; NaN without
    points) and ``false_detections`` (mean per image)."""
    n = sum(d["n_points"] for d in per_image)
    return dict(detection_recall=float(sum(d["detected"] for d in per_image) / n) if n else float("nan"),
                false_detections=float(np.mean([d["false_detections"] for d in per_image])) if per_image
                else float("nan"))
