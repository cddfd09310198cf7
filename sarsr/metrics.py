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
