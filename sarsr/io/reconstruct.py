"""Capture → image: the engine of ``sarsr reconstruct``.

Writes ``image.h5`` (``/image/complex`` complex64 (nx, ny) with ``/image/x_m`` and ``/image/y_m``
axis scales, ``z_m`` attribute, ``/image/sr`` when super-resolved, ``/config`` attributes, the
method and the reader report) and ``image.png`` (dB panels, axes in mm).
"""

from __future__ import annotations

import json
from pathlib import Path
import warnings

import numpy as np

from .._files import atomic_path, atomic_write_text
from ..radar.imaging.imagers import BACKPROJECTION, EMPM
from .capture import capture_channels, read_capture
from .. import radar, plot
from .calibration import apply_calibration, load_calibration

__all__ = ["reconstruct_capture"]


def reconstruct_capture(capture, out, method: str = BACKPROJECTION, n: int = 200, extent: float = 0.1, z: float = 0.25,
                        lattice=None, enhance=None, array="awr1443", force=False,
                        calibration=None, autofocus: bool = False, **read_kw) -> dict:
    """Reconstruct a capture folder on an n x n grid over [-extent, extent) m at depth ``z``.

    ``method``: a registered imager (:func:`sarsr.radar.list_imagers`): backprojection (``"bp"``,
    any geometry) or a lattice method such as ``"empm"`` (needs ``lattice=(nx, ny)``: frames in
    x-fastest raster order, each frame a column of ``n_tx x n_rx`` virtual rows).
    ``enhance``: optional function image -> image in [0, 1] (e.g. ``sarsr.super_resolve`` with a
    network; ``sarsr reconstruct --sr`` passes it), stored as ``/image/sr`` and shown beside.
    ``autofocus`` (``empm`` only): estimate the smooth position error from the echoes first
    (:func:`sarsr.radar.autofocus`); the entropy before / after and the estimated error RMS
    are in the result's ``"autofocus"`` entry (and ``reconstruction.json``).
    """
    import h5py

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"output folder {out} is not empty; pass --force to overwrite")
    cap = capture if not isinstance(capture, (str, Path)) else read_capture(capture, **read_kw)
    if calibration is not None:
        cap = apply_calibration(cap, calibration if not isinstance(calibration, (str, Path))
                                else load_calibration(calibration))
    tx, rx, echo = capture_channels(cap, array)
    k = cap.config.waveform().k
    grid = radar.image_grid(n=n, extent=extent, z=z)
    imager = radar.get_imager(method)
    method = imager.name
    bp_method = None
    focus = None
    if autofocus and method != EMPM:
        raise ValueError(f"autofocus needs the lattice method: --method {EMPM} --lattice NX,NY")
    if not imager.needs_lattice:
        bp_method = radar.choose_method(len(echo), grid.points)
        img = radar.reconstruct(method, echo, tx, rx, k, grid, bp_method=bp_method)
    else:
        if lattice is None:
            raise ValueError(f"{method} needs lattice=(nx, ny) (x positions, virtual rows); use --lattice NX,NY")
        nx, ny = lattice
        F, T, R = cap.adc.shape[0], cap.config.n_tx, cap.config.n_rx
        if nx * ny != F * T * R:
            raise ValueError(f"lattice {nx}x{ny} != {F} frames x {T * R} channels")
        # frames are x-fastest rows of board steps: frame f = iy_step * nx + ix
        idx = np.arange(F * T * R).reshape(ny // (T * R), nx, T * R).transpose(1, 0, 2).reshape(-1)
        if autofocus:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                af = radar.autofocus(echo[idx], tx[idx], rx[idx], k, grid, lattice_shape=(nx, ny))
            img = af.image
            focus = dict(applied=af.applied, entropy_before=af.entropy_before, entropy_after=af.entropy_after,
                         error_rms_mm=(af.rms_m * 1e3).tolist(), seconds=af.time_s, message=af.message,
                         warnings=[str(w.message) for w in caught])
        else:
            img = radar.reconstruct(method, echo[idx], tx[idx], rx[idx], k, grid, lattice_shape=(nx, ny))
    out.mkdir(parents=True, exist_ok=True)
    result = {"method": method, "backprojection_method": bp_method, "z_m": z, "extent_m": extent, "n": n, "report": cap.report}
    if focus is not None:
        result["autofocus"] = focus
    images = {f"{imager.label} (dB)": img}
    sr_img = None
    if enhance is not None:
        sr_img = enhance(img)
        images["super-resolved (dB)"] = sr_img
    with atomic_path(out / "image.h5") as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("image")
        d = g.create_dataset("complex", data=img.astype(np.complex64))
        for name, axis in (("x_m", grid.x), ("y_m", grid.y)):
            g[name] = axis
            g[name].make_scale(name)
        d.dims[0].attach_scale(g["x_m"])
        d.dims[1].attach_scale(g["y_m"])
        d.attrs.update(z_m=z, method=method, units="arbitrary (linear amplitude)")
        if sr_img is not None:
            g["sr"] = sr_img
        c = f.create_group("config")
        for key, val in cap.config.to_dict().items():
            c.attrs[key] = json.dumps(val) if isinstance(val, (list, dict)) else val
        f.attrs["report"] = json.dumps(cap.report)
    import matplotlib

    matplotlib.use("Agg")

    fig = plot.panels(images, grid)
    with atomic_path(out / "image.png") as tmp:
        fig.savefig(tmp, dpi=110)
    atomic_write_text(out / "reconstruction.json", json.dumps(result, indent=2, default=str))
    return result
