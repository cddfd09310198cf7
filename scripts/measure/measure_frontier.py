"""The frontier of super-resolution modes: point recall against false points per image, PSNR
gain over the input annotated, per test set, on the grid ``super_resolve`` returns by default
(the stored 200 x 200 grid), every point against its true amplitude.

    .venv/bin/python scripts/measure/measure_frontier.py \
        --test paper_freehand=~/.cache/sarsr/datasets/paper_freehand_test \
        --test sr_oof_array=~/.cache/sarsr/datasets/sr_oof_array_test ... \
        --model srvit_hsm --model points=~/.cache/sarsr/runs/srvit_hsm_points/best.pt \
        [--thresholds 0.2,0.3,0.5] [--limit N] --out docs/sr_frontier.json --figure docs/sr_frontier.png

Each ``--model`` gives three points (:func:`sarsr.train.evaluate.evaluate` with
``keep_input_points=True``): its default call, the network alone and screening mode; the
input (EMPM) is a fourth. A network with a point head adds one default-call point per
``--thresholds`` value (the point probability above which a detection is drawn), the line
along which its default call trades recall for false points, and one per ``--presence-masses``
value (its uncertain points, :func:`sarsr.sr.decode_uncertain`; 0: none), a dashed line. The
shaded corner is the issue's target (recall >= 0.93, <= 3 false points per image on
``paper_freehand``). ``--add`` merges the models measured into the JSON at ``--out`` (rows of
models already there are kept), so one more design does not re-measure the others; ``--show
LABEL`` (repeat) draws only those models beside the input (the JSON keeps every one), e.g.
``--plot-only --show srvit_hsm --show "v3 15.6k" --show "v6 17.2k"``.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from sarsr.sr import DEFAULT_POINT_THRESHOLD, DEFAULT_PRESENCE_MASS, load_sr_model
from sarsr.train.evaluate import evaluate, input_psnr, json_safe


def measure(tests: dict, models: dict, thresholds, limit=None, masses=()) -> dict:
    out = {}
    for name, root in tests.items():
        rows = evaluate(root, models, grids=("user",), keep_input_points=True, timing=False, limit=limit,
                        progress=True)
        sweep, presence = {}, {}
        for label, spec in models.items():
            if getattr(load_sr_model(spec), "has_point_head", False):
                # (rows, evaluate's keyword, the rows' key, values, the default call's value)
                for out_of, option, key, values, default in (
                        (sweep, "point_threshold", "threshold", thresholds, DEFAULT_POINT_THRESHOLD),
                        (presence, "presence_mass", "presence_mass", masses, DEFAULT_PRESENCE_MASS)):
                    for v in values:
                        if abs(v - default) < 1e-9:
                            continue  # the default call's own row
                        r = [x for x in evaluate(root, {label: spec}, grids=("user",), baselines=False, timing=False,
                                                 limit=limit, progress=False, **{option: v}) if x["method"] == label]
                        out_of.setdefault(label, []).append({key: v, **r[0]})
        inp = input_psnr(rows)
        for r in rows:
            r["psnr_gain_db"] = r["psnr_db"] - inp if inp is not None else None
        for pts in (*sweep.values(), *presence.values()):
            for r in pts:
                r["psnr_gain_db"] = r["psnr_db"] - inp if inp is not None else None
        out[name] = {"root": str(root), "rows": rows, "threshold_sweep": sweep, "presence_sweep": presence}
    return out


def merge(old: dict, new: dict) -> dict:
    """``new``'s models added to ``old`` (same test sets): rows whose method ``old`` already has
    (the input, a model measured before) stay as they were."""
    out = json.loads(json.dumps(old))
    for name, res in new.items():
        if name not in out:
            out[name] = res
            continue
        have = {r["method"] for r in out[name]["rows"]}
        out[name]["rows"] += [r for r in res["rows"] if r["method"] not in have]
        for key in ("threshold_sweep", "presence_sweep"):
            out[name].setdefault(key, {}).update(res.get(key, {}))
    return out


def shown(result: dict, labels) -> dict:
    """``result`` with only the models named in ``labels`` (their rows ``LABEL``, ``LABEL alone``,
    ``LABEL +input points`` and sweeps) beside the input; ``labels`` empty or None: all of it."""
    if not labels:
        return result
    keep = {f"{m}{k}" for m in labels for k in ("", " alone", " +input points")} | {"EMPM (network input)"}
    out = {}
    for name, res in result.items():
        out[name] = dict(res, rows=[r for r in res["rows"] if r["method"] in keep])
        for key in ("threshold_sweep", "presence_sweep"):
            out[name][key] = {k: v for k, v in res.get(key, {}).items() if k in labels}
    return out


def plot(result: dict, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sarsr._files import save_figure

    names = list(result)
    ncols = min(3, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.4 * nrows), squeeze=False)
    styles = {"alone": "s", "+input points": "^"}
    for ax, name in zip(axes.ravel(), names):
        rows = result[name]["rows"]
        ax.add_patch(plt.Rectangle((0, 0.93), 3, 0.08, color="C2", alpha=0.12, lw=0))
        for i, r in enumerate(rows):
            kind = next((k for k in styles if r["method"].endswith(k)), None)
            marker = styles.get(kind, "o") if r["method"] != "EMPM (network input)" else "X"
            ax.plot(r["false_points"], r["point_recall"], marker, ms=8, color=f"C{i % 10}", label=r["method"])
            gain = r.get("psnr_gain_db")
            if gain is not None:  # staggered so that neighbouring points' labels do not overlap
                ax.annotate(f"{gain:+.1f} dB", (r["false_points"], r["point_recall"]), fontsize=7, color=f"C{i % 10}",
                            xytext=(6, -12 + 9 * (i % 3)), textcoords="offset points")
        # each point-head model's sweeps in its own colour and name: thresholds solid, presence masses dashed
        for key, default, style, name_of, offset in (
                ("threshold_sweep", ("threshold", DEFAULT_POINT_THRESHOLD), "-", lambda v: f"p>{v:g}", (-62, 3)),
                ("presence_sweep", ("presence_mass", DEFAULT_PRESENCE_MASS), "--",
                 lambda v: "no uncertain points" if v == 0 else f"mass {v:g}", (6, -10))):
            field, value = default
            for label, pts in result[name].get(key, {}).items():
                i = next(j for j, r in enumerate(rows) if r["method"] == label)
                line = sorted(pts + [{field: value, **rows[i]}], key=lambda r: r[field])
                ax.plot([r["false_points"] for r in line], [r["point_recall"] for r in line], style,
                        color=f"C{i % 10}", lw=1, alpha=0.7, zorder=0)
                for r in line:
                    if r[field] != value:
                        gain = f" {r['psnr_gain_db']:+.1f} dB" if r.get("psnr_gain_db") is not None else ""
                        ax.annotate(f"{label} {name_of(r[field])}{gain}", (r["false_points"], r["point_recall"]),
                                    fontsize=6, color=f"C{i % 10}", xytext=offset, textcoords="offset points")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("false points per image")
        ax.set_ylabel("point recall (true amplitudes)")
        ax.set_title(f"{name} (user grid)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_ylim(min(0.5, ax.get_ylim()[0]), 1.01)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test", action="append", default=[], help="NAME=DATASET_FOLDER")
    ap.add_argument("--model", action="append", default=[], help="LABEL=SPEC or a registered name")
    ap.add_argument("--thresholds", default="0.2,0.3,0.5", help="comma list; '' for none")
    ap.add_argument("--presence-masses", default="", help="comma list of presence_mass values (0: none); '' for none")
    ap.add_argument("--add", action="store_true", help="merge into the JSON at --out instead of replacing it")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default="docs/sr_frontier.json")
    ap.add_argument("--figure", default="docs/sr_frontier.png")
    ap.add_argument("--plot-only", action="store_true", help="redraw --figure from the JSON at --out")
    ap.add_argument("--show", action="append", default=[],
                    help="LABEL of a model to draw (repeat; default: every model in the JSON); the JSON keeps them all")
    a = ap.parse_args()
    if a.plot_only:
        plot(shown(json.loads(Path(a.out).read_text()), a.show), a.figure)
        return
    tests = {k: Path(v).expanduser() for k, v in (t.split("=", 1) for t in a.test)}
    models = {}
    for spec in a.model:
        label, _, what = spec.partition("=")
        models[label] = str(Path(what).expanduser()) if what else label
    result = measure(tests, models, [float(t) for t in a.thresholds.split(",") if t],
                     a.limit, [float(m) for m in a.presence_masses.split(",") if m])
    from sarsr._files import atomic_write_text, home_relative

    if a.add and Path(a.out).is_file():
        result = merge(json.loads(Path(a.out).read_text()), result)
    atomic_write_text(a.out, home_relative(json.dumps(json_safe(result), indent=2, allow_nan=False)))
    plot(shown(result, a.show), a.figure)
    for name, res in result.items():
        print(f"== {name}")
        for r in res["rows"]:
            print(f"  {r['method']:<34} recall {r['point_recall']:.3f}  false {r['false_points']:6.2f}  "
                  f"gain {r['psnr_gain_db']:+6.2f} dB  ratio {r['kept_amplitude_ratio']:.2f}")
        for label, pts in res["threshold_sweep"].items():
            for r in pts:
                print(f"  {label} p>{r['threshold']:<4g}{'':<24} recall {r['point_recall']:.3f}  false "
                      f"{r['false_points']:6.2f}  gain {r['psnr_gain_db']:+6.2f} dB  ratio {r['kept_amplitude_ratio']:.2f}")
        for label, pts in res.get("presence_sweep", {}).items():
            for r in pts:
                print(f"  {label} mass {r['presence_mass']:<4g}{'':<21} recall {r['point_recall']:.3f}  false "
                      f"{r['false_points']:6.2f}  gain {r['psnr_gain_db']:+6.2f} dB  ratio {r['kept_amplitude_ratio']:.2f}")


if __name__ == "__main__":
    main()
