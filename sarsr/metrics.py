"""Image-quality metrics, defined once and used everywhere.

Conventions: labels are in [0, 1]; a reconstructed image is compared after
:func:`normalize` (magnitude divided by its maximum) and clipping to [0, 1]; PSNR uses data
range 1.
"""

from __future__ import annotations

import numpy as np


def normalize(image) -> np.ndarray:
    """|image| / max |image| as float32 (zeros stay zeros)."""
    a = np.abs(np.asarray(image)).astype(np.float32)
    m = float(a.max()) if a.size else 0.0
    return a / m if m > 0 else a


def rmse(pred, label) -> float:
    """Root-mean-square error between ``clip(pred, 0, 1)`` and ``label``."""
    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    return float(np.sqrt(np.mean((p - np.asarray(label, np.float64)) ** 2)))


def psnr(pred, label, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio (dB) of ``clip(pred, 0, 1)`` against ``label``, data range 1."""
    e = rmse(pred, label)
    return float("inf") if e == 0 else float(20 * np.log10(data_range / e))


def image_entropy(image) -> float:
    """No-reference focus metric: -sum p ln p with p = |I|^2 / sum |I|^2 (lower = sharper)."""
    p = np.abs(np.asarray(image, np.complex128)) ** 2
    p = p / p.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def image_contrast(image) -> float:
    """No-reference focus metric: std(|I|^2) / mean(|I|^2) (higher = sharper)."""
    p = np.abs(np.asarray(image, np.complex128)) ** 2
    return float(p.std() / p.mean())
