"""The interactive explorer's engine (``notebooks/05_explorer.ipynb``): plain functions that
re-simulate one scan of the ``paper_freehand`` preset with the knobs a user turns (position
error, SNR, number of points, seed, reconstruction method, autofocus, super-resolution mode)
and draw input / super-resolved / label with the point scores. The notebook wires them to
ipywidgets; the test suite calls them directly.

>>> view = simulate_view(sigma_mm=2.0, snr_db=10.0, n_points=12, seed=3, sr_mode="auto")
>>> fig = draw_view(view)
"""

from __future__ import annotations

import time

import numpy as np

from . import metrics
from .data import load_scenario
from .data.simulate import simulate_record
from .radar.imaging.imagers import DEFAULT_INPUT, get_imager, list_imagers
from .radar import image_grid
from .sr import load_sr_model, super_resolve

__all__ = ["simulate_view", "draw_view", "SR_MODES", "METHODS", "EXPLORER_AUTOFOCUS"]

#: super-resolution modes of the explorer -> ``super_resolve(keep_input_points=...)``; "off": none
SR_MODES = {"auto": "auto", "network alone": False, "screening": True, "off": None}
#: reconstruction methods offered (every registered imager)
METHODS = tuple(list_imagers())
#: The explorer's autofocus (``reconstruction.autofocus_options``): every 8th wavenumber, 10
#: L-BFGS iterations, 8 targets per phase-gradient round. On 6 paper_freehand scans (seed 7100,
#: idle 2-core machine) 1.0-2.2 s a scan after the first against 2.6-5.4 s for the defaults, point
#: recall after autofocus 0.913 vs 0.899 at 2 mm and 0.604 vs 0.658 at 3 mm (registered: 0.933 vs
#: 0.919, 0.866 vs 0.899); docs/autofocus.md, "The explorer's quicker setting".
EXPLORER_AUTOFOCUS = {"k_step": 8, "max_iter": 10, "pga_targets": 8}
#: acquisitions kept (simulated + reconstructed records, by their parameters): turning only the
#: SR mode or the model reuses the scan instead of simulating it again (autofocus: 1-2 s a scan)
RECORD_CACHE_SIZE = 8
_RECORDS: dict = {}


def _record(sc, seed: int, key: tuple) -> tuple[dict, float]:
    """The record of ``sc`` (seed ``seed``, index 0) and the seconds it took (0 when cached)."""
    if key in _RECORDS:
        _RECORDS[key] = _RECORDS.pop(key)  # most recently used last
        return _RECORDS[key], 0.0
    t0 = time.perf_counter()
    rec = simulate_record(sc, seed, 0)
    _RECORDS[key] = rec
    while len(_RECORDS) > RECORD_CACHE_SIZE:
        _RECORDS.pop(next(iter(_RECORDS)))
    return rec, time.perf_counter() - t0


def simulate_view(sigma_mm: float = 1.0, snr_db: float = 20.0, n_points: int = 16, seed: int = 0,
                  method: str = DEFAULT_INPUT, autofocus: bool = False, sr_mode: str = "auto", model=None,
                  scenario: str = "paper_freehand", autofocus_options: dict | None = None) -> dict:
    """Simulate and reconstruct one scan, super-resolve it, score it.

    Parameters
    ----------
    sigma_mm : position-error standard deviation in x and y (mm; z follows the preset's ratio).
    snr_db : echo SNR (dB).
    n_points : point targets in the scene (besides its shape).
    seed : the scan's random seed (record 0 of a dataset with this seed: the same scene and
        error field as ``sarsr dataset`` would store).
    method : reconstruction method (a registered imager: :data:`METHODS`).
    autofocus : estimate the position error from the echoes first (lattice methods).
    autofocus_options : keyword options of :func:`sarsr.radar.autofocus`; None (default): the
        explorer's quicker :data:`EXPLORER_AUTOFOCUS`; ``{}``: the library's defaults.
    sr_mode : one of :data:`SR_MODES` (``"auto"``: the default call).
    model : SR network (see :func:`sarsr.sr.load_sr_model`; default the shipped one).

    Returns a dict: ``input`` (|image| / max, (n, n)), ``output`` (super-resolved, or None when
    ``sr_mode == "off"``), ``label`` ((n, n) in [0, 1]), ``grid`` (ImageGrid), ``points`` (the
    detected points' table, networks with a point head), ``scores`` (per image: PSNR dB, point
    recall, false points, amplitude ratio), ``seconds`` (simulation + imaging, SR) and the
    parameters. The last :data:`RECORD_CACHE_SIZE` acquisitions are kept: a call that changes
    only ``sr_mode`` or ``model`` reuses the scan (``seconds["simulate_and_image"]`` is then 0).
    """
    if sr_mode not in SR_MODES:
        raise ValueError(f"simulate_view: sr_mode must be one of {list(SR_MODES)}, got {sr_mode!r}")
    imager = get_imager(method)
    if autofocus and not imager.needs_lattice:
        raise ValueError(f"simulate_view: autofocus needs a lattice method ({', '.join(m for m in METHODS if get_imager(m).needs_lattice)})")
    if not (0 <= sigma_mm <= 20 and -40 <= snr_db <= 80 and 0 <= int(n_points) <= 64):
        raise ValueError(f"simulate_view: sigma_mm in [0, 20], snr_db in [-40, 80] and n_points in [0, 64], got "
                         f"{sigma_mm}, {snr_db}, {n_points}")
    sc = load_scenario(scenario).with_overrides({
        "position_error.sigma_m": float(sigma_mm) * 1e-3, "noise.snr_db": [float(snr_db), float(snr_db)],
        "scene.n_points": [int(n_points), int(n_points)], "reconstruction.autofocus": bool(autofocus),
        "reconstruction.autofocus_options": dict(EXPLORER_AUTOFOCUS if autofocus_options is None else autofocus_options)})
    sc = sc.with_store({imager.name, "label"})
    options = tuple(sorted(sc["reconstruction"]["autofocus_options"].items())) if autofocus else ()
    key = (scenario, float(sigma_mm), float(snr_db), int(n_points), int(seed), imager.name, bool(autofocus), options)
    rec, t_sim = _record(sc, int(seed), key)
    image, label = rec[imager.name], rec["label"]

    grid = image_grid(n=sc["grid"]["n"], extent=sc["grid"]["extent_m"], z=rec["z0_m"])
    out, points, t_sr = None, None, 0.0
    if SR_MODES[sr_mode] is not None:
        net = load_sr_model(model)
        t1 = time.perf_counter()
        if getattr(net, "has_point_head", False):
            out, points = super_resolve(image, net, keep_input_points=SR_MODES[sr_mode], return_points=True, grid=grid)
        else:
            out = super_resolve(image, net, keep_input_points=SR_MODES[sr_mode])
        t_sr = time.perf_counter() - t1
    shown = metrics.normalize(image)
    scores = {}
    for name, img in (("input", shown), ("output", out)):
        if img is None:
            continue
        pm = metrics.summarize_points([metrics.point_metrics(img, label)])
        scores[name] = dict(psnr_db=metrics.psnr(img, label), point_recall=pm["point_recall"],
                            false_points=pm["false_points"], amplitude_ratio=pm["point_amplitude_ratio"])
    return dict(input=shown, output=out, label=label, grid=grid, points=points, scores=scores,
                seconds=dict(simulate_and_image=t_sim, super_resolve=t_sr),
                params=dict(sigma_mm=sigma_mm, snr_db=snr_db, n_points=int(n_points), seed=int(seed),
                            method=imager.name, autofocus=bool(autofocus), autofocus_options=dict(options),
                            sr_mode=sr_mode,
                            pos_error_rms_mm=rec["pos_error_rms_m"] * 1e3))


def draw_view(view: dict, fig=None, dynamic_range_db: float = 30.0):
    """Draw a :func:`simulate_view` result: input, super-resolved (with the detected points
    circled) and label side by side (dB, ``dynamic_range_db`` range), scores in the titles.
    Returns the matplotlib figure (``fig`` is cleared and reused when given)."""
    import matplotlib.pyplot as plt

    panels = [("input (" + get_imager(view["params"]["method"]).label + ")", view["input"], "input")]
    if view["output"] is not None:
        panels.append((f"super-resolved ({view['params']['sr_mode']})", view["output"], "output"))
    panels.append(("label", view["label"], None))
    if fig is None:
        fig = plt.figure(figsize=(4.2 * len(panels), 4.4))
    fig.clf()
    ext = view["grid"].extent_mm
    for i, (title, img, key) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        db = 20 * np.log10(np.clip(np.asarray(img, float), 10 ** (-dynamic_range_db / 20), None))
        ax.imshow(db.T, origin="lower", extent=ext, cmap="inferno", vmin=-dynamic_range_db, vmax=0)
        if key is not None:
            s = view["scores"][key]
            title += (f"\nPSNR {s['psnr_db']:.1f} dB, recall {s['point_recall']:.2f}, "
                      f"{s['false_points']:.0f} false")
        if key == "output" and view["points"] is not None and len(view["points"]):
            ax.scatter(view["points"]["x_m"] * 1e3, view["points"]["y_m"] * 1e3, s=60, facecolors="none",
                       edgecolors="cyan", linewidths=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x (mm)")
        if i == 0:
            ax.set_ylabel("y (mm)")
    p = view["params"]
    fig.suptitle(f"sigma {p['sigma_mm']:g} mm (RMS {p['pos_error_rms_mm']:.2f} mm), SNR {p['snr_db']:g} dB, "
                 f"{p['n_points']} points, seed {p['seed']}{', autofocus' if p['autofocus'] else ''}", fontsize=10)
    fig.tight_layout()
    return fig
