"""A real (or simulated) capture: DCA1000 binary + radar config + positions, in one folder.

Folder layout written by :func:`write_capture` and read by :func:`read_capture`::

    adc_data.bin        DCA1000 raw data (layout from the config's device)
    radar.cfg           mmWave SDK CLI config   (radar.mmwave.json: the same as a Studio export)
    positions.csv       one board pose per frame (x, y, z in m[, t in s])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

import numpy as np

from .._files import atomic_write_text
from .dca1000 import read_dca1000, write_dca1000
from .mmwave_config import RadarConfig, load_radar_config
from .positions import read_positions, write_positions, interpolate_positions
from ..radar import mimo_array
from .. import radar

__all__ = ["Capture", "read_capture", "write_capture", "simulate_capture", "capture_channels", "chirp_times"]


@dataclass
class Capture:
    """``adc``: complex64 (frames, loops, n_tx, n_rx, n_samples); ``positions``: board poses (m),
    (frames, 3) one per frame or (frames, loops, n_tx, 3) one per chirp, or None; ``report``:
    reader facts (frames, partial frame bytes, files)."""

    config: RadarConfig
    adc: np.ndarray
    positions: np.ndarray | None
    report: dict

    @property
    def n_frames(self) -> int:
        return self.adc.shape[0]


def _find(folder: Path, patterns):
    for pat in patterns:
        hits = sorted(folder.glob(pat))
        if hits:
            return hits
    return []


def _raw_parts(folder: Path) -> list:
    """The ``*_Raw_N.bin`` parts of a DCA1000 capture in part order (N numerically: _Raw_10
    after _Raw_9); a gap in the numbering (a lost part) or two recordings in one folder is a
    one-line error naming it, never a silent join."""

    parts = {}
    for f in folder.glob("*_Raw_*.bin"):
        m = re.fullmatch(r"(.*)_Raw_(\d+)\.bin", f.name)
        if m:
            parts.setdefault(m.group(1), {})[int(m.group(2))] = f
    if not parts:
        return []
    if len(parts) > 1:
        raise ValueError(f"{folder}: parts of several recordings ({', '.join(sorted(parts))}); keep one per folder "
                         f"or pass the .bin file")
    (stem, found), = parts.items()
    missing = [i for i in range(max(found) + 1) if i not in found]
    if missing:
        raise ValueError(f"{folder}: {stem}_Raw_{missing[0]}.bin is missing (found parts "
                         f"{', '.join(str(i) for i in sorted(found))}); the parts must be joined without gaps")
    return [found[i] for i in sorted(found)]


#: RadarConfig fields that two config files of one capture must agree on.
_CONFIG_FIELDS = ("profile.start_freq", "profile.slope", "profile.sample_rate", "profile.num_samples",
                  "profile.adc_start_time", "tx_order", "rx_mask", "n_loops", "n_frames")


def _field(cfg, dotted):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _consistent_config(paths, device) -> RadarConfig:
    """Load every config file of a capture folder; they must describe the same acquisition
    (a contradiction is an error naming both files and the fields), the first one is used."""
    cfgs = [load_radar_config(c, device) for c in paths]
    first = cfgs[0]
    for other in cfgs[1:]:
        diff = [f for f in _CONFIG_FIELDS
                if not (np.isclose(_field(first, f), _field(other, f), rtol=1e-6)
                        if isinstance(_field(first, f), float) else _field(first, f) == _field(other, f))]
        if diff:
            raise ValueError(f"{other.source} contradicts {first.source} in {', '.join(diff)}; remove one or pass "
                             f"the config to use explicitly (--config)")
    return first


def read_capture(path, config=None, positions=None, device=None, allow_partial=False,
                 offset_binary=False) -> Capture:
    """Read a capture folder (or a .bin file with ``config`` / ``positions`` given)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not p.exists():
        raise FileNotFoundError(f"no such capture: {p}")
    bins = [p] if p.is_file() else (_find(folder, ["adc_data.bin"]) or _raw_parts(folder))
    if not bins:
        raise FileNotFoundError(f"{folder}: no adc_data.bin or *_Raw_N.bin")
    if config is None:
        cands = [c for pat in ("*.mmwave.json", "*.cfg", "*.lua") for c in sorted(folder.glob(pat))]
        if not cands:
            raise FileNotFoundError(f"{folder}: no radar config (*.mmwave.json, *.cfg or *.lua); pass config=")
        cfg = _consistent_config(cands, device)
    else:
        cfg = config if isinstance(config, RadarConfig) else load_radar_config(config, device)
    report = {"files": [str(b) for b in bins], "config": cfg.source}
    adc = read_dca1000(bins, cfg.raw_layout(offset_binary), n_frames=cfg.n_frames, allow_partial=allow_partial,
                       report=report)
    pos = None
    if positions is None:
        cands = _find(folder, ["positions.csv", "positions.npy", "positions.mat"])
        positions = cands[0] if cands else None
    if positions is not None:
        pos = _poses_for_chirps(positions, cfg, adc.shape[0])
    return Capture(cfg, adc, pos, report)


def chirp_times(cfg: RadarConfig, n_frames: int) -> np.ndarray:
    """Start time (s) of every chirp, shape (frames, loops, n_tx), from the frame period and
    the chirp period (idle + ramp end)."""
    if cfg.frame_period_s <= 0:
        raise ValueError(f"{cfg.source or 'config'}: frame periodicity is 0; cannot time the chirps")
    tc = cfg.profile.idle_time + cfg.profile.ramp_end_time
    f = np.arange(n_frames)[:, None, None] * cfg.frame_period_s
    c = (np.arange(cfg.n_loops)[None, :, None] * cfg.n_tx + np.arange(cfg.n_tx)[None, None, :]) * tc
    return f + c


def _poses_for_chirps(path, cfg: RadarConfig, n_frames: int) -> np.ndarray:
    """One pose per frame, one per chirp, or timestamped poses interpolated at chirp times."""

    pos, t = read_positions(path)
    per_chirp = cfg.n_frames * cfg.n_loops * cfg.n_tx
    if t is not None and len(pos) not in (cfg.n_frames, per_chirp):
        return interpolate_positions(pos, t, chirp_times(cfg, n_frames).reshape(-1)).reshape(
            n_frames, cfg.n_loops, cfg.n_tx, 3)
    if len(pos) == cfg.n_frames or (len(pos) == n_frames and per_chirp != n_frames):
        return pos[:n_frames]
    if len(pos) == per_chirp:
        return pos.reshape(cfg.n_frames, cfg.n_loops, cfg.n_tx, 3)[:n_frames]
    raise ValueError(f"{path}: {len(pos)} poses match neither {cfg.n_frames} frames nor {per_chirp} chirps "
                     f"(add a 't' column to interpolate by time)")


def write_capture(folder, adc: np.ndarray, config: RadarConfig, positions=None, t=None,
                  force: bool = False) -> Path:
    """Write ``adc`` (rounded to int16), ``radar.cfg``, ``radar.mmwave.json`` and ``positions.csv``."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise FileExistsError(f"{folder} is not empty; pass force=True to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    write_dca1000(folder / "adc_data.bin", adc, config.raw_layout())
    atomic_write_text(folder / "radar.cfg", config.to_cfg())
    atomic_write_text(folder / "radar.mmwave.json", config.to_mmwave_json())
    if positions is not None:
        write_positions(folder / "positions.csv", positions, t)
    return folder


def capture_channels(cap: Capture, array="awr1443"):
    """Flatten a capture into per-channel geometry: returns ``tx (N, 3), rx (N, 3), echo (N, K)``
    with N = frames x loops x n_tx x n_rx (loops averaged first) using the array's element
    offsets on the board (Tx by config index, enabled Rx in order)."""

    if cap.positions is None:
        raise ValueError("capture has no positions; pass a positions file")
    arr = mimo_array(array)
    tx_el, rx_el = np.asarray(arr.tx), np.asarray(arr.rx)
    rx_idx = [r for r in range(4) if cap.config.rx_mask >> r & 1]
    tx_ids = cap.config.tx_order
    if max(tx_ids) >= len(tx_el):
        tx_map = {t: i for i, t in enumerate(sorted(set(tx_ids)))}  # e.g. Tx0/Tx2 on a 2-Tx model
        tx_ids = [tx_map[t] for t in tx_ids]
    if cap.positions.ndim == 2:  # one pose per frame: average the loops
        echo = cap.adc.mean(axis=1)  # (F, T, R, K)
        board = cap.positions[:, None, None, :]
    else:  # one pose per chirp: every loop is its own channel set
        F_, L_ = cap.adc.shape[:2]
        echo = cap.adc.reshape(F_ * L_, *cap.adc.shape[2:])
        board = cap.positions.reshape(F_ * L_, -1, 3)[:, :, None, :]
    F, T, R, K = echo.shape
    tx = np.broadcast_to(board + tx_el[tx_ids][None, :, None, :], (F, T, R, 3)).reshape(-1, 3)
    rx = np.broadcast_to(board + rx_el[rx_idx][None, None, :, :], (F, T, R, 3)).reshape(-1, 3)
    return tx, rx, echo.reshape(-1, K)


def simulate_capture(config: RadarConfig, positions, scene, array="awr1443", snr_db=None, full_scale=8000.0,
                     rng=None) -> np.ndarray:
    """Simulated ADC cube (frames, loops, n_tx, n_rx, n_samples) for board ``positions``
    (frames, 3), scaled so the largest sample is ``full_scale`` counts and rounded to integers
    (what a DCA1000 file holds)."""

    cfg = config
    pos = np.asarray(positions, float)
    if len(pos) != cfg.n_frames:
        raise ValueError(f"{len(pos)} positions for {cfg.n_frames} frames")
    cap = Capture(cfg, np.zeros((cfg.n_frames, 1, cfg.n_tx, cfg.n_rx, cfg.profile.num_samples), np.complex64), pos, {})
    tx, rx, _ = capture_channels(cap, array)
    echo = radar.simulate_echo(tx, rx, cfg.waveform().k, scene.points, scene.amplitudes)
    if snr_db is not None:
        echo = radar.add_awgn(echo, snr_db, rng)
    echo = echo / max(float(np.abs(echo).max()), 1e-30) * full_scale
    cube = echo.reshape(cfg.n_frames, 1, cfg.n_tx, cfg.n_rx, cfg.profile.num_samples)
    cube = np.repeat(cube, cfg.n_loops, axis=1)
    return (np.rint(cube.real) + 1j * np.rint(cube.imag)).astype(np.complex64)
