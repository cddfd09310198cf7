"""Fourier-domain reconstruction on a virtual planar monostatic array.

:func:`empm` is the efficient irregular-geometry method of the paper (Smith & Torlak, IEEE
Access 2022; "FFH" in the paper's code): every multistatic sample at a multi-planar position is
phase-projected onto a virtual *monostatic* element on the reference plane ``z_ref``,

    s_hat(n, k) = s(n, k) exp(-j k beta_n),   beta_n = -2 dz_n + (dx_n^2 + dy_n^2) / (4 Z),

(dz_n: offset of the virtual element from the reference plane towards the target, (dx, dy): the
Tx-Rx separation, Z: reference plane to image plane), then focused on the image plane with
plane-wave decomposition: per wavenumber a zero-padded 2-D FFT over the lattice, multiplication
by ``exp(-j kz Z)``, ``kz = sqrt(4 k^2 - kx^2 - ky^2)``, summed over k, one inverse 2-D FFT, and
bilinear interpolation onto the requested image points.

:func:`rma_planar` is the naive planar range-migration baseline: the same focusing, but the
multi-planar z offsets are ignored (it fails on freehand scans, as in the paper).

Both need samples on a uniform virtual lattice (``Scan.lattice_shape``); lateral deviations
from the lattice are ignored by default and resampled away with ``lateral="regrid"``
(:func:`lateral_regrid_matrix`; first order), while :func:`~sarsr.radar.backproject` handles
any geometry exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy import ndimage, sparse

from ... import _validate as V
from ..backends import kernels
from ..geometry.grid import ImageGrid

#: Wavenumbers transformed per batch (bounds memory to K_BATCH * nfft^2 * 8 bytes).
K_BATCH = 8


def _plane_points(grid):
    """Return (points (..., 3), z of the plane) for an ImageGrid or an array of coplanar points."""
    g = grid.points if isinstance(grid, ImageGrid) else V.as_array(grid, "grid", last=3)
    z = g[..., 2]
    z0 = float(z.reshape(-1)[0])
    if not np.allclose(z, z0, rtol=0, atol=1e-9):
        raise ValueError("Fourier reconstruction focuses one plane: all grid points must share one z "
                         "(use backproject for tilted planes or volumes)")
    return g, z0


def _lattice_axes(v, name="virtual positions"):
    """Least-squares uniform lattice (x0, dx), (y0, dy) through (nx, ny, 3) virtual positions.

    Position errors and jitter are allowed (by default EMPM ignores lateral deviations;
    ``lateral="regrid"`` resamples them away); samples that do not follow the lattice order at all (residual
    above 10 % of the aperture) are rejected.
    """
    nx, ny = v.shape[:2]
    out = []
    for ax, n, c in (("x", nx, v[:, :, 0].mean(axis=1)), ("y", ny, v[:, :, 1].mean(axis=0))):
        if n < 2:
            raise ValueError(f"the lattice needs at least 2 samples along {ax}")
        idx = np.arange(n, dtype=float)
        step, start = np.polyfit(idx, c, 1)
        resid = np.sqrt(np.mean((c - (start + step * idx)) ** 2))
        if step <= 0 or resid > 0.1 * step * (n - 1):
            raise ValueError(f"{name} do not form a lattice increasing along {ax} in sample order "
                             f"n = ix * ny + iy (fit residual {resid * 1e3:.1f} mm); use backproject")
        out.append((float(start), float(step)))
    return out


def check_lattice_shape(lattice_shape, n_samples: int, who: str = "") -> tuple[int, int]:
    """``lattice_shape`` as (nx, ny) ints matching ``n_samples`` (ValueError naming ``who``)."""
    try:
        nx, ny = (int(v) for v in lattice_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{who}lattice_shape must be (nx, ny), got {lattice_shape!r}") from None
    if nx * ny != n_samples:
        raise ValueError(f"{who}lattice_shape {nx}x{ny} does not match {n_samples} samples")
    return nx, ny


def lateral_regrid_matrix(dev_x, dev_y, taps: int = 3):
    """Sparse (N, N) matrix that resamples data given on a slightly deformed lattice back onto
    the regular lattice (backward warping with a separable Lanczos kernel of ``taps`` lobes).

    ``dev_x``, ``dev_y`` (nx, ny): where each sample really lies, in lattice steps from its
    nominal node (smooth, |dev| of a few steps at most). The value at node g is read from the
    data at index ``g - dev(g)``: exact for a rigid shift of band-limited data, first order for
    a smooth deformation. Rows are normalised (a constant field stays constant)."""
    nx, ny = dev_x.shape
    gi, gj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    fx, fy = (gi - dev_x).reshape(-1), (gj - dev_y).reshape(-1)
    offs = np.arange(-taps + 1, taps + 1)

    def weights(f, n):
        base = np.floor(f).astype(int)
        idx = base[:, None] + offs[None, :]
        d = f[:, None] - idx
        w = np.sinc(d) * np.sinc(d / taps) * (np.abs(d) < taps)
        w = np.where((idx >= 0) & (idx < n), w, 0.0)
        return np.clip(idx, 0, n - 1), w

    ix, wx = weights(fx, nx)
    iy, wy = weights(fy, ny)
    cols = (ix[:, :, None] * ny + iy[:, None, :]).reshape(len(fx), -1)
    w = (wx[:, :, None] * wy[:, None, :]).reshape(len(fx), -1)
    norm = w.sum(1, keepdims=True)
    w = np.where(np.abs(norm) > 1e-6, w / np.where(np.abs(norm) > 1e-6, norm, 1.0), 0.0)
    rows = np.repeat(np.arange(len(fx)), cols.shape[1])
    return sparse.csr_matrix((w.reshape(-1), (rows, cols.reshape(-1))), shape=(nx * ny, nx * ny))


def fourier_image(echo, tx, rx, k, grid, *, lattice_shape, z_ref: float | None = None,
                  compensate_depth: bool = True, nfft: int | None = 512, upsample: int = 1,
                  workers: int | None = None, lateral: str = "ignore") -> np.ndarray:
    """Shared implementation of :func:`empm` and :func:`rma_planar` (see their docstrings)."""
    if lateral not in ("ignore", "regrid"):
        raise ValueError(f"lateral must be 'ignore' or 'regrid', got {lateral!r}")
    echo, tx, rx, k = V.echo_geometry(echo, tx, rx, k)
    nx, ny = check_lattice_shape(lattice_shape, tx.shape[0])
    if int(upsample) < 1:
        raise ValueError(f"upsample must be >= 1, got {upsample}")
    pts, z_img = _plane_points(grid)
    v = 0.5 * (tx + rx)
    (x0, dx), (y0, dy) = _lattice_axes(v.reshape(nx, ny, 3))
    z_ref = float(v[:, 2].mean()) if z_ref is None else float(z_ref)
    depth = z_img - z_ref
    if abs(depth) < 1e-6:
        raise ValueError("the image plane coincides with the reference plane (Z = 0)")
    if nfft is None:
        nfx, nfy = int(sfft.next_fast_len(2 * nx)), int(sfft.next_fast_len(2 * ny))
    else:
        nfx = nfy = int(nfft)
    if nfx < nx or nfy < ny:
        raise ValueError(f"nfft={nfft} is smaller than the lattice {nx}x{ny}")
    V.check_memory((K_BATCH + 4) * nfx * nfy * 8 * upsample ** 2, "the Fourier reconstruction")

    # 1) projection onto a virtual planar monostatic array at z_ref
    sep = tx - rx
    beta = (sep[:, 0] ** 2 + sep[:, 1] ** 2) / (4.0 * abs(depth))
    if compensate_depth:
        beta = beta - 2.0 * (v[:, 2] - z_ref) * np.sign(depth)
    phase = np.exp(-1j * np.outer(beta, k)).astype(np.complex64)
    s_hat = echo * phase
    if lateral == "regrid":  # samples off their lattice nodes: resample onto the lattice
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        dev_x = v[:, 0].reshape(nx, ny) - (x0 + ii * dx)
        dev_y = v[:, 1].reshape(nx, ny) - (y0 + jj * dy)
        if max(np.abs(dev_x).max() / dx, np.abs(dev_y).max() / dy) > 1e-3:
            s_hat = (lateral_regrid_matrix(dev_x / dx, dev_y / dy) @ s_hat).astype(np.complex64)
    s_hat = s_hat.reshape(nx, ny, k.size)

    # 2) per-wavenumber 2-D FFT + plane-wave focusing, summed over k
    kx = (2 * np.pi * np.fft.fftfreq(nfx, dx)).astype(np.float64)
    ky = (2 * np.pi * np.fft.fftfreq(nfy, dy)).astype(np.float64)
    acc_re = np.zeros((nfx, nfy))
    acc_im = np.zeros((nfx, nfy))
    workers = workers or kernels.nb.get_num_threads()
    buf = np.zeros((K_BATCH, nfx, nfy), np.complex64)
    for i0 in range(0, k.size, K_BATCH):
        i1 = min(i0 + K_BATCH, k.size)
        b = buf[: i1 - i0]
        b[:] = 0
        b[:, :nx, :ny] = np.moveaxis(s_hat[:, :, i0:i1], -1, 0)
        # FFT along y only over the nx non-zero rows, then along x over everything
        b[:, :nx, :] = sfft.fft(b[:, :nx, :ny], n=nfy, axis=2, workers=workers)
        b[:] = sfft.fft(b, axis=1, workers=workers, overwrite_x=True)
        kernels.spectral_focus(np.ascontiguousarray(b.real), np.ascontiguousarray(b.imag), k[i0:i1], kx, ky,
                               depth, acc_re, acc_im)
    spec = (acc_re + 1j * acc_im).astype(np.complex64)

    # 3) back to space (optionally upsampled by spectral zero padding)
    u = int(upsample)
    if u > 1:
        big = np.zeros((u * nfx, u * nfy), np.complex64)
        sh = np.fft.fftshift(spec)
        ox, oy = (u * nfx - nfx) // 2, (u * nfy - nfy) // 2
        big[ox:ox + nfx, oy:oy + nfy] = sh
        spec = np.fft.ifftshift(big) * (u * u)
    img = np.fft.fftshift(sfft.ifft2(spec, workers=workers))
    mx, my = img.shape
    # array index i <-> lattice coordinate x0 + (i - mx // 2) * dx / u
    fx = (pts[..., 0] - x0) / (dx / u) + mx // 2
    fy = (pts[..., 1] - y0) / (dy / u) + my // 2
    coords = np.stack([fx.reshape(-1), fy.reshape(-1)])
    re = ndimage.map_coordinates(img.real, coords, order=1, mode="constant", cval=0.0)
    im = ndimage.map_coordinates(img.imag, coords, order=1, mode="constant", cval=0.0)
    return (re + 1j * im).astype(np.complex64).reshape(pts.shape[:-1])


def empm(echo, tx, rx, k, grid, *, lattice_shape, z_ref: float | None = None, nfft: int | None = 512,
         upsample: int = 1, workers: int | None = None, lateral: str = "ignore") -> np.ndarray:
    """Efficient multi-planar multistatic (EMPM) reconstruction of an irregular scan.

    Parameters
    ----------
    echo : array_like complex (N, K)
        Samples in lattice order ``n = ix * ny + iy`` (see :class:`~sarsr.radar.Scan`).
    tx, rx : array_like (N, 3)
        Estimated Tx/Rx positions (m); their midpoints must form a uniform (nx, ny) lattice in
        x and y; their z (the multi-planar offsets) may vary freely.
    k : array_like (K,)
        Wavenumbers (rad/m).
    grid : ImageGrid or array_like (..., 3)
        Image points on one plane z = const (m).
    lattice_shape : (nx, ny)
    z_ref : float, optional
        Reference plane of the virtual array (m); default the mean virtual z.
    nfft : int or None
        Zero-padded FFT size per axis (the paper: 512); None picks a fast size >= 2 x lattice.
    upsample : int
        Spectral zero-padding factor for a finer intermediate image (before interpolation).
    workers : int, optional
        FFT threads (default: numba's thread count).
    lateral : {"ignore", "regrid"}
        What to do with virtual elements that lie off the fitted lattice in x / y (lateral
        jitter, or positions corrected by :func:`sarsr.radar.autofocus`): "ignore" (the
        original method: treated as on their nodes) or "regrid" (the data are resampled onto
        the lattice first, :func:`lateral_regrid_matrix`; first order in the deviation).

    Returns
    -------
    ndarray complex64 with the grid's shape (without the last axis).
    """
    return fourier_image(echo, tx, rx, k, grid, lattice_shape=lattice_shape, z_ref=z_ref,
                         compensate_depth=True, nfft=nfft, upsample=upsample, workers=workers,
                         lateral=lateral)


def rma_planar(echo, tx, rx, k, grid, *, lattice_shape, z_ref: float | None = None, nfft: int | None = 512,
               upsample: int = 1, workers: int | None = None) -> np.ndarray:
    """Naive planar range-migration reconstruction: like :func:`empm` but treats every sample as
    lying on the reference plane (ignores the multi-planar z offsets). The paper's failing
    baseline on freehand scans; correct for truly planar scans."""
    return fourier_image(echo, tx, rx, k, grid, lattice_shape=lattice_shape, z_ref=z_ref,
                         compensate_depth=False, nfft=nfft, upsample=upsample, workers=workers)
