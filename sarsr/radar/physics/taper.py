"""Aperture tapers: per-channel amplitude weights that trade resolution for sidelobe level.

A taper multiplies every echo sample of a channel by a weight that depends on where the
channel's virtual element (the Tx/Rx midpoint) sits in the aperture. It is applied to the
echo before any reconstruction, so it works with every imaging method.
"""

from __future__ import annotations

import numpy as np

from ..._validate import as_array

__all__ = ["TAPERS", "aperture_taper"]

#: Taper names :func:`aperture_taper` accepts.
TAPERS = ("none", "hann", "hamming")


def _window(u: np.ndarray, kind: str) -> np.ndarray:
    """1-D window on normalised coordinates u in [0, 1]."""
    if kind == "hann":
        return 0.5 - 0.5 * np.cos(2 * np.pi * u)
    if kind == "hamming":
        return 0.54 - 0.46 * np.cos(2 * np.pi * u)
    return np.ones_like(u)


def aperture_taper(tx, rx, kind: str = "hann", floor: float = 0.02) -> np.ndarray:
    """Separable x-y taper of the virtual aperture.

    Parameters
    ----------
    tx, rx : array_like (N, 3)
        Tx and Rx positions of every channel (m).
    kind : str
        One of :data:`TAPERS`; ``"none"`` gives all ones.
    floor : float
        Smallest weight (keeps edge channels from vanishing entirely), in [0, 1).

    Returns
    -------
    ndarray float64 (N,)
        Weight of each channel: ``w(x) * w(y)`` over the bounding box of the virtual
        positions; an axis with no extent gets weight 1.
    """
    if kind not in TAPERS:
        raise ValueError(f"aperture_taper: unknown taper {kind!r}; choose from {', '.join(TAPERS)}")
    if not 0 <= floor < 1:
        raise ValueError(f"aperture_taper: floor must be in [0, 1), got {floor!r}")
    t = as_array(tx, "tx", ndim=2, last=3)
    r = as_array(rx, "rx", ndim=2, last=3)
    if t.shape != r.shape:
        raise ValueError(f"aperture_taper: tx {t.shape} and rx {r.shape} differ")
    v = 0.5 * (t + r)
    w = np.ones(len(v))
    if kind == "none":
        return w
    for ax in (0, 1):
        lo, hi = v[:, ax].min(), v[:, ax].max()
        if hi - lo > 0:
            w = w * _window((v[:, ax] - lo) / (hi - lo), kind)
    return floor + (1 - floor) * w
