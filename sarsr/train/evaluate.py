"""Evaluation of SR networks and reconstruction baselines on a held-out test set
(``sarsr evaluate``), plus the robustness curve over position-error sigma.

Metric protocol (``sarsr.metrics``, one place): every image is compared with the label
rendered on the grid it is scored on from the record's stored scene (each point at its true
amplitude), on the paper's 256 x 256 working grid and on the stored 200 x 200 grid that
:func:`sarsr.super_resolve` returns by default; baselines are |image| / max;
network outputs come from :func:`sarsr.super_resolve` (input normalised by its maximum); all
predictions are clipped to [0, 1]; PSNR with data range 1, SSIM with a Gaussian window.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .._files import open_h5, save_figure, atomic_write_text, home_relative
from ..data.torch_dataset import render_label
from ..transforms import WORKING_SIZE, resize_image
from ..radar.imaging.imagers import DEFAULT_INPUT, get_imager, list_imagers
from .. import metrics
from ..data import read_manifest, generate_dataset, load_scenario
from ..data.shards import verify_shard
from ..models import count_macs, count_params, cpu_latency_ms
from ..sr import (DEFAULT_POINT_THRESHOLD, _points_mode, apply_points_mode, compose, decode_points,
                  keep_input_points as keep_points, load_sr_model, network_pass, resample_output)
from ..sr.points import DEFAULT_PRESENCE_MASS, decode_uncertain
from ..metrics import REGIONS

__all__ = ["evaluate", "robustness", "write_report", "input_psnr", "report_head", "report_finish", "BASELINES"]

#: stored reconstruction -> report name: every registered imager (sarsr.radar.imaging.imagers), the
#: networks' input marked as such
BASELINES = {name: get_imager(name).label + (" (network input)" if name == DEFAULT_INPUT else "")
             for name in list_imagers()}


def _resize(a: np.ndarray, size: int | None) -> np.ndarray:
    """(H, W) array → float32 (size, size) with the dataset's bilinear resize."""
    return resize_image(torch.from_numpy(np.ascontiguousarray(a, np.float32))[None], size)[0].numpy()


def _input_key(f) -> str | None:
    """The stored image a network gets: the default input (EMPM), else the broad-physics ``input``."""
    return DEFAULT_INPUT if DEFAULT_INPUT in f else ("input" if "input" in f else None)


def evaluate(test_root, models: dict | None = None, size: int | None = WORKING_SIZE, limit: int | None = None,
             baselines: bool = True, progress: bool = True, timing: bool = True, verify: bool = True,
             grids: tuple = ("working", "user"), resample: str = "peak",
             keep_input_points: bool = False, points="auto", point_threshold: float | None = None,
             presence_mass: float = DEFAULT_PRESENCE_MASS) -> list[dict]:
    """Scores of every model and stored baseline on the records of ``test_root``.

    ``models`` maps a label to anything :func:`sarsr.sr.load_sr_model` takes; networks get the
    stored ``empm`` image (else ``input``). Each shard's CRC32 checksums are verified before
    it is read (``verify``); a corrupt shard is an error naming it.

    Every image is scored against the label *rendered* on the grid it is scored on from the
    record's stored scene (:func:`sarsr.data.render_label`: each point peaks at its true
    amplitude), never a resampled label, on two grids (``grids``):

    - ``"working"``: the ``size`` x ``size`` grid the network works on (baselines bilinearly
      resized to it);
    - ``"user"``: the stored image's own grid, which :func:`sarsr.super_resolve` returns by
      default (network outputs resampled with ``resample``, baselines as stored).

    Returns one row per method and grid: ``method``, ``grid`` (``"working 256"`` /
    ``"user 200"``), ``psnr_db`` (± ``psnr_std``), ``ssim``, ``rmse`` (means over images),
    ``point_recall``, ``false_points``, ``point_amplitude_ratio``
    (:func:`sarsr.metrics.summarize_points`), the error per region of the label (shape
    interior, shape edges, points, background: ``rmse_*``, ``bias_*``, ``error_share_*``,
    :func:`sarsr.metrics.summarize_regions`), ``label`` (``"rendered"``, or ``"resized"``
    for a dataset without stored scenes), and for networks params, GMACs and CPU ms/image.
    A network's row scores what :func:`sarsr.super_resolve` returns with
    ``keep_input_points=points`` (default ``"auto"``, as a user gets it: erased input peaks put
    back on defocused inputs only); its ``restored`` is the fraction of images where peaks were
    put back. ``keep_input_points`` adds two rows per network and grid: ``"<network> alone"``
    (nothing put back) and ``"<network> +input points"`` (screening mode, every erased input peak
    put back: :func:`sarsr.sr.keep_input_points`). A network with a point head draws its detected
    points instead (probability above ``point_threshold``, default
    :data:`sarsr.sr.DEFAULT_POINT_THRESHOLD`; :func:`sarsr.sr.compose`) and its uncertain points
    (``presence_mass``, :func:`sarsr.sr.points.decode_uncertain`; 0: none), and its screening row
    adds the erased input peaks to that.
    """
    from tqdm.auto import tqdm

    points = _points_mode(points, "evaluate")
    threshold = DEFAULT_POINT_THRESHOLD if point_threshold is None else float(point_threshold)
    bad = [g for g in grids if g not in ("working", "user")]
    if bad or not grids:
        raise ValueError(f"evaluate: grids must be among ('working', 'user'), got {grids!r}")
    root = Path(test_root)
    m = read_manifest(root)
    g = (m.get("scenario_config") or {}).get("grid") or {}
    nets = {k: load_sr_model(v) for k, v in (models or {}).items()}
    scores: dict[tuple, list] = {}
    point_scores: dict[tuple, list] = {}
    region_scores: dict[tuple, list] = {}
    restored: dict[tuple, list] = {}
    label_kind = "rendered"
    n = m["count"] if limit is None else min(limit, m["count"])
    if n < 1:
        raise ValueError(f"{root}: nothing to evaluate (limit {limit}, {m['count']} records)")
    bar = tqdm(total=n, disable=not progress, unit="image", desc=f"evaluate {root.name}")
    done = 0
    for s in m["shards"]:
        if done >= n:
            break
        path = root / s["file"]
        if verify:
            bad = verify_shard(path, s["start"], s["count"], m["seed"], m["scenario_digest"])
            if bad:
                raise ValueError(f"{path}: {bad}; regenerate it by re-running the `sarsr dataset` command "
                                 f"of this test set")
        with open_h5(path, "shard") as f:
            take = min(s["count"], n - done)
            if "label" not in f:
                raise ValueError(f"{path}: no 'label' dataset (not an SR test set)")
            key = _input_key(f)
            if nets and key is None:
                raise ValueError(f"{path}: no 'empm' or 'input' image for the networks")
            labels = f["label"][:take]
            scenes = f["scene_json"][:take] if "scene_json" in f and g.get("n") else None
            net_in = f[key][:take] if key is not None else None
            stored = {k: f[k][:take] for k in BASELINES if baselines and k in f}
        for j in range(take):
            native = labels[j].shape
            labs = {}
            shown = {}  # the networks' input, |.| / max, on each grid (a baseline, and screening mode's reference)
            preds: dict[tuple, np.ndarray] = {}
            for grid in grids:
                side = size if grid == "working" else None
                if scenes is not None:
                    labs[grid] = render_label(scenes[j], g["n"], g["extent_m"], side)
                else:  # no stored scene: the stored label, resized (flagged in every row)
                    label_kind = "resized"
                    labs[grid] = np.clip(_resize(labels[j], side), 0, 1)
                for k, v in stored.items():
                    preds[(BASELINES[k], grid)] = _resize(metrics.normalize(v[j]), side)
                if net_in is not None and nets:
                    shown[grid] = _resize(metrics.normalize(net_in[j]), side)
                if net_in is not None and nets and baselines and key == "input":
                    preds[("input", grid)] = shown[grid]
            if net_in is not None:
                for name, net in nets.items():
                    yw_t, head = network_pass(net_in[j][None], net, size)
                    yw = yw_t.clamp(0, 1)[0, 0].cpu().numpy()
                    found = decode_points(head, threshold)[0] if head is not None else None
                    unsure = decode_uncertain(head, [found], presence_mass)[0] if head is not None else None
                    alone = {}
                    if "working" in grids:
                        alone["working"] = yw
                    if "user" in grids:
                        alone["user"] = resample_output(torch.from_numpy(yw)[None, None], native, resample)[0, 0].numpy()
                    for grid, y in alone.items():  # as super_resolve returns it on that grid
                        if found is not None:  # a point head: its points drawn, input peaks only in screening
                            drawn = compose(y, found, yw.shape, uncertain=unsure)
                            ya = drawn if points is not False else y
                            fired = points is True
                            if fired:
                                ya = keep_points(ya, shown[grid])
                        else:
                            ya, fired = apply_points_mode(y[None], shown[grid][None], points)
                            ya, fired = ya[0], bool(fired[0])
                        preds[(name, grid)] = ya
                        restored.setdefault((name, grid), []).append(fired)
                        if keep_input_points:
                            preds[(f"{name} alone", grid)] = y
                            preds[(f"{name} +input points", grid)] = keep_points(drawn if found is not None else y,
                                                                                 shown[grid])
            for (name, grid), p in preds.items():
                lab = labs[grid]
                scores.setdefault((name, grid), []).append(
                    (metrics.psnr(p, lab), metrics.ssim(p, lab), metrics.rmse(p, lab)))
                point_scores.setdefault((name, grid), []).append(metrics.point_metrics(p, lab))
                region_scores.setdefault((name, grid), []).append(metrics.region_errors(p, lab))
        done += take
        bar.update(take)
    bar.close()
    rows = []
    side_w, side_u = size or int(g.get("n") or 0), int(g.get("n") or 0)
    cost = {}  # params, MACs and latency of each network: once, whatever the number of grids
    for name, net in nets.items():
        shape = (net.default_cfg.get("in_chans", 1), size or WORKING_SIZE, size or WORKING_SIZE)
        cost[name] = dict(model=net.default_cfg.get("name"), params=count_params(net),
                          gmacs=count_macs(net, shape) / 1e9,
                          cpu_ms=cpu_latency_ms(net, shape, repeat=3) if timing else None)
    for (name, grid), vals in scores.items():
        v = np.asarray(vals)
        row = dict(method=name, grid=f"working {side_w}" if grid == "working" else f"user {side_u}",
                   label=label_kind, n=len(v), psnr_db=float(v[:, 0].mean()), psnr_std=float(v[:, 0].std()),
                   ssim=float(v[:, 1].mean()), rmse=float(v[:, 2].mean()),
                   **metrics.summarize_points(point_scores[(name, grid)]),
                   **metrics.summarize_regions(region_scores[(name, grid)]))
        if (name, grid) in restored:
            row["restored"] = float(np.mean(restored[(name, grid)]))
        base = name.removesuffix(" +input points").removesuffix(" alone")
        if base in nets:
            row.update(cost[base])
            if grid == "user":
                row["resample"] = resample
        rows.append(row)
    return rows


def robustness(models: dict, sigmas_mm=(0, 1, 2, 3, 4, 5, 6), count: int = 64, seed: int = 2000,
               cache=Path("~/.cache/sarsr/datasets/robustness").expanduser(), workers=None,
               progress=True, grid: str = "user", keep_input_points: bool = False, points="auto",
               point_threshold: float | None = None, presence_mass: float = DEFAULT_PRESENCE_MASS) -> dict:
    """PSNR and point recall vs position-error sigma: for each sigma a ``paper_freehand`` test
    set of ``count`` records (seed ``seed``, cached and resumable) is generated and evaluated
    on ``grid`` (``"user"``: the grid :func:`sarsr.super_resolve` returns by default, or
    ``"working"``), every method (the EMPM input among them) against true amplitudes.

    Returns ``{"sigma_mm": [...], "grid": ..., "psnr_db": {method: [...]},
    "point_recall": {method: [...]}}``. ``points`` and ``keep_input_points`` as in
    :func:`evaluate` (the networks as ``super_resolve`` returns them by default; optionally also
    alone and in screening mode)."""

    if count < 1:
        raise ValueError(f"robustness: count must be >= 1, got {count}")
    base = load_scenario("paper_freehand")
    curve = {"sigma_mm": list(sigmas_mm), "grid": grid, "psnr_db": {}, "point_recall": {}, "false_points": {},
             "restored": {}}
    for sig in sigmas_mm:
        sc = base.with_overrides({"position_error.sigma_m": float(sig) * 1e-3})
        root = Path(cache) / f"sigma_{sig:g}mm_n{count}_s{seed}"
        generate_dataset(sc, root, count, seed=seed, workers=workers, shard_size=16, progress=progress,
                         log=lambda *a: None)
        for row in evaluate(root, models, limit=count, progress=False, timing=False, grids=(grid,),
                            keep_input_points=keep_input_points, points=points, point_threshold=point_threshold,
                            presence_mass=presence_mass):
            curve["psnr_db"].setdefault(row["method"], []).append(row["psnr_db"])
            curve["point_recall"].setdefault(row["method"], []).append(row["point_recall"])
            curve["false_points"].setdefault(row["method"], []).append(row["false_points"])
            if "restored" in row:
                curve["restored"].setdefault(row["method"], []).append(row["restored"])
    return curve


def plot_robustness(curve: dict, path):
    """PSNR (left) and point recall (right) against position-error sigma, one line per method;
    the network's input (EMPM) dashed, so "does no harm" reads as output >= input."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, ylabel in ((axes[0], "psnr_db", "PSNR vs label (dB)"),
                            (axes[1], "point_recall", "point recall (true amplitudes)")):
        for name, ys in curve.get(key, {}).items():
            ax.plot(curve["sigma_mm"], ys, "o--" if name in BASELINES.values() or name == "input" else "o-",
                    label=name)
        ax.set_xlabel("position-error sigma (mm)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[1].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"paper_freehand, {curve.get('grid', 'user')} grid", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def report_head(path, title: str, test_root, n: int, detail: str, command: str = "") -> tuple[Path, list[str]]:
    """Start a markdown evaluation report: creates the folder; returns the path and the opening
    lines (title, held-out test set from its manifest, ``detail``, the command)."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = read_manifest(test_root)
    lines = [f"# {title}", "",
             f"Test set: `{m['scenario']}`, {n} records, seed {m['seed']} (held out: training uses other "
             f"seeds). {detail}", ""]
    return path, lines + ([f"Command: `{command}`", ""] if command else [])


def json_safe(obj):
    """``obj`` with every NaN / infinite float as None (JSON has no NaN: a report's JSON must
    parse anywhere); containers copied, numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def report_finish(path: Path, lines: list[str], tool: str, payload: dict) -> None:
    """Write the report (dated footer naming ``tool``) and ``payload`` as JSON beside it.

    What a person wrote below the footer of the report being replaced (analysis sections) is
    kept below the new footer: regenerating the tables never deletes the text around them."""
    lines = lines + ["", f"_Generated {time.strftime('%Y-%m-%d')} by `{tool}`._", ""]

    if path.exists():
        old = path.read_text(errors="replace").splitlines()
        ends = [i for i, line in enumerate(old) if line.startswith("_Generated ") and line.rstrip().endswith("._")]
        if ends and any(line.strip() for line in old[ends[0] + 1:]):
            lines = lines + old[ends[0] + 1:]

    atomic_write_text(path.with_suffix(".json"), home_relative(json.dumps(json_safe(payload), indent=2, allow_nan=False)))
    atomic_write_text(path, home_relative("\n".join(lines)))


def _region_table(rows: list[dict]) -> list[str]:
    """Where the error lives: RMSE and mean signed error (+ brighter than the label) per region."""

    if not rows or "rmse_background" not in rows[0]:
        return []
    head = " | ".join(f"{r.replace('_', ' ')} RMSE / bias / share" for r in REGIONS)
    lines = ["Error per region of the label (RMSE, mean signed error, share of the squared error):", "",
             f"| method | grid | {head} |", "|---|---|" + "---|" * len(REGIONS)]
    for r in sorted(rows, key=lambda r: (r.get("grid", ""), -r["psnr_db"])):
        cells = " | ".join(f"{r[f'rmse_{g}']:.3f} / {r[f'bias_{g}']:+.3f} / {r[f'error_share_{g}']:.0%}"
                           for g in REGIONS)
        lines.append(f"| {r['method']} | {r.get('grid', '-')} | {cells} |")
    return lines


def _table(rows: list[dict]) -> list[str]:
    lines = ["| method | grid | PSNR (dB) | gain over input (dB) | SSIM | point recall | point amplitude ratio | "
             "false points / image | input peaks put back | params | GMAC / 256² |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r.get("grid", ""), -r["psnr_db"])):
        inp = input_psnr(rows, r.get("grid"))
        gain = f"{r['psnr_db'] - inp:+.2f}" if inp is not None else "-"
        extra = f"{r['params']:,} | {r['gmacs']:.2f}" if "params" in r else "- | -"
        lines.append(f"| {r['method']} | {r.get('grid', '-')} | {r['psnr_db']:.2f} ± {r['psnr_std']:.2f} | {gain} | {r['ssim']:.4f} | "
                     f"{r['point_recall']:.3f} | {r['point_amplitude_ratio']:.2f} | {r['false_points']:.2f} | "
                     f"{_restored(r)} | {extra} |")
    return lines


def _restored(row: dict) -> str:
    """"input peaks put back" cell: the share of images (networks), "all" (screening mode), "-"."""
    if row["method"].endswith("+input points"):
        return "all"
    return f"{row['restored']:.0%} of images" if "restored" in row else "-"


def input_psnr(rows: list[dict], grid: str | None = None) -> float | None:
    """PSNR of the networks' input image (EMPM, else ``input``) in an :func:`evaluate` result,
    on ``grid`` (a row's ``grid`` value; None: the first grid found)."""
    for name in (BASELINES[DEFAULT_INPUT], "input"):
        for r in rows:
            if r["method"] == name and (grid is None or r.get("grid") == grid):
                return r["psnr_db"]
    return None


def write_report(path, results, test_root=None, curve: dict | None = None, command: str = "") -> None:
    """Markdown report (+ JSON beside it) of an evaluation on one or several test sets.

    ``results``: the rows of :func:`evaluate` on ``test_root``, or ``{test_root: rows}`` for
    several test sets (one table each, with each method's gain over its input). ``curve``:
    the robustness curve (figure + table)."""

    sets = results if isinstance(results, dict) else {str(test_root): results}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Super-resolution evaluation", "",
             "Every image is scored against the label rendered on the grid it is scored on from the record's "
             "stored scene (each point peaks at its true amplitude; no resampled label): the 256 x 256 grid the "
             "network works on (`working`) and the stored 200 x 200 grid that `sarsr.super_resolve` returns by "
             "default (`user`; network outputs resampled back as `super_resolve` does). A network's row is what "
             "`super_resolve` returns by default (`keep_input_points=\"auto\"`): the erased input peaks that the "
             "point detector calls points are put back, and on an image whose bright peaks the network erased "
             "wholesale (a heavily defocused input) every erased input peak (column *input peaks put back*: "
             "the share of such images); `<network> alone` rows are the network's output as is. "
             "Metrics (`sarsr.metrics`), predictions clipped to [0, 1]: PSNR "
             "(data range 1), Gaussian-window SSIM, and the point-target scores: *point recall* (an isolated "
             "label point, a component of label > 0.1 of at most 64 px, is recovered when the prediction's "
             "maximum over it reaches half the label's), *point amplitude ratio* (median prediction peak / "
             "label peak over points) and *false points* (components of prediction > 0.25 touching no label "
             "component, per image). Test sets are generated with seeds no training set uses.", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    summary = []
    for root, rows in sets.items():
        m = read_manifest(root)
        inp = input_psnr(rows)
        lines += [f"## `{m['scenario']}` ({rows[0]['n'] if rows else 0} records, seed {m['seed']})", ""]
        lines += _table(rows) + [""]
        lines += _region_table(rows) + [""] if "rmse_background" in (rows[0] if rows else {}) else []
        summary.append({"test_set": m["scenario"], "root": Path(root).name, "input_psnr_db": inp, "rows": rows})
    if curve:
        fig = path.with_name(path.stem + "_robustness.png")
        plot_robustness(curve, fig)
        lines += ["## Robustness to position error", "",
                  f"`paper_freehand` with `position_error.sigma_m` set per column ({curve.get('grid', 'user')} grid, "
                  "true amplitudes). Do no harm: a network's point recall should not fall below its input's "
                  "(EMPM) by more than 0.05.", "", f"![PSNR and recall vs sigma]({fig.name})", "",
                  "| method | " + " | ".join(f"{s:g} mm" for s in curve["sigma_mm"]) + " |",
                  "|---|" + "---|" * len(curve["sigma_mm"])]
        for name, ys in curve["psnr_db"].items():
            lines.append(f"| {name} | " + " | ".join(f"{y:.2f}" for y in ys) + " |")
        if curve.get("point_recall"):
            lines += ["", "Point recall:", "", "| method | " + " | ".join(f"{s:g} mm" for s in curve["sigma_mm"]) + " |",
                      "|---|" + "---|" * len(curve["sigma_mm"])]
            for name, ys in curve["point_recall"].items():
                lines.append(f"| {name} | " + " | ".join(f"{y:.3f}" for y in ys) + " |")
        for key, title, fmt in (("false_points", "False points per image:", "{:.1f}"),
                                ("restored", "Share of images whose erased input peaks were put back:", "{:.0%}")):
            if curve.get(key):
                lines += ["", title, "", "| method | " + " | ".join(f"{s:g} mm" for s in curve["sigma_mm"]) + " |",
                          "|---|" + "---|" * len(curve["sigma_mm"])]
                for name, ys in curve[key].items():
                    lines.append(f"| {name} | " + " | ".join(fmt.format(y) for y in ys) + " |")
    report_finish(path, lines, "sarsr evaluate", {"test_sets": summary, "robustness": curve})
