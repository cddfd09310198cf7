"""``sarsr demo``: simulate a freehand scan with position error, reconstruct it (EMPM,
backprojection, planar RMA), super-resolve the EMPM image with the shipped network (when the
package has weights; ``model=`` picks another), and write a figure and a metrics JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
import warnings

import numpy as np

from ._files import atomic_write_text, save_figure
from .data import load_scenario
from .data.simulate import build_scan
from . import metrics, plot, radar
from .radar.imaging.imagers import DEFAULT_INPUT
from .sr import load_sr_model, super_resolve


def run_demo(out: str | Path, seed: int = 0, sigma_mm: float = 1.0, snr_db: float = 20.0, size: str = "paper",
             log=print, model=None, progress=None) -> dict:
    """Simulate one freehand scan, reconstruct it every way, super-resolve, and write
    ``demo.png`` and ``metrics.json`` to ``out``; ``log(message)`` reports each step
    (``progress=`` is the old name of ``log``, deprecated). Returns the metrics dict."""
    if progress is not None:
        warnings.warn("run_demo(progress=...) is deprecated; pass log=...", DeprecationWarning, stacklevel=2)
        log = progress
    import matplotlib

    matplotlib.use("Agg")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    wave = radar.waveform("iwr1443")
    # the acquisition is the paper preset's (trajectory, error model, scene distribution), with the
    # requested error and, for "smoke", a smaller aperture: built by the scenario's own scan builder
    over = {"position_error.sigma_m": sigma_mm * 1e-3}
    if size != "paper":
        over.update({"trajectory.nx": 48, "trajectory.ny_steps": 6})
    preset = load_scenario("paper_freehand").with_overrides(over)
    scan = build_scan(preset, rng)
    scene, z0 = radar.random_scene(rng, shape_reflectivity=preset["scene"]["shape_reflectivity"])
    grid = radar.image_grid(z=z0) if size == "paper" else radar.image_grid(n=48, extent=0.024, z=z0)
    timings = {}
    t = time.perf_counter()
    echo = radar.simulate_scan(scan, scene, wave, snr_db=snr_db, rng=rng)
    timings["simulate_s"] = time.perf_counter() - t
    log(f"simulated {scan.n_samples} channel samples x {scene.n_scatterers} scatterers "
             f"in {timings['simulate_s']:.2f} s")
    images = {}
    bp_method = radar.choose_method(scan.n_samples, grid.points)
    for method in radar.list_imagers():  # every registered reconstruction method, the networks' input first
        name = radar.get_imager(method).label
        t = time.perf_counter()
        images[name] = radar.reconstruct(method, echo, scan.tx_est, scan.rx_est, wave.k, grid,
                                         lattice_shape=scan.lattice_shape, bp_method=bp_method)
        timings[f"{name}_s"] = time.perf_counter() - t
        log(f"{name}{f' ({bp_method})' if 'bp_method' in radar.get_imager(method).options else ''}: "
            f"{timings[f'{name}_s']:.2f} s")
    label = radar.label_image(scene, grid)
    sr_note = None
    try:
        net = load_sr_model(model)
        t = time.perf_counter()
        inp = radar.get_imager(DEFAULT_INPUT).label
        images = {inp: images[inp], "super-resolved": super_resolve(images[inp], net),
                  **{k: v for k, v in images.items() if k != inp}}
        timings["super-resolved_s"] = time.perf_counter() - t
        log(f"super-resolution ({net.default_cfg['name']}): {timings['super-resolved_s']:.2f} s")
    except FileNotFoundError as exc:
        if model is not None:  # the user asked for this network: a missing file is an error
            raise
        sr_note = f"super-resolution skipped: {exc}"
        log(sr_note)
    result = {"seed": seed, "z0_m": z0, "sigma_mm": sigma_mm, "snr_db": snr_db,
              "n_scatterers": scene.n_scatterers, "timings": timings, "backprojection_method": bp_method,
              "psnr_db": {n: metrics.psnr(metrics.normalize(i), label) for n, i in images.items()},
              "ssim": {n: metrics.ssim(metrics.normalize(i), label) for n, i in images.items()},
              "entropy": {n: metrics.image_entropy(i) for n, i in images.items()}}
    if sr_note:
        result["note"] = sr_note
    fig = plot.panels({**{f"{n} (dB)": i for n, i in images.items()}, "label (dB)": label}, grid,
                      ncols=len(images) + 1 if len(images) < 5 else 3)
    save_figure(fig, out / "demo.png", dpi=110)
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2))
    log(f"wrote {out / 'demo.png'} and {out / 'metrics.json'}")
    return result
