"""Super-resolution inference: :func:`super_resolve` turns a defocused SAR image (EMPM,
backprojection, ... magnitude or complex, any scale, any size) into a sharp image in label
units [0, 1] with a trained network (the shipped default weights unless told otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import normalize
from .models import create_model, load_run, reparameterize
from .data.torch_dataset import WORKING_SIZE, preprocess_input, resize_image

__all__ = ["super_resolve", "load_sr_model", "resample_output", "keep_input_points", "kept_peak_fraction",
           "apply_points_mode", "POINTS_MODES", "AUTO_KEEP_BELOW", "AUTO_PUT_BACK_THRESHOLD", "RESAMPLE_METHODS",
           "PUT_BACK_KEEP_FRACTION", "PUT_BACK_RADIUS",
           "point_probability", "load_point_detector", "DEFAULT_POINT_DETECTOR",
           "AUTO_DETECT_PROBABILITY", "AUTO_DETECT_THRESHOLD", "AUTO_DETECT_PATCH",
           "DEFAULT_SR_MODEL", "read_image"]

#: How :func:`super_resolve` brings the working-grid output back to the input's grid.
RESAMPLE_METHODS = ("peak", "bilinear", "max")

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
#: (``docs/measure_points_gate.py``): it gains 0.4-0.8 dB of PSNR (fewer faint speckle peaks come
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
#: other scans (``docs/measure_points_detector.py``). The three constants below were chosen on
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

#: Registered network whose shipped weights :func:`super_resolve` uses by default.
DEFAULT_SR_MODEL = "srvit_hsm"
_CACHE: dict = {}


def _build_net(spec, default: str, task: str, what: str) -> torch.nn.Module:
    """The network ``spec`` names: None (the shipped ``default`` weights), a registered name (its
    shipped weights) or a training run's checkpoint / state-dict path (the architecture from the
    run's effective config, ``task`` checked)."""
    if spec is None or (isinstance(spec, str) and not Path(spec).suffix):
        return create_model(spec or default, pretrained=True)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"no {what} file {path}")
    return load_run(path, tasks=(task,))[0]


def _check_spec(spec, what: str):
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"{what} must be a registered name, a checkpoint path or an nn.Module, got "
                         f"{type(spec).__name__}")


def load_sr_model(model=None, device=None) -> torch.nn.Module:
    """Resolve ``model``: None (the ``SARSR_SR_MODEL`` environment variable if set, else the
    default shipped weights), a registered name (its shipped
    weights), a checkpoint / state-dict path (a training run's ``model.pt``, ``best.pt`` or
    ``last.pt``; the architecture is read from the run's config), or an ``nn.Module``.
    Returned in eval mode, reparameterised."""
    if isinstance(model, torch.nn.Module):
        return model.eval()
    _check_spec(model, "model")
    if model is None and os.environ.get("SARSR_SR_MODEL"):
        model = os.path.expanduser(os.environ["SARSR_SR_MODEL"])
    key = (str(model), str(device))
    if key in _CACHE:
        return _CACHE[key]
    net = _build_net(model, DEFAULT_SR_MODEL, "super_resolution", "model")
    net = reparameterize(net.to(device or "cpu"))
    if not all(bool(torch.isfinite(t).all()) for t in net.state_dict().values() if t.is_floating_point()):
        raise ValueError(f"{model or DEFAULT_SR_MODEL}: the weights hold NaN or inf (a diverged training run?)")
    _CACHE[key] = net
    return net


def resample_output(y, shape, method: str = "peak"):
    """Resample network outputs from the working grid to ``shape`` (the input's grid).

    Parameters
    ----------
    y : torch tensor (B, 1, h, w) on the working grid (a bilinear resize of the input grid).
    shape : (H, W) target grid.
    method : ``"bilinear"`` (area-consistent interpolation: narrow peaks that fall between
        the output samples lose up to ~30 % of their height), ``"max"`` (each output pixel the
        maximum of the working-grid samples in its footprint: every peak kept, edges dilated
        by up to a pixel), ``"peak"`` (default: bilinear everywhere except at local maxima of
        the footprint maximum, where the maximum is kept: peaks at their height, background
        and edges as smooth as bilinear).

    Returns a tensor (B, 1, H, W).
    """
    if method not in RESAMPLE_METHODS:
        raise ValueError(f"resample: expected one of {RESAMPLE_METHODS}, got {method!r}")
    H, W = int(shape[0]), int(shape[1])
    if tuple(y.shape[-2:]) == (H, W):
        return y
    lin = F.interpolate(y, size=(H, W), mode="bilinear", align_corners=False)
    if method == "bilinear":
        return lin
    mx = F.adaptive_max_pool2d(y, (H, W))
    if method == "max":
        return mx
    is_peak = mx >= F.max_pool2d(mx, 3, stride=1, padding=1)
    return torch.where(is_peak, torch.maximum(mx, lin), lin)


def _check_pair(out, img, who):
    if out.shape != img.shape or out.ndim not in (2, 3):
        raise ValueError(f"{who}: expected output and image of one (H, W) or (B, H, W) shape, "
                         f"got {out.shape} and {img.shape}")


def _peaks(inp, out, threshold, keep_fraction, radius):
    """(peaks, erased) masks: the input's local maxima over 5 x 5 pixels of at least
    ``threshold``, and those the output leaves below ``keep_fraction`` x their height everywhere
    within ``radius`` pixels."""
    from scipy import ndimage

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
    from scipy import ndimage

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


@torch.no_grad()
def super_resolve(image, model=None, size: int | None = WORKING_SIZE, device=None, keep_size: bool = True,
                  resample: str = "peak", keep_input_points="auto", point_detector=None) -> np.ndarray:
    """Super-resolve one image or a batch.

    Parameters
    ----------
    image : (H, W) or (B, H, W) array, real magnitude or complex, any scale.
    model : see :func:`load_sr_model` (default: the shipped ``srvit_hsm`` weights).
    size : working resolution: the input is bilinearly resized to ``size`` x ``size`` (the
        paper's 200 -> 256 grid) and the output resized back; None works at the input size.
    keep_size : False returns the output on the ``size`` x ``size`` working grid, without the
        resampling back (for scoring against labels on that grid).
    resample : how the output returns to the input's grid (:func:`resample_output`):
        ``"peak"`` (default) keeps every recovered point at its height, ``"bilinear"``,
        ``"max"``.
    keep_input_points : ``"auto"`` (default), ``True`` or ``False``: whether the bright input peaks
        the network erased are put back (:func:`keep_input_points`, :func:`apply_points_mode`).
        ``"auto"`` puts back the erased peaks that the point detector calls point targets
        (:func:`point_probability`), and every erased peak on an image whose bright peaks the
        network erased wholesale (it kept fewer than :data:`AUTO_KEEP_BELOW` of them: a defocused
        input, typically 1-2 mm of position error or more), with a warning; there the
        output keeps every point its input shows, at the price of the input's speckle blobs.
        ``True`` puts back every erased peak on every image (screening mode), ``False`` returns
        the network's output alone.
    point_detector : the detector ``"auto"`` uses (:func:`load_point_detector`; default the
        shipped weights), or ``False`` for the rule without it (nothing put back outside the gate).

    Position error above ~1 mm defocuses the input; where the raw echoes are at hand, correct
    the positions first (:func:`sarsr.radar.autofocus`, ``sarsr reconstruct --autofocus``,
    scenario key ``reconstruction.autofocus``) and super-resolve the refocused image::

        r = radar.autofocus(echo, tx, rx, k, grid, lattice_shape=shape)
        sharp = super_resolve(r.image)
        screened = super_resolve(r.image, keep_input_points=True)  # nothing the input shows lost

    An autofocused image rarely triggers ``"auto"`` (it keeps most of its bright peaks) while
    the network still moves some of its points; screening mode (``True``) keeps more of the points
    the autofocused input shows than the default (+0.01 to +0.09 recall at 2-3 mm of position
    error), though not always all of them (docs/autofocus.md, "Screening after autofocus").

    Returns float32 of the input's shape (or the working grid), in label units, clipped to [0, 1]. The input is
    normalised by its own maximum magnitude, so its absolute scale does not matter.
    """
    a = np.asarray(image)
    if a.dtype.kind not in "fciub":
        raise ValueError(f"super_resolve: expected a numeric image, got dtype {a.dtype}")
    if a.ndim not in (2, 3) or 0 in a.shape:
        raise ValueError(f"super_resolve: expected an (H, W) or (B, H, W) image, got shape {a.shape}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"super_resolve: size must be a positive integer or None, got {size!r}")
    if resample not in RESAMPLE_METHODS:
        raise ValueError(f"super_resolve: resample must be one of {RESAMPLE_METHODS}, got {resample!r}")
    keep_input_points = _points_mode(keep_input_points, "super_resolve")
    if not np.all(np.isfinite(a)):
        raise ValueError("super_resolve: image contains NaN or inf")
    from ._validate import check_memory

    batch_n = 1 if a.ndim == 2 else a.shape[0]
    side = max(a.shape[-2:]) if size is None else int(size)
    # working image and features (up to ~80 float32 planes at the working size), plus the
    # float64 / float32 copies of the input and the float32 output at the input's size
    check_memory(float(batch_n) * side * side * 4 * 80 + float(a.size) * 16, f"super-resolving {a.shape} at {side}^2")
    net = load_sr_model(model, device)
    dev = next(net.parameters()).device
    batch = a[None] if a.ndim == 2 else a
    H, W = batch.shape[-2:]
    cin = net.default_cfg.get("in_chans", 1) if hasattr(net, "default_cfg") else 1
    x = torch.stack([preprocess_input(im, size, complex_input=cin == 2) for im in batch]).to(dev)
    y = net(x).float()
    if keep_size and tuple(y.shape[-2:]) != (H, W):
        y = resample_output(y, (H, W), resample)
    if not bool(torch.isfinite(y).all()):
        raise ValueError("super_resolve: the network produced NaN or inf (are its weights finite? a diverged "
                         "training run's checkpoint cannot be used)")
    y = y.clamp(0, 1)[:, 0].cpu().numpy().astype(np.float32)
    if keep_input_points is not False:
        shown = batch if tuple(y.shape[-2:]) == (H, W) else np.stack(  # the input on the working grid
            [resize_image(torch.from_numpy(normalize(im))[None], y.shape[-1])[0].numpy() for im in batch])
        y, restored = apply_points_mode(y, shown, keep_input_points, point_detector)
        if keep_input_points == "auto" and restored.any():
            import warnings

            warnings.warn(f"super_resolve: the network erased most bright peaks of {int(restored.sum())} of "
                          f"{len(restored)} image(s) (a defocused input: position error of 1-2 mm or more?); "
                          f"their erased peaks were put back, speckle included. Autofocus the echoes first "
                          f"(sarsr.radar.autofocus) for a clean image, or pass keep_input_points=False for the "
                          f"network alone.", stacklevel=3)  # past torch.no_grad's wrapper
    return y[0] if a.ndim == 2 else y


def read_image(path, variable: str | None = None) -> np.ndarray:
    """Read a 2-D image (or a stack) from .npy, .h5/.hdf5, .mat (v5 or v7.3) or PNG/JPEG.

    ``variable`` names the dataset / MATLAB variable; by default one whose name contains
    ``empm`` or ``ffh`` (the efficient irregular-geometry image) is preferred, else the first
    2-D numeric one. MATLAB stacks (H, W, N) become (N, H, W).

    Returns a numeric (H, W) or (N, H, W) array. A file that is empty, corrupt, not numeric,
    of another shape or too large for memory raises a one-line ``ValueError`` naming it.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not an image file")
    ext = p.suffix.lower()
    if ext not in (".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".h5", ".hdf5", ".mat"):
        raise ValueError(f"{p}: unsupported format {ext!r} (use .npy, .h5, .mat or .png)")
    if p.stat().st_size == 0:
        raise ValueError(f"{p}: empty file")
    try:
        img = _read_any(p, ext, variable)
    except (ValueError, FileNotFoundError, MemoryError):
        raise
    except Exception as exc:  # every reader's own failure (corrupt file) becomes one line naming it
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"{p}: not a readable {ext} image ({msg})") from None
    img = np.asarray(img)
    if img.dtype.kind not in "fciub" or img.ndim not in (2, 3) or 0 in img.shape:
        raise ValueError(f"{p}: expected a numeric (H, W) or (N, H, W) image, got {img.dtype} {img.shape}")
    return img


def _read_any(p: Path, ext: str, variable):
    from ._validate import check_memory

    if ext == ".npy":
        try:
            with open(p, "rb") as fh:  # check the header before allocating anything
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise ValueError(f"{p}: not a readable .npy file ({' '.join(str(exc).split())[:120]})") from None
        if dtype.kind not in "fciub" or dtype.hasobject:
            raise ValueError(f"{p}: .npy of dtype {dtype}, not a numeric image")
        check_memory(float(np.prod(shape, dtype=float)) * dtype.itemsize, f"{p.name}")
        return np.load(p, allow_pickle=False)
    if ext in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from PIL import Image

        try:
            im = Image.open(p)
        except Image.DecompressionBombError as exc:
            raise ValueError(f"{p}: image too large to decode ({' '.join(str(exc).split())[:120]})") from None
        with im:  # the header first: size and bands before any pixel is decoded
            w, h, bands = im.size[0], im.size[1], max(len(im.getbands()), 1)
            # decoded bands (<= 4 bytes each) and the float32 image we keep
            check_memory(float(w) * h * (bands + 1) * 4, f"{p.name} ({w} x {h} pixels)")
            if bands == 1 or im.mode in ("1", "L", "I", "F", "I;16", "I;16B", "I;16L"):
                return np.asarray(im.convert("F"), dtype=np.float32)
            rgb = np.asarray(im.convert("RGB"))
            return rgb.astype(np.float32).mean(-1)
    if ext in (".h5", ".hdf5"):
        import h5py

        with h5py.File(p, "r") as f:  # list candidates first, read only the chosen one
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.ndim in (2, 3)
                         and o.dtype.kind in "fciu" else None)
            ds = f[_choose(names, variable, p)]
            check_memory(float(ds.size) * ds.dtype.itemsize, f"{p.name}:{ds.name}")
            return ds[()]
    from .io.matlab import load_mat

    arrays = {k: v for k, v in load_mat(p).items() if isinstance(v, np.ndarray)}
    arrays = {k: (np.moveaxis(v, -1, 0) if v.ndim == 3 else v) for k, v in arrays.items()}
    arrays = {k: v for k, v in arrays.items() if v.ndim in (2, 3) and v.dtype.kind in "fciu"}
    return arrays[_choose(list(arrays), variable, p)]


def _choose(names: list[str], variable: str | None, p: Path) -> str:
    """``variable`` if given, else the first name containing empm/ffh, else the first name."""
    if variable is not None:
        if variable not in names:
            raise ValueError(f"{p}: no 2-D variable {variable!r} (has: {sorted(names)})")
        return variable
    if not names:
        raise ValueError(f"{p}: no 2-D numeric variable")
    pref = [k for k in names if "empm" in k.lower() or "ffh" in k.lower()]
    return (pref or names)[0]
