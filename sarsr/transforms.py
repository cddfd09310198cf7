"""The input transform every network of the package is trained and run with, in one place.

1. input = ``|image|`` of a reconstruction, or, for networks with two input channels
   (``default_cfg["in_chans"] == 2``), its real and imaginary parts;
2. bilinear resize (``align_corners=False``) from the stored n x n grid to the working grid
   ``size`` x ``size`` (:data:`WORKING_SIZE`, the paper's 200 -> 256);
3. normalisation: divided by its own maximum (per image: the magnitude's, or for two channels
   the largest absolute real or imaginary part), so a network never sees the simulator's or the
   radar's absolute scale.

Training (:class:`sarsr.data.SARDataset`), super-resolution (:func:`sarsr.sr.super_resolve`),
the point detector and recognition all call :func:`preprocess_input`; for a given network,
:func:`sarsr.models.input_transform` binds it to the network's default configuration. Only
torch and numpy: the module sits below both the dataset and the model layers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .config import WORKING_SIZE

__all__ = ["preprocess_input", "resize_image", "remove_phase_ramp", "WORKING_SIZE"]


def remove_phase_ramp(image: np.ndarray) -> np.ndarray:
    """A complex image (H, W) with its linear phase ramp taken out: multiplied by
    ``exp(-1j (a i + b j))``, a and b (rad per pixel) the phases of its mean neighbour products
    ``sum z[i + 1, j] conj(z[i, j])`` along rows and columns (weighted by magnitude). A linear
    ramp carries no information about the scene (a reconstruction's centring convention or
    reference offset: the real AWR1443 capture's EMPM image steps by ~180 deg a pixel, the
    simulator's by ~0), and resizing an image that turns by ~180 deg a pixel cancels its
    magnitude between pixels. Returns complex64; a real image or one without signal comes back
    as complex64 unchanged."""
    z = np.asarray(image)
    if z.ndim != 2:
        raise ValueError(f"remove_phase_ramp: expected one (H, W) image, got shape {z.shape}")
    z = z.astype(np.complex64)
    if not np.iscomplexobj(image) or z.shape[0] < 2 or z.shape[1] < 2:
        return z
    steps = [np.vdot(z[:-1], z[1:]), np.vdot(z[:, :-1], z[:, 1:])]  # sum conj(z[i]) z[i + 1]
    if not all(np.isfinite(s) and abs(s) > 0 for s in steps):
        return z
    a, b = (float(np.angle(s)) for s in steps)
    i, j = np.arange(z.shape[0])[:, None], np.arange(z.shape[1])[None, :]
    return (z * np.exp(-1j * (a * i + b * j))).astype(np.complex64)


def resize_image(img: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear resize of (C, H, W) to (C, size, size); ``None`` keeps the size."""
    if size is None or tuple(img.shape[-2:]) == (size, size):
        return img
    return F.interpolate(img[None], size=(size, size), mode="bilinear", align_corners=False)[0]


def preprocess_input(image: np.ndarray, size: int | None = WORKING_SIZE, complex_input: bool = False) -> torch.Tensor:
    """Complex or magnitude image (H, W), any scale -> normalised float32 tensor (C, size, size):
    C = 1 (magnitude, maximum 1) or 2 (real, imaginary; ``complex_input``; largest absolute
    component 1)."""
    a = np.asarray(image)
    if a.dtype.kind == "f" and a.dtype.itemsize > 4 or a.dtype.kind == "c" and a.dtype.itemsize > 8:
        big = float(np.abs(a).max()) if a.size else 0.0  # scale in float64 first: 1e308 must not become inf
        if big > 0 and np.isfinite(big):
            a = a / big
    if complex_input:
        if not np.iscomplexobj(a):
            a = a.astype(np.complex64)
        a = remove_phase_ramp(a)  # before resizing: interpolating across a ramp cancels the magnitude
        x = torch.from_numpy(np.stack([a.real, a.imag]).astype(np.float32))
    else:
        x = torch.from_numpy(np.abs(a).astype(np.float32))[None]
    x = resize_image(x, size)
    peak = x.abs().amax() if complex_input else x.amax()
    return x / peak if peak > 0 else x
