"""Scanner / tracker positions: CSV, .npy or .mat; one pose per frame or per chirp; optional
timestamps for interpolation onto chirp times.

CSV: a header naming at least ``x, y, z`` (metres; ``x_mm, y_mm, z_mm`` are converted) and
optionally ``t`` (seconds). ``.npy``/``.mat``: an (N, 3) or (N, 4) array (``t`` last), or a .mat
variable named ``positions`` / ``pos``.
"""

from __future__ import annotations

from pathlib import Path
import csv

import numpy as np

from .._files import atomic_write_text, check_input_file
from .matlab import load_mat

__all__ = ["read_positions", "write_positions", "interpolate_positions"]


def read_positions(path) -> tuple[np.ndarray, np.ndarray | None]:
    """Returns ``(xyz (N, 3) in m, t (N,) in s or None)``. NaN / inf poses are rejected."""
    p = check_input_file(path, "positions")
    t = None
    if p.suffix.lower() == ".csv":
        try:
            with p.open(encoding="utf-8-sig", errors="strict") as fh:  # a BOM (Excel exports) is fine
                rows = list(csv.reader(fh))
        except UnicodeDecodeError:
            raise ValueError(f"{p}: not a UTF-8 text file (positions.csv holds x,y,z[,t] rows)") from None
        if not rows:
            raise ValueError(f"{p}: empty positions file")
        head = [h.strip().lower() for h in rows[0]]
        cols = {}
        for axis in "xyz":
            if axis in head:
                cols[axis] = (head.index(axis), 1.0)
            elif f"{axis}_mm" in head:
                cols[axis] = (head.index(f"{axis}_mm"), 1e-3)
            else:
                raise ValueError(f"{p}: header {rows[0]} has no '{axis}' (or '{axis}_mm') column")
        try:
            data = np.array([[float(r[i]) * s for i, s in (cols[a] for a in "xyz")] for r in rows[1:] if r],
                            float)
            if "t" in head:
                t = np.array([float(r[head.index("t")]) for r in rows[1:] if r])
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{p}: bad row ({exc})") from None
        xyz = data
    elif p.suffix.lower() == ".npy":
        a = np.load(p)
        xyz, t = _split(a, p)
    elif p.suffix.lower() == ".mat":
        d = load_mat(p)
        key = next((k for k in ("positions", "pos", "xyz") if k in d), None)
        if key is None:
            raise ValueError(f"{p}: no variable named positions / pos / xyz (has: {sorted(d)})")
        xyz, t = _split(np.asarray(d[key], float), p)
    else:
        raise ValueError(f"{p}: unsupported positions format (use .csv, .npy or .mat)")
    if xyz.ndim != 2 or xyz.shape[1] != 3 or len(xyz) == 0:
        raise ValueError(f"{p}: expected N x 3 positions, got shape {xyz.shape}")
    bad = ~np.isfinite(xyz).all(axis=1)
    if bad.any():
        raise ValueError(f"{p}: {bad.sum()} pose(s) contain NaN or inf (first at row {int(np.argmax(bad))})")
    return xyz, t


def _split(a, p):
    a = np.asarray(a, float)
    if a.ndim != 2 or a.shape[1] not in (3, 4):
        raise ValueError(f"{p}: expected an (N, 3) or (N, 4) array, got {a.shape}")
    return a[:, :3], (a[:, 3] if a.shape[1] == 4 else None)


def write_positions(path, xyz, t=None) -> Path:
    """CSV with header ``x,y,z[,t]`` (m, s), full float64 precision."""
    xyz = np.asarray(xyz, float)
    cols = [xyz[:, 0], xyz[:, 1], xyz[:, 2]] + ([np.asarray(t, float)] if t is not None else [])
    head = "x,y,z" + (",t" if t is not None else "")
    lines = [head] + [",".join(repr(float(v)) for v in row) for row in zip(*cols)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def interpolate_positions(xyz, t, t_query) -> np.ndarray:
    """Linear interpolation of poses at times ``t_query`` (must lie within ``t``)."""
    t = np.asarray(t, float)
    tq = np.asarray(t_query, float)
    if np.any(np.diff(t) <= 0):
        raise ValueError("position timestamps must increase strictly")
    if tq.min() < t[0] or tq.max() > t[-1]:
        raise ValueError(f"chirp times [{tq.min():.6g}, {tq.max():.6g}] s fall outside the pose times "
                         f"[{t[0]:.6g}, {t[-1]:.6g}] s")
    return np.stack([np.interp(tq, t, xyz[:, i]) for i in range(3)], axis=-1)
