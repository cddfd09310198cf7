"""Input validation shared by the numpy-facing functions.

Every public function of :mod:`sarsr.radar` validates its arrays with these helpers so a
bad input fails early with a ``ValueError`` that names the argument and the problem.
"""

from __future__ import annotations

import os

import numpy as np

def max_bytes() -> int:
    """Largest working set a single call may allocate before it is refused (bytes): the
    environment variable ``SARSR_MAX_BYTES`` when set, else 60 % of the memory available now
    (``MemAvailable``), at most half the physical memory. Every reader and allocator checks
    its size against it with :func:`check_memory` before allocating."""
    env = os.environ.get("SARSR_MAX_BYTES")
    if env:
        try:
            v = float(env)
        except ValueError:
            v = float("nan")
        if not (v > 0 and v < float("inf")):
            raise ValueError(f"SARSR_MAX_BYTES must be a positive number of bytes, got {env!r}")
        return int(v)
    try:
        half = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        half = 8 * 2**30
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return min(half, int(int(line.split()[1]) * 1024 * 0.6))
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    return half


def as_array(x, name: str, *, dtype=np.float64, ndim: int | None = None,
             last: int | None = None, allow_empty: bool = False, finite: bool = True) -> np.ndarray:
    """Convert ``x`` to a contiguous array and check its shape and values.

    Parameters
    ----------
    x : array_like
    name : str
        Argument name used in error messages.
    dtype : numpy dtype
        Target dtype (real or complex).
    ndim : int, optional
        Required number of dimensions.
    last : int, optional
        Required size of the last axis (e.g. 3 for positions).
    allow_empty : bool
        Whether a zero-size array is acceptable.
    finite : bool
        Reject NaN and infinity.
    """
    try:
        a = np.ascontiguousarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert to a {np.dtype(dtype).name} array ({exc})") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    if last is not None and (a.ndim == 0 or a.shape[-1] != last):
        raise ValueError(f"{name}: last axis must have length {last}, got shape {a.shape}")
    if not allow_empty and a.size == 0:
        raise ValueError(f"{name}: array is empty (shape {a.shape})")
    if finite and a.size and not np.all(np.isfinite(a)):
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    return a


def wavenumbers(k) -> np.ndarray:
    """Validate a 1-D array of strictly increasing, positive wavenumbers (rad/m)."""
    k = as_array(k, "k", ndim=1)
    if np.any(k <= 0):
        raise ValueError("k: wavenumbers must be positive (rad/m)")
    if k.size > 1 and np.any(np.diff(k) <= 0):
        raise ValueError("k: wavenumbers must be strictly increasing")
    return k


def uniform_step(k: np.ndarray, rtol: float = 1e-9) -> float | None:
    """Return the common spacing of ``k`` if it is uniform, else ``None``."""
    if k.size < 2:
        return None
    d = np.diff(k)
    if np.allclose(d, d[0], rtol=rtol, atol=0.0):
        return float((k[-1] - k[0]) / (k.size - 1))
    return None


def check_memory(nbytes: float, what: str) -> None:
    """Raise ``ValueError`` when an allocation of ``nbytes`` would exceed :func:`max_bytes`."""
    limit = max_bytes()
    if nbytes > limit:
        raise ValueError(
            f"{what} would need {nbytes / 2**30:.1f} GiB, more than the {limit / 2**30:.1f} GiB allowed "
            "(set SARSR_MAX_BYTES to raise the limit, or use a smaller grid / fewer samples)"
        )


def channel_positions(tx, rx) -> tuple[np.ndarray, np.ndarray]:
    """Validate Tx and Rx positions: finite (N, 3) arrays of the same shape (m)."""
    tx = as_array(tx, "tx", ndim=2, last=3)
    rx = as_array(rx, "rx", ndim=2, last=3)
    if tx.shape != rx.shape:
        raise ValueError(f"tx and rx must have the same shape, got {tx.shape} and {rx.shape}")
    return tx, rx


def check_echo_scale(echo, dtype=np.complex64) -> None:
    """Refuse an echo (N, K) whose magnitudes are so large that a sum over all its samples
    would overflow ``dtype`` (e.g. 1e38 in complex64): imaging is linear, so such an echo can
    be scaled down by the caller."""
    raw = np.asarray(echo)
    if raw.dtype.kind in "fc" and raw.ndim == 2 and raw.size:
        with np.errstate(all="ignore"):
            peak = float(np.max(np.abs(raw.astype(np.complex128, copy=False))))
        limit = float(np.finfo(np.dtype(dtype)).max) / (raw.shape[0] * raw.shape[1])
        if np.isfinite(peak) and peak > limit:
            raise ValueError(f"echo: magnitudes up to {peak:.3g} would overflow the {np.dtype(dtype).name} sums "
                             f"over {raw.shape[0]} x {raw.shape[1]} samples; divide the echo by a constant (imaging is "
                             f"linear)")


def echo_geometry(echo, tx, rx, k, echo_dtype=np.complex64):
    """Validate an echo (N, K) with its channel positions tx, rx (N, 3) and wavenumbers k (K,).
    Echo magnitudes so large that a sum over every sample would overflow ``echo_dtype`` (e.g.
    1e38 in complex64) are refused: imaging is linear, so such an echo can be scaled down."""
    check_echo_scale(echo, echo_dtype)
    echo = as_array(echo, "echo", dtype=echo_dtype, ndim=2)
    tx, rx = channel_positions(tx, rx)
    k = wavenumbers(k)
    if echo.shape != (tx.shape[0], k.size):
        raise ValueError(f"echo must have shape (N, K) = ({tx.shape[0]}, {k.size}) to match tx and k, got {echo.shape}")
    return echo, tx, rx, k
