"""TI DCA1000 raw ADC data (``adc_data.bin``, ``*_Raw_0.bin``, ``*_Raw_1.bin`` ...).

Layouts (TI SWRA581B, "Mmwave Radar Device ADC Raw Data Capture"; little-endian int16):

- ``"xwr14xx"`` (xWR12xx/14xx, 4 LVDS lanes, RX-interleaved): for every complex time sample,
  ``I_rx0 I_rx1 I_rx2 I_rx3 Q_rx0 Q_rx1 Q_rx2 Q_rx3``. The file always carries 4 RX slots
  (disabled receivers are zero-filled).
- ``"xwr16xx"`` (xWR16xx/18xx/68xx, 2 lanes, RX blocks): within a chirp all samples of RX0,
  then RX1, ...; samples in groups of four int16 ``I(n) I(n+1) Q(n) Q(n+1)``. Only enabled
  receivers are present.

Then chirps (Tx slots in chirp order) → loops → frames. ``iq_swap`` puts Q before I;
``offset_binary`` reads uint16 minus 2^15 (TSW1400 captures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes, check_input_file
from .._validate import check_memory

__all__ = ["RawLayout", "read_dca1000", "write_dca1000", "CaptureSizeError", "frame_bytes"]

LAYOUTS = ("xwr14xx", "xwr16xx")


class CaptureSizeError(ValueError):
    """The binary size does not match the configuration."""


@dataclass(frozen=True)
class RawLayout:
    """Shape of one capture: ``loops`` x ``n_tx`` chirps per frame, ``n_rx`` receivers,
    ``n_samples`` complex samples per chirp, in ``layout`` order."""

    n_samples: int
    n_rx: int = 4
    n_tx: int = 2
    loops: int = 1
    layout: str = "xwr14xx"
    iq_swap: bool = False
    offset_binary: bool = False

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown DCA1000 layout {self.layout!r}; choose from {LAYOUTS}")
        for k in ("n_samples", "n_rx", "n_tx", "loops"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"RawLayout.{k} must be >= 1")
        if self.layout == "xwr14xx" and self.n_rx > 4:
            raise ValueError("xwr14xx layout carries at most 4 receivers")
        if self.layout == "xwr16xx" and self.n_samples % 2:
            raise ValueError("xwr16xx layout needs an even number of samples per chirp")

    @property
    def rx_slots(self) -> int:
        return 4 if self.layout == "xwr14xx" else self.n_rx

    @property
    def chirps(self) -> int:
        return self.loops * self.n_tx


def frame_bytes(lay: RawLayout) -> int:
    """Bytes per frame: chirps x rx slots x samples x (I, Q) x 2 bytes."""
    return lay.chirps * lay.rx_slots * lay.n_samples * 4


def _read_files(paths, limit: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """The bytes of the capture files, concatenated. Checked before anything is read: each a
    regular file, the total no more than ``limit`` = (frames, bytes per frame) the config
    promises, when known, and within the memory budget for the decoded cube (~6 bytes of work
    per raw byte)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for p in paths:
        check_input_file(p, "capture")
    name = ", ".join(str(p) for p in paths)
    size = sum(p.stat().st_size for p in paths)
    if limit is not None and size > limit[0] * limit[1]:
        raise CaptureSizeError(f"{name}: {size} bytes is longer than the configured {limit[0]} frames x {limit[1]} "
                               f"bytes = {limit[0] * limit[1]} bytes")
    check_memory(float(size) * 6, f"decoding {size / 2**20:,.0f} MiB of capture data ({name})")
    raw = b"".join(p.read_bytes() for p in paths)
    return raw, name


def read_dca1000(paths, layout: RawLayout, n_frames: int | None = None, allow_partial: bool = False,
                 report: dict | None = None) -> np.ndarray:
    """Read raw ADC data into complex64 ``(frames, loops, n_tx, n_rx, n_samples)``.

    ``paths``: one file or the ordered list of ``_Raw_N.bin`` parts (concatenated).
    ``n_frames``: frames the configuration promises; the size must match exactly, otherwise a
    :class:`CaptureSizeError` names the file and the mismatch. A trailing partial frame is an
    error unless ``allow_partial``; then it is dropped and reported in ``report``
    (``partial_frame_bytes``, ``frames``).
    """
    fb = frame_bytes(layout)
    raw, name = _read_files(paths, None if n_frames is None else (n_frames, fb))
    size = len(raw)
    if size % 2:
        raise CaptureSizeError(f"{name}: {size} bytes is not a whole number of int16 samples")
    full, rest = divmod(size, fb)
    if n_frames is not None:
        if full > n_frames or (full == n_frames and rest):
            raise CaptureSizeError(f"{name}: {size} bytes is longer than the configured {n_frames} frames "
                                   f"x {fb} bytes = {n_frames * fb} bytes")
        if full < n_frames and not allow_partial:
            raise CaptureSizeError(f"{name}: {size} bytes holds {full} complete frames (+{rest} bytes) but the "
                                   f"configuration says {n_frames} frames x {fb} bytes = {n_frames * fb}; "
                                   f"truncated capture (pass allow_partial to read the complete frames)")
    elif rest and not allow_partial:
        raise CaptureSizeError(f"{name}: {size} bytes is not a multiple of the frame size {fb} bytes "
                               f"({full} frames + {rest} bytes of a partial frame)")
    if full == 0:
        raise CaptureSizeError(f"{name}: {size} bytes is less than one frame ({fb} bytes)")
    if report is not None:
        report.update(frames=full, partial_frame_bytes=rest, file_bytes=size, frame_bytes=fb)
    dt = np.dtype("<u2") if layout.offset_binary else np.dtype("<i2")
    a = np.frombuffer(raw, dtype=dt, count=full * fb // 2)
    a = a.astype(np.float32) - (32768.0 if layout.offset_binary else 0.0)
    F, L, T, S = full, layout.loops, layout.n_tx, layout.n_samples
    if layout.layout == "xwr14xx":
        a = a.reshape(F, L, T, S, 2, 4)  # (..., sample, I/Q block, rx slot)
        first, second = a[..., 0, :], a[..., 1, :]
        cube = np.moveaxis(first + 1j * second if not layout.iq_swap else second + 1j * first, -1, -2)
        cube = cube[..., : layout.n_rx, :]
    else:
        a = a.reshape(F, L, T, layout.n_rx, S // 2, 2, 2)  # (..., rx, pair, I/Q, n/n+1)
        first, second = a[..., 0, :], a[..., 1, :]
        c = first + 1j * second if not layout.iq_swap else second + 1j * first
        cube = c.reshape(F, L, T, layout.n_rx, S)
    return np.ascontiguousarray(cube, dtype=np.complex64)


def write_dca1000(path, cube: np.ndarray, layout: RawLayout) -> Path:
    """Write complex ``(frames, loops, n_tx, n_rx, n_samples)`` data (values rounded to int16)
    in ``layout`` order: the inverse of :func:`read_dca1000`."""
    c = np.asarray(cube)
    want = (layout.loops, layout.n_tx, layout.n_rx, layout.n_samples)
    if c.ndim != 5 or c.shape[1:] != want:
        raise ValueError(f"cube shape {c.shape} != (frames, {', '.join(map(str, want))})")
    I, Q = np.rint(c.real), np.rint(c.imag)
    if layout.iq_swap:
        I, Q = Q, I
    F, L, T, R, S = c.shape
    if layout.layout == "xwr14xx":
        out = np.zeros((F, L, T, S, 2, 4), np.float64)
        out[..., 0, :R] = np.moveaxis(I, -1, -2)
        out[..., 1, :R] = np.moveaxis(Q, -1, -2)
    else:
        out = np.stack([I.reshape(F, L, T, R, S // 2, 2), Q.reshape(F, L, T, R, S // 2, 2)], axis=-2)
    if layout.offset_binary:
        data = (out + 32768.0).clip(0, 65535).astype("<u2")
    else:
        data = out.clip(-32768, 32767).astype("<i2")
    path = Path(path)
    atomic_write_bytes(path, data.tobytes())
    return path
