"""Per-virtual-channel calibration from a corner-reflector capture (``sarsr calibrate``).

Each virtual channel c (Tx slot x Rx) of a real radar carries its own range (path-length)
offset dR_c and phase offset phi_c (they change at every power cycle). With a reflector at a
known position p, the measured echo is m_c(k) = g_c exp(j (k (R_c + dR_c) + phi_c)),
R_c = |tx_c - p| + |rx_c - p|. The offsets come from a least-squares line fit of the
unwrapped phase of m_c(k) exp(-j k R_c) over k; ``apply_calibration`` removes them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
import copy

import numpy as np

from .._files import read_input_text, atomic_write_text
from .capture import capture_channels

__all__ = ["Calibration", "calibrate", "apply_calibration", "load_calibration"]


@dataclass
class Calibration:
    """Offsets per virtual channel, shape (n_tx, n_rx): range (m), phase (rad), gain (linear)."""

    range_offset_m: list
    phase_rad: list
    gain: list
    tx_order: list
    rx_mask: int
    reflector_m: list

    def save(self, path) -> Path:
        """Write the calibration as JSON (atomically). Refuses a calibration holding NaN or inf."""

        d = asdict(self)
        for key in ("range_offset_m", "phase_rad", "gain", "reflector_m"):
            if not np.all(np.isfinite(np.asarray(d[key], float))):
                raise ValueError(f"{path}: the calibration's {key} holds NaN or inf; not written")
        atomic_write_text(path, json.dumps(d, indent=2, allow_nan=False))
        return Path(path)


def load_calibration(path) -> Calibration:
    p = Path(path)
    text = read_input_text(p, "calibration")
    try:
        cal = Calibration(**json.loads(text))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{p}: not a sarsr calibration file ({' '.join(str(exc).split())[:160]})") from None
    for key in ("range_offset_m", "phase_rad", "gain"):
        try:
            ok = np.all(np.isfinite(np.asarray(getattr(cal, key), float)))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{p}: {key} is not a list of finite numbers; re-run `sarsr calibrate`")
    return cal


def calibrate(cap, reflector, array="awr1443", frames=None) -> Calibration:
    """Estimate per-channel offsets from capture ``cap`` of a point reflector at ``reflector``
    (x, y, z in m, in the positions' frame). ``frames`` selects frames (default: all, averaged
    after removing each frame's geometry)."""

    tx, rx, echo = capture_channels(cap, array)
    k = cap.config.waveform().k
    p = np.asarray(reflector, float)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise ValueError(f"calibrate: the reflector position must be 3 finite numbers (x, y, z in m), got {reflector!r}")
    standoff = np.linalg.norm(np.r_[tx, rx] - p, axis=1).min()
    if not standoff > 0.01:
        raise ValueError(f"calibrate: the reflector at ({', '.join(f'{v:g}' for v in np.round(p * 1e3, 1))}) mm is {standoff * 1e3:.1f} mm from the "
                         f"nearest antenna; give its position in the positions' frame, in front of the array "
                         f"(e.g. --reflector-mm 0,0,250)")
    if k.size < 2:
        raise ValueError(f"calibrate: a range offset needs at least 2 ADC samples per chirp, the capture has {k.size}")
    if not np.all(np.isfinite(echo)):
        raise ValueError("calibrate: the capture's ADC data hold NaN or inf")
    R = np.linalg.norm(tx - p, axis=1) + np.linalg.norm(rx - p, axis=1)
    F, T, Rn = cap.adc.shape[0], cap.config.n_tx, cap.config.n_rx
    resid = (echo * np.exp(-1j * np.outer(R, k))).reshape(F, T, Rn, -1)
    if frames is not None:
        resid = resid[list(frames)]
    mean = resid.mean(axis=0)  # (T, R, K): coherent average over frames
    ph = np.unwrap(np.angle(mean), axis=-1)
    kc = k - k.mean()
    slope = (ph * kc).sum(-1) / (kc * kc).sum()  # dR per channel (rad per rad/m = m)
    phase = ph.mean(-1) - slope * k.mean()
    gain = np.abs(mean).mean(-1)
    gain = gain / gain.mean()
    phase = np.angle(np.exp(1j * (phase - phase.flat[0])))  # relative to channel 0
    slope = slope - slope.flat[0]
    if not (np.all(np.isfinite(slope)) and np.all(np.isfinite(phase)) and np.all(np.isfinite(gain))):
        raise ValueError("calibrate: the estimate is not finite (no reflector echo in the capture: all-zero "
                         "channels?); check the capture and --reflector-mm")
    return Calibration(slope.tolist(), phase.tolist(), gain.tolist(), list(cap.config.tx_order),
                       int(cap.config.rx_mask), p.tolist())


def apply_calibration(cap, cal: Calibration):
    """Return a copy of ``cap`` with the offsets removed from its ADC data."""

    if list(cal.tx_order) != list(cap.config.tx_order) or cal.rx_mask != cap.config.rx_mask:
        raise ValueError(f"calibration is for Tx {cal.tx_order} / Rx mask {cal.rx_mask:#x}, capture uses "
                         f"Tx {cap.config.tx_order} / Rx mask {cap.config.rx_mask:#x}")
    k = cap.config.waveform().k
    want = (cap.config.n_tx, cap.config.n_rx)
    shapes = {key: np.shape(getattr(cal, key)) for key in ("range_offset_m", "phase_rad", "gain")}
    if any(v != want for v in shapes.values()):
        raise ValueError(f"calibration tables of shape {shapes['range_offset_m']} (Tx x Rx) do not fit this capture's "
                         f"{want[0]} Tx x {want[1]} Rx channels; calibrate this array configuration")
    dR = np.asarray(cal.range_offset_m)[..., None]
    ph = np.asarray(cal.phase_rad)[..., None]
    g = np.asarray(cal.gain)[..., None]
    corr = np.exp(-1j * (k * dR + ph)) / np.where(g > 0, g, 1.0)  # (T, R, K)
    out = copy.copy(cap)
    out.adc = (cap.adc * corr[None, None]).astype(np.complex64)
    out.report = dict(cap.report, calibrated=True)
    return out
