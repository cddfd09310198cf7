"""MIMO antenna arrays: Tx and Rx element positions on the radar board.

Positions are in the board frame (m): the board moves along the scan, elements lie in
the board plane z = 0 facing +z. Channels are ordered Tx-major: channel ``c = t * n_rx + r``
pairs Tx ``t`` with Rx ``r`` (the order TI's TDM-MIMO frames deliver them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.constants import C0


@dataclass(frozen=True)
class MIMOArray:
    """A set of Tx and Rx elements.

    Attributes
    ----------
    tx : ndarray, shape (n_tx, 3)
        Tx element positions in the board frame (m).
    rx : ndarray, shape (n_rx, 3)
        Rx element positions in the board frame (m).
    name : str
    """

    tx: np.ndarray
    rx: np.ndarray
    name: str = "custom"

    def __post_init__(self):
        for field in ("tx", "rx"):
            a = np.asarray(getattr(self, field), dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != 3 or a.shape[0] == 0 or not np.all(np.isfinite(a)):
                raise ValueError(f"MIMOArray.{field} must be a finite (n, 3) array with n >= 1, got shape {a.shape}")
            object.__setattr__(self, field, a)

    @property
    def n_channels(self) -> int:
        return self.tx.shape[0] * self.rx.shape[0]

    def channel_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Tx and Rx position of every channel, each (n_channels, 3), Tx-major order."""
        nt, nr = self.tx.shape[0], self.rx.shape[0]
        return np.repeat(self.tx, nr, axis=0), np.tile(self.rx, (nt, 1))

    def virtual_positions(self) -> np.ndarray:
        """Virtual (phase-centre) element of every channel: the Tx/Rx midpoint, (n_channels, 3)."""
        t, r = self.channel_positions()
        return 0.5 * (t + r)

    def centered(self) -> "MIMOArray":
        """The same array shifted so the mean virtual element is at the origin."""
        c = self.virtual_positions().mean(axis=0)
        return MIMOArray(self.tx - c, self.rx - c, self.name)


def awr1443_array(wavelength: float = C0 / 79e9) -> MIMOArray:
    """TI AWR1443/IWR1443 azimuth layout used in the paper (2 Tx, 4 Rx along y).

    Rx at y = {0, 0.5, 1, 1.5} * lambda; Tx at y = 5 mm + {1.5, 3.5} * lambda, with lambda at
    79 GHz (3.7948 mm). The 8 virtual elements are uniformly spaced by lambda / 4. Returned
    centred on the mean virtual element.
    """
    lam = float(wavelength)
    rx = np.array([[0.0, f * lam, 0.0] for f in (0.0, 0.5, 1.0, 1.5)])
    tx = np.array([[0.0, 5e-3 + f * lam, 0.0] for f in (1.5, 3.5)])
    return MIMOArray(tx, rx, "awr1443").centered()


def monostatic_array() -> MIMOArray:
    """A single co-located Tx/Rx channel at the origin."""
    z = np.zeros((1, 3))
    return MIMOArray(z, z.copy(), "monostatic")


ARRAY_PRESETS = {"awr1443": awr1443_array, "iwr1443": awr1443_array, "monostatic": monostatic_array}


def mimo_array(name_or_array="awr1443") -> MIMOArray:
    """Return a :class:`MIMOArray` from a preset name (or pass one through)."""
    if isinstance(name_or_array, MIMOArray):
        return name_or_array
    key = str(name_or_array).lower()
    if key not in ARRAY_PRESETS:
        raise ValueError(f"unknown array preset {name_or_array!r}; choose from {sorted(ARRAY_PRESETS)}")
    return ARRAY_PRESETS[key]()
