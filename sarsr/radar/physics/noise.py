"""Receiver noise."""

from __future__ import annotations

import numpy as np

from ..._validate import as_array


def add_awgn(echo, snr_db: float, rng=None) -> np.ndarray:
    """Add circular complex white Gaussian noise at a given SNR (power definition).

    The noise power per sample is ``mean(|echo|^2) / 10**(snr_db / 10)``.

    Parameters
    ----------
    echo : array_like, complex
        Noise-free signal of any shape.
    snr_db : float
        Signal-to-noise ratio (dB).
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    ndarray, same shape and complex dtype as ``echo``.
    """
    s = as_array(echo, "echo", dtype=np.result_type(np.asarray(echo).dtype, np.complex64))
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db!r}")
    rng = np.random.default_rng(rng)
    p_sig = float(np.mean(np.abs(s) ** 2))
    sigma = np.sqrt(p_sig / 10.0 ** (snr_db / 10.0) / 2.0)
    noise = rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape)
    return (s + sigma * noise).astype(s.dtype)
