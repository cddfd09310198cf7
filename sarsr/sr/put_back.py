"""The input-peak put-back policies of :func:`sarsr.sr.super_resolve` (``keep_input_points``):
screening mode (``True``: every bright input peak the network erased goes back) and, for
networks without a point head, ``"auto"`` (erased peaks put back on defocused images, and those
the separate point detector calls points on the others)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..transforms import WORKING_SIZE, preprocess_input
from ..metrics import normalize
from ._loading import _CACHE, _build_net, _check_spec

__all__ = ["keep_input_points", "kept_peak_fraction", "apply_points_mode", "POINTS_MODES", "AUTO_KEEP_BELOW",
           "AUTO_PUT_BACK_THRESHOLD", "PUT_BACK_KEEP_FRACTION", "PUT_BACK_RADIUS", "point_probability",
           "load_point_detector", "DEFAULT_POINT_DETECTOR", "AUTO_DETECT_PROBABILITY", "AUTO_DETECT_THRESHOLD",
           "AUTO_DETECT_PATCH", "AUTO_PEAK_THRESHOLD"]

#: ``keep_input_points`` of :func:`super_resolve`: ``"auto"`` (default), ``True``, ``False``.
POINTS_MODES = ("auto", True, False)

#: ``"auto"`` puts the erased input peaks back on an image when the network kept fewer than this
#: fraction of the input's bright peaks at half their height (:func:`kept_peak_fraction`). Chosen
#: on validation scans (``paper_freehand``, seed 7100, 32 per sigma 0-4 mm; never the test sets) as
#: the lowest value that keeps output recall within 0.05 of the input's at 1-4 mm: there it fires
#: on 1 of 32 error-free scans, 16 of 32 at 1 mm and 30-31 of 32 at 2-4 mm
#: (``docs/sr_evaluation.md``, "Do no harm by default").
AUTO_KEEP_BELOW = 0.66

#: Lowest input peak (fraction of the input's maximum) that :func:`kept_peak_fraction` counts.
AUTO_PEAK_THRESHOLD = 0.25

#: Lowest input peak that ``"auto"`` puts back on a gated image (screening mode: 0.1). On the same
#: validation scans, the highest that costs at most 0.002 of recall at 0-4 mm against 0.1
#: (``scripts/measure/measure_points_gate.py``): it gains 0.4-0.8 dB of PSNR (fewer faint speckle peaks come
#: back); 0.25 would cost 0.005 at 1 mm, leaving it 0.049 below the input.
AUTO_PUT_BACK_THRESHOLD = 0.2

#: :func:`keep_input_points`: an input peak counts as erased when the output stays below this
#: fraction of its height within :data:`PUT_BACK_RADIUS` pixels.
PUT_BACK_KEEP_FRACTION = 0.8
PUT_BACK_RADIUS = 3

#: Registered point detector (:mod:`sarsr.models.detect`) whose shipped weights ``"auto"`` uses to
#: tell the erased input peaks that are point targets from speckle (:func:`point_probability`).
DEFAULT_POINT_DETECTOR = "point_detector"

#: ``"auto"`` with the detector puts back, on the images :data:`AUTO_KEEP_BELOW` leaves alone,
#: the erased input peaks the detector calls points. The gate itself is the same with or without
#: the detector, so that ``"auto"`` never puts back less than the rule without it and do no harm
#: holds by construction: lower gates chosen on the validation scans (0.5, then 0.55 with a
#: margin) kept recall within 0.03-0.04 of the input's at 2 mm there but fell 0.067-0.075 short on
#: other scans (``scripts/measure/measure_points_detector.py``). The three constants below were chosen on
#: validation scans (``paper_freehand``, seed 7100, 32 per sigma 0-4 mm; never a test set;
#: ``docs/points_detector_selection.json``, ``chosen_superset``): the highest 10 x recall - false
#: points per image at 0-1 mm. There, at 1 mm: recall 0.932 vs 0.912 without the detector, false
#: points 19.8 vs 18.8 per image, PSNR 26.72 vs 27.40 dB, amplitude ratio 0.79 vs 0.74; at 0 mm
#: 0.975 vs 0.953, 1.8 vs 1.0, 32.66 vs 33.80 dB; at 2-4 mm as without it.
#:
#: An erased input peak is a point when the detector's probability within 2 pixels of it exceeds
#: this.
AUTO_DETECT_PROBABILITY = 0.7

#: ``"auto"`` with the detector: lowest input peak (fraction of the input's maximum) considered.
AUTO_DETECT_THRESHOLD = 0.1

#: ``"auto"`` with the detector: a detected point goes back over +-this many pixels around its
#: input peak (the input's blob is wider than the label's point; +-4 px cost ~1 dB more at 0 mm).
AUTO_DETECT_PATCH = 2

def _check_pair(out, img, who):
    if out.shape != img.shape or out.ndim not in (2, 3):
        raise ValueError(f"{who}: expected output and image of one (H, W) or (B, H, W) shape, "
                         f"got {out.shape} and {img.shape}")


def _peaks(inp, out, threshold, keep_fraction, radius):
    """(peaks, erased) masks: the input's local maxima over 5 x 5 pixels of at least
    ``threshold``, and those the output leaves below ``keep_fraction`` x their height everywhere
    within ``radius`` pixels."""
    peaks = (inp == ndimage.maximum_filter(inp, 5)) & (inp >= threshold)
    erased = peaks & (ndimage.maximum_filter(out, 2 * int(radius) + 1) < keep_fraction * inp)
    return peaks, erased


def kept_peak_fraction(output, image, threshold: float = AUTO_PEAK_THRESHOLD, keep_fraction: float = 0.5,
                       radius: int = 3) -> float:
    """Fraction of the input's bright peaks that the network's output keeps.

    A peak is a local maximum over 5 x 5 pixels of ``|image| / max`` of at least ``threshold``;
    it is kept when the output reaches ``keep_fraction`` x its height within ``radius`` pixels
    (half, as a point counts as recovered in :func:`sarsr.metrics.point_metrics`; a textured
    plate the network renders flat at 60-70 % of its speckle peaks counts as kept). On an
    error-free input the shipped network keeps ~0.9 of them (median; it removes sidelobes and
    speckle), at 1 mm ~0.66, at 2-4 mm 0.14-0.36: it erases the peaks of a defocused input,
    points included, the signal that ``super_resolve(..., keep_input_points="auto")`` acts on.

    Parameters
    ----------
    output : (H, W) array in [0, 1], the super-resolved image.
    image : (H, W) array of the same shape, the network's input (magnitude or complex, any scale).

    Returns a float in [0, 1]; 1.0 when the input has no such peak (nothing to lose).
    """
    out = np.asarray(output, dtype=np.float32)
    img = np.asarray(image)
    _check_pair(out, img, "kept_peak_fraction")
    if out.ndim != 2:
        raise ValueError(f"kept_peak_fraction: expected one (H, W) image, got shape {out.shape}")
    inp = normalize(img)
    if not inp.max() > 0:
        return 1.0
    peaks, erased = _peaks(inp, out, threshold, keep_fraction, radius)
    n = int(peaks.sum())
    return 1.0 if n == 0 else float(1.0 - erased.sum() / n)


def keep_input_points(output, image, threshold: float = 0.1, keep_fraction: float = PUT_BACK_KEEP_FRACTION,
                      radius: int = PUT_BACK_RADIUS,
                      patch: int = 4, where=None, floor: float = 0.5):
    """Put back the bright peaks of the input that the network erased (screening mode).

    A peak of the input (``|image| / max``: a local maximum over 5 x 5 pixels of at least
    ``threshold``) counts as erased when the output stays below ``keep_fraction`` x its height
    everywhere within ``radius`` pixels; around each erased peak the output becomes
    ``max(output, input)`` over the input pixels of at least ``floor`` x the peak's height
    (default half), within ``patch`` pixels. Peaks the network kept, sharpened or moved by less than ``radius`` are
    left alone, so on a well-focused input (little position error) almost nothing changes.

    This buys recall with false alarms: a defocused input (2-4 mm position error) shows its
    points amid tens of speckle blobs of the same height, and they all come back (measured in
    ``docs/sr_evaluation.md``). :func:`super_resolve` applies it by default only to images whose
    peaks the network erased wholesale (``keep_input_points="auto"``).

    Parameters
    ----------
    output : (H, W) or (B, H, W) array in [0, 1], the super-resolved image.
    image : array of the same shape, the network's input (magnitude or complex, any scale).
    threshold : float, lowest input peak (fraction of the input's maximum) considered.
    keep_fraction : float in (0, 1], output height (fraction of the input peak) that counts as kept.
    radius, patch : int, pixels of the output grid.
    floor : float in (0, 1], how much of the input's blob goes back (fraction of its peak).
    where : optional bool array of ``output``'s shape: only erased peaks where it is True go back
        (``"auto"`` passes the point detector's verdict, :func:`point_probability`).

    Returns float32 of ``output``'s shape.
    """
    out = np.array(output, dtype=np.float32, copy=True)
    img = np.asarray(image)
    _check_pair(out, img, "keep_input_points")
    if not (0 < threshold < 1 and 0 < keep_fraction <= 1):
        raise ValueError(f"keep_input_points: threshold must be in (0, 1) and keep_fraction in (0, 1], got "
                         f"{threshold} and {keep_fraction}")
    if not 0 < floor <= 1:
        raise ValueError(f"keep_input_points: floor must be in (0, 1], got {floor}")
    if radius < 0 or patch < 0:
        raise ValueError(f"keep_input_points: radius and patch must be >= 0 pixels, got {radius} and {patch}")
    if where is not None:
        where = np.asarray(where, bool)
        if where.shape != out.shape:
            raise ValueError(f"keep_input_points: where has shape {where.shape}, expected {out.shape}")
    if out.ndim == 3:
        return np.stack([keep_input_points(o, i, threshold, keep_fraction, radius, patch,
                                           None if where is None else w, floor)
                         for o, i, w in zip(out, img, where if where is not None else [None] * len(out))])
    inp = normalize(img)
    if not inp.max() > 0:  # nothing in the input (or no finite maximum)
        return out
    _, erased = _peaks(inp, out, threshold, keep_fraction, radius)
    if where is not None:
        erased &= where
    H, W = inp.shape
    for i, j in np.argwhere(erased):
        win = (slice(max(i - patch, 0), min(i + patch + 1, H)), slice(max(j - patch, 0), min(j + patch + 1, W)))
        w = inp[win]
        out[win] = np.maximum(out[win], np.where(w >= floor * inp[i, j], w, 0))
    return out


def _points_mode(mode, who):
    """``mode`` as one of :data:`POINTS_MODES` (``"auto"`` the string, or a bool), else ValueError."""
    if isinstance(mode, (bool, np.bool_)):
        return bool(mode)
    if isinstance(mode, str) and mode == "auto":
        return "auto"
    raise ValueError(f"{who}: keep_input_points must be 'auto', True or False, got {mode!r}")


def load_point_detector(detector=None, device=None) -> torch.nn.Module:
    """The point detector: None (the shipped :data:`DEFAULT_POINT_DETECTOR` weights), a
    registered name (its shipped weights), a training run's checkpoint path, or an
    ``nn.Module``; in eval mode."""
    if isinstance(detector, torch.nn.Module):
        return detector.eval()
    _check_spec(detector, "detector")
    key = ("detector", str(detector), str(device))
    if key in _CACHE:
        return _CACHE[key]
    net = _build_net(detector, DEFAULT_POINT_DETECTOR, "point_detection", "detector")
    net = net.to(device or "cpu").eval()
    _CACHE[key] = net
    return net


@torch.no_grad()
def point_probability(image, detector=None, size: int | None = WORKING_SIZE, device=None) -> np.ndarray:
    """Probability that a point target lies at each pixel of ``image`` (the point detector,
    :mod:`sarsr.models.detect`).

    Parameters
    ----------
    image : (H, W) or (B, H, W) array, magnitude or complex, any scale.
    detector : see :func:`load_point_detector` (default: the shipped weights).
    size : the detector's working grid (it was trained on 256 x 256 images of the 200 x 200 x
        0.2 m scenes); the map is resized back to the image's grid. None: the image's own grid.

    Returns float32 in [0, 1] of the image's shape.
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3) or 0 in a.shape:
        raise ValueError(f"point_probability: expected an (H, W) or (B, H, W) image, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("point_probability: image contains NaN or inf")
    net = load_point_detector(detector, device)
    dev = next(net.parameters()).device
    batch = a[None] if a.ndim == 2 else a
    x = torch.stack([preprocess_input(im, size) for im in batch]).to(dev)
    p = torch.sigmoid(net(x).float())
    if tuple(p.shape[-2:]) != tuple(batch.shape[-2:]):
        p = F.interpolate(p, size=tuple(batch.shape[-2:]), mode="bilinear", align_corners=False)
    p = p[:, 0].clamp(0, 1).cpu().numpy().astype(np.float32)
    return p[0] if a.ndim == 2 else p


def apply_points_mode(output, image, mode="auto", detector=None):
    """``output`` with the erased input peaks put back as ``mode`` says (``super_resolve``'s
    ``keep_input_points``): ``False`` never, ``True`` always (:func:`keep_input_points`, peaks
    down to 0.1 of the maximum), ``"auto"``: every erased peak down to
    :data:`AUTO_PUT_BACK_THRESHOLD` on the images whose kept fraction (:func:`kept_peak_fraction`)
    is below :data:`AUTO_KEEP_BELOW` (a defocused input); on the others, with the point detector
    (default; ``detector`` as in :func:`load_point_detector`), the erased peaks (down to
    :data:`AUTO_DETECT_THRESHOLD`) where the detector's probability within 2 pixels exceeds
    :data:`AUTO_DETECT_PROBABILITY`, each over +-:data:`AUTO_DETECT_PATCH` pixels, and nothing
    with ``detector=False`` (the rule before the detector).

    ``output`` and ``image`` are (B, H, W) on one grid. Returns ``(images, restored)``: float32
    (B, H, W) and a bool array (B,), True where every erased peak (speckle included) was put back.
    """
    mode = _points_mode(mode, "apply_points_mode")
    out = np.asarray(output, dtype=np.float32)
    img = np.asarray(image)
    _check_pair(out, img, "apply_points_mode")
    if out.ndim != 3:
        raise ValueError(f"apply_points_mode: expected (B, H, W) arrays, got shape {out.shape}")
    if mode is False:
        return out, np.zeros(len(out), bool)
    if mode is True:
        restored = np.ones(len(out), bool)
    else:
        restored = np.array([kept_peak_fraction(o, i) < AUTO_KEEP_BELOW for o, i in zip(out, img)], bool)
    res = out.copy()
    put_back = {} if mode is True else {"threshold": AUTO_PUT_BACK_THRESHOLD}  # True: screening mode's own default
    for b in np.flatnonzero(restored):
        res[b] = keep_input_points(out[b], img[b], **put_back)
    if mode == "auto" and detector is not False:
        # the detector runs only on images with an erased peak (keep_input_points' own test)
        rest = [b for b in np.flatnonzero(~restored)
                if _peaks(normalize(img[b]), out[b], AUTO_DETECT_THRESHOLD, PUT_BACK_KEEP_FRACTION,
                          PUT_BACK_RADIUS)[1].any()]
        if rest:
            prob = point_probability(img[rest], detector)
            for b, p in zip(rest, prob):
                res[b] = keep_input_points(out[b], img[b], threshold=AUTO_DETECT_THRESHOLD, patch=AUTO_DETECT_PATCH,
                                           where=ndimage.maximum_filter(p, 5) > AUTO_DETECT_PROBABILITY)
    return res, restored


