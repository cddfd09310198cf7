"""Super-resolution inference: :func:`super_resolve` turns a defocused SAR image (EMPM,
backprojection, ... magnitude or complex, any scale, any size) into a sharp image in label
units [0, 1] with a trained network (the shipped default weights unless told otherwise)."""


from __future__ import annotations

import os
from pathlib import Path
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ..transforms import WORKING_SIZE, resize_image
from ..metrics import normalize
from ..radar.imaging.imagers import DEFAULT_INPUT
from ..models import input_transform, reparameterize
from ._loading import DEFAULT_SR_MODEL, _CACHE, _build_net, _check_spec
from .._validate import check_memory
from .points import (DEFAULT_POINT_THRESHOLD, DEFAULT_PRESENCE_MASS, SPOT_WIDTH_PX, compose, decode_points,
                     decode_uncertain, points_table)
from ..radar.geometry.scene import LABEL_WIDTH
from .put_back import _points_mode, apply_points_mode
from ..io.images import read_image  # re-exported: the image reader lives in sarsr.io

__all__ = ["super_resolve", "load_sr_model", "network_pass", "resample_output", "RESAMPLE_METHODS", "read_image"]

RESAMPLE_METHODS = ("peak", "bilinear", "max")


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


@torch.no_grad()
def network_pass(batch, net, size: int | None = WORKING_SIZE):
    """One pass of ``net`` (a loaded network, :func:`load_sr_model`) over ``batch`` (B, H, W)
    images, magnitude or complex, any scale (each normalised by its maximum and resized to
    ``size``). Returns ``(image, head)``: the image head's output, a tensor (B, 1, h, w) on the
    working grid, not clipped, and the point head's (B, 4, h, w) or None for a network
    without one. ValueError when the network produces NaN or inf."""
    dev = next(net.parameters()).device
    if getattr(net, "default_cfg", {}).get("in_chans", 1) == 2 and not all(np.iscomplexobj(im) for im in batch):
        warnings.warn("super_resolve: this network reads the complex image (real and imaginary parts: it was trained "
                      "on the phase too); a magnitude image gives it none, and its output degrades. Pass the "
                      "complex reconstruction, or use a magnitude network.", stacklevel=3)
    transform = input_transform(net, size)
    x = torch.stack([transform(im) for im in batch]).to(dev)
    out = net(x).float()
    if not bool(torch.isfinite(out).all()):
        raise ValueError("super_resolve: the network produced NaN or inf (are its weights finite? a diverged "
                         "training run's checkpoint cannot be used)")
    if getattr(net, "has_point_head", False):
        return out[:, :1], out[:, 1:5]
    return out[:, :1], None


@torch.no_grad()
def super_resolve(image, model=None, size: int | None = WORKING_SIZE, device=None, keep_size: bool = True,
                  resample: str = "peak", keep_input_points="auto", point_detector=None,
                  return_points: bool = False, point_threshold: float = DEFAULT_POINT_THRESHOLD, grid=None,
                  presence_mass: float = DEFAULT_PRESENCE_MASS):
    """Super-resolve one image or a batch.

    Parameters
    ----------
    image : (H, W) or (B, H, W) array, real magnitude or complex, any scale.
    model : see :func:`load_sr_model` (default: the shipped ``srvit_hsm`` weights).
    size : working resolution: the input is bilinearly resized to ``size`` x ``size`` (the
        paper's 200 -> 256 grid) and the output resized back; None works at the input size.
    keep_size : False returns the output on the ``size`` x ``size`` working grid, without the
        resampling back (for scoring against labels on that grid).
    resample : how the image head's output returns to the input's grid (:func:`resample_output`):
        ``"peak"`` (default) keeps every recovered point at its height, ``"bilinear"``, ``"max"``.
    keep_input_points : ``"auto"`` (default), ``True`` or ``False``.

        - ``"auto"``, with a network that has a point head (:class:`sarsr.models.srvit.PointHead`):
          the image head's output with every point the head detects (probability above
          ``point_threshold``) drawn as the label's own spot (1.2 mm Gaussian) at its detected
          position and amplitude, rendered on the returned grid itself
          (:func:`sarsr.sr.points.compose`): one network pass, nothing taken from the input.
          With a network without one: the erased input peaks that the separate point detector
          calls points are put back, and every erased peak on a defocused image
          (:func:`sarsr.sr.put_back.apply_points_mode`).
        - ``True`` (screening mode): every bright input peak the network erased is put back,
          with the input's own blob (:func:`sarsr.sr.put_back.keep_input_points`), on top of the
          ``"auto"`` output: nothing the input shows is lost, at the price of its sidelobes and
          speckle.
        - ``False``: the image head's output alone.
    point_detector : for networks without a point head: the detector ``"auto"`` uses
        (:func:`sarsr.sr.put_back.load_point_detector`), or ``False`` for none.
    return_points : also return the detected points (networks with a point head): a structured
        array per image with :data:`sarsr.sr.points.POINT_FIELDS` (x, y in metres on ``grid``,
        amplitude, confidence, row, column).
    point_threshold : point probability (0-1) above which the point head's local maxima count.
    presence_mass : with a point head, where no pixel passes ``point_threshold`` but the point
        probability summed over a +-3.9 mm box exceeds this (a point whose position the defocused
        input does not pin down), an *uncertain point* is drawn, as wide as its position is
        unsure (:func:`sarsr.sr.points.decode_uncertain`: the head's own spread, 1.2-5 mm); 0
        draws none.
    grid : the input image's :class:`sarsr.radar.ImageGrid`, for the points' coordinates
        (default: the paper's field, [-0.1, 0.1) m on both axes).

    Position error above ~1 mm defocuses the input; where the raw echoes are at hand, correct
    the positions first (:func:`sarsr.radar.autofocus`, ``sarsr reconstruct --autofocus``,
    scenario key ``reconstruction.autofocus``) and super-resolve the refocused image::

        r = radar.autofocus(echo, tx, rx, k, grid, lattice_shape=shape)
        sharp = super_resolve(r.image)
        screened = super_resolve(r.image, keep_input_points=True)  # nothing the input shows lost

    Returns float32 of the input's shape (or the working grid), in label units, clipped to [0,
    1]; with ``return_points`` a tuple ``(images, points)``, ``points`` one structured array
    (one image) or a list of them (a batch). The input is normalised by its own maximum
    magnitude, so its absolute scale does not matter.
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
    if isinstance(presence_mass, bool) or not isinstance(presence_mass, (int, float)) or not presence_mass >= 0:
        raise ValueError(f"super_resolve: presence_mass must be a number >= 0 (0: no uncertain points), got {presence_mass!r}")
    if isinstance(point_threshold, bool) or not isinstance(point_threshold, (int, float)) or not 0 <= point_threshold < 1:
        raise ValueError(f"super_resolve: point_threshold must be a probability in [0, 1), got {point_threshold!r}")
    if not np.all(np.isfinite(a)):
        raise ValueError("super_resolve: image contains NaN or inf")
    batch_n = 1 if a.ndim == 2 else a.shape[0]
    side = max(a.shape[-2:]) if size is None else int(size)
    # working image and features (up to ~80 float32 planes at the working size), plus the
    # float64 / float32 copies of the input and the float32 output at the input's size
    check_memory(float(batch_n) * side * side * 4 * 80 + float(a.size) * 16, f"super-resolving {a.shape} at {side}^2")
    net = load_sr_model(model, device)
    if return_points and not getattr(net, "has_point_head", False):
        raise ValueError("super_resolve: return_points needs a network with a point head (model option point_head > 0); "
                         f"{getattr(net, 'default_cfg', {}).get('name', type(net).__name__)} has none")
    batch = a[None] if a.ndim == 2 else a
    H, W = batch.shape[-2:]
    y, head = network_pass(batch, net, size)
    head_shape = tuple(y.shape[-2:])
    if keep_size and head_shape != (H, W):
        y = resample_output(y, (H, W), resample)
    y = y.clamp(0, 1)[:, 0].cpu().numpy().astype(np.float32)
    found = decode_points(head, point_threshold) if head is not None else None
    unsure = decode_uncertain(head, found, presence_mass) if head is not None else None
    if head is not None and keep_input_points is not False:
        y = np.stack([compose(img, pts, head_shape, uncertain=u) for img, pts, u in zip(y, found, unsure)])
    if keep_input_points is True or (keep_input_points == "auto" and head is None):
        shown = batch if tuple(y.shape[-2:]) == (H, W) else np.stack(  # the input on the returned grid
            [resize_image(torch.from_numpy(normalize(im))[None], y.shape[-1])[0].numpy() for im in batch])
        y, restored = apply_points_mode(y, shown, keep_input_points, point_detector)
        if keep_input_points == "auto" and restored.any():
            warnings.warn(f"super_resolve: the network erased most bright peaks of {int(restored.sum())} of "
                          f"{len(restored)} image(s) (a defocused input: position error of 1-2 mm or more?); "
                          f"their erased peaks were put back, speckle included. Autofocus the echoes first "
                          f"(sarsr.radar.autofocus) for a clean image, or pass keep_input_points=False for the "
                          f"network alone.", stacklevel=3)  # past torch.no_grad's wrapper
    y = y[0] if a.ndim == 2 else y
    if not return_points:
        return y
    tables = [points_table(np.concatenate([pts, u[:, :4]]), head_shape, (H, W), tuple(y.shape[-2:]), grid,
                           spread_m=np.r_[np.full(len(pts), LABEL_WIDTH), u[:, 4] * LABEL_WIDTH / SPOT_WIDTH_PX])
              for pts, u in zip(found, unsure)]
    return y, (tables[0] if a.ndim == 2 else tables)
