"""Echo simulation: dechirped FMCW samples of point scatterers seen by every channel."""

from __future__ import annotations

import numpy as np

from ... import _validate as V
from ..backends import kernels
from .noise import add_awgn
from .range_compression import resolve_backend
from ..geometry.scan import Scan
from ..geometry.scene import Scene
from .waveform import FMCWWaveform, waveform as _waveform

#: Scatterers handled per kernel call (bounds the per-thread scratch memory).
SCATTERER_CHUNK = 8192


def simulate_echo(tx, rx, k, points, amplitudes=None, *, path_loss: bool = False,
                  backend: str = "numba", device=None) -> np.ndarray:
    """Simulate the dechirped echo of point scatterers.

    ``s[n, i] = sum_m a_m exp(+j k_i (|tx_n - p_m| + |rx_n - p_m|))``, optionally divided by
    ``|tx_n - p_m| |rx_n - p_m|`` (``path_loss=True``). Isotropic elements, no antenna pattern.

    Parameters
    ----------
    tx, rx : array_like (N, 3)
        Tx and Rx position of every channel sample (m).
    k : array_like (K,)
        Strictly increasing wavenumbers 2 pi f / c (rad/m).
    points : array_like (M, 3)
        Scatterer positions (m).
    amplitudes : array_like (M,), optional
        Real reflectivities (default 1).
    path_loss : bool
        Apply the 1 / (R_tx R_rx) spreading loss.
    backend : {"numba", "torch", "auto"}
        "numba": parallel CPU kernel (float64 geometry, phase recurrence over uniform k).
        "torch": chunked torch implementation on ``device`` (CUDA when available for "auto").
    device : str or torch.device, optional
        Torch device for the torch backend.

    Returns
    -------
    ndarray complex64 (N, K). Relative error vs. a float64 evaluation < 1e-5.
    """
    tx, rx = V.channel_positions(tx, rx)
    k = V.wavenumbers(k)
    pts = V.as_array(points, "points", ndim=2, last=3)
    if amplitudes is None:
        amp = np.ones(pts.shape[0])
    else:
        amp = V.as_array(amplitudes, "amplitudes", ndim=1)
        if amp.shape[0] != pts.shape[0]:
            raise ValueError(f"amplitudes has {amp.shape[0]} entries for {pts.shape[0]} points")
    V.check_memory(tx.shape[0] * k.size * 8, "the echo array")
    backend = resolve_backend(backend)
    if backend == "torch":
        from ..backends.torch_backend import simulate_echo_torch  # lazy: torch only for backend='torch'
        return simulate_echo_torch(tx, rx, k, pts, amp, path_loss=path_loss, device=device)
    out = np.zeros((tx.shape[0], k.size), np.complex64)
    dk = V.uniform_step(k)
    for j0 in range(0, pts.shape[0], SCATTERER_CHUNK):
        sl = slice(j0, j0 + SCATTERER_CHUNK)
        px, py, pz = (np.ascontiguousarray(pts[sl, i]) for i in range(3))
        if dk is not None:
            kernels.simulate_uniform_k(tx, rx, px, py, pz, amp[sl], float(k[0]), dk, k.size, bool(path_loss), out)
        else:
            kernels.simulate_any_k(tx, rx, px, py, pz, amp[sl], k, bool(path_loss), out)
    return out


def simulate_scan(scan: Scan, scene: Scene, wave: FMCWWaveform | str = "iwr1443", *, snr_db: float | None = None,
                  path_loss: bool = False, rng=None, backend: str = "numba") -> np.ndarray:
    """Echo of ``scene`` measured along ``scan`` at the *true* positions, with optional AWGN.

    Returns complex64 (N, K) in the scan's sample order.
    """
    wave = _waveform(wave)
    echo = simulate_echo(scan.tx, scan.rx, wave.k, scene.points, scene.amplitudes, path_loss=path_loss,
                         backend=backend)
    if snr_db is not None:
        echo = add_awgn(echo, snr_db, rng)
    return echo
