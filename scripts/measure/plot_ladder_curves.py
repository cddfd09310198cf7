r"""Validation curves of the super-resolution capacity ladder (docs/sr_ladder_curves.png):
val PSNR, point recall, false points per image and val_score against training image-samples
(step x batch) for each run folder, from its ``log.csv`` (the trainer's validation rows).

    .venv/bin/python scripts/measure/plot_ladder_curves.py --out docs/sr_ladder_curves.png \
        shipped-data-only=~/.cache/sarsr/runs/abl_clean refine=~/.cache/sarsr/runs/srvit_hsm_v2_refine

``NAME=RUN_FOLDER@STEP`` places a run that started from another run's step STEP (``train.init``)
after that step (e.g. ``anneal=~/.cache/sarsr/runs/srvit_hsm_v2_refine_anneal@3000``).
``--reference NAME=PSNR,RECALL,FALSE,SCORE`` draws a horizontal line (e.g. the shipped network
scored once on the same validation records).

Run folders live in a cache that a later session may not find, so the ladder's validation rows
are also kept in the repository, in ``docs/sr_ladder_validation.csv`` (one row per validation:
run, start_step, batch_size, step and the four metrics). ``--record`` appends the named run
folders' rows to that table (replacing earlier rows of the same name); ``--table`` draws every
run in it. The figure in the docs is drawn from the table alone:

    .venv/bin/python scripts/measure/plot_ladder_curves.py --record deep=~/.cache/sarsr/runs/srvit_hsm_v2_deep
    .venv/bin/python scripts/measure/plot_ladder_curves.py --table docs/sr_ladder_validation.csv \
        --reference shipped=28.60,0.252,4.50,27.12 --out docs/sr_ladder_curves.png \
        --cost docs/sr_ladder_cost.json --cost-out docs/sr_ladder_cost.png

``--cost`` (the JSON of scripts/measure/measure_ladder_cost.py) with ``--cost-out`` also draws quality
against fused CPU time: each rung at its best validation (highest val_score; the shipped
network at its ``--reference`` scores).
"""

import argparse
import csv
import json
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = (("val_psnr", "val PSNR (dB)"), ("val_point_recall", "val point recall"),
           ("val_false_points", "false points / image"), ("val_score", "val_score"))


def read_run(folder: Path) -> tuple[int, list[dict]]:
    """(batch size, validation rows) of one run folder; a clear error when it is not one."""
    log, cfg = folder / "log.csv", folder / "config.toml"
    if not log.exists() or not cfg.exists():
        raise SystemExit(f"{folder}: not a training run (needs log.csv and config.toml)")
    batch = int(tomllib.loads(cfg.read_text())["train"].get("batch_size", 8))
    rows = [r for r in csv.DictReader(log.open()) if r.get("val_score")]
    return batch, rows


TABLE = Path(__file__).resolve().parents[2] / "docs" / "sr_ladder_validation.csv"
TABLE_FIELDS = ("run", "start_step", "batch_size", "step") + tuple(k for k, _ in METRICS)


def parse_spec(spec: str) -> tuple[str, Path, int]:
    """``NAME=RUN_FOLDER[@START_STEP]`` -> (name, folder, start step)."""
    name, _, folder = spec.partition("=")
    folder, _, start = folder.partition("@")
    if not name or not folder:
        raise SystemExit(f"{spec!r}: expected NAME=RUN_FOLDER[@START_STEP]")
    return name, Path(folder).expanduser(), int(start or 0)


def read_table(path: Path) -> dict[str, list[dict]]:
    """Rows of the ladder table grouped by run name, in file order."""
    runs: dict[str, list[dict]] = {}
    for r in csv.DictReader(path.open()):
        runs.setdefault(r["run"], []).append(r)
    return runs


def record(specs: list[str], path: Path = TABLE) -> None:
    """Append the validation rows of run folders to the ladder table (same-name rows replaced)."""
    runs = read_table(path) if path.exists() else {}
    for spec in specs:
        name, folder, start = parse_spec(spec)
        batch, rows = read_run(folder)
        runs[name] = [{"run": name, "start_step": start, "batch_size": batch, "step": r["step"],
                       **{k: f"{float(r[k]):.4g}" for k, _ in METRICS}} for r in rows]
        print(f"{name}: {len(rows)} validation rows from {folder}")
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, TABLE_FIELDS, lineterminator="\n")
        w.writeheader()
        for rows in runs.values():
            w.writerows({k: r[k] for k in TABLE_FIELDS} for r in rows)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help="NAME=RUN_FOLDER[@START_STEP]")
    ap.add_argument("--table", type=Path, help="draw every run of this ladder table (CSV)")
    ap.add_argument("--record", action="store_true",
                    help=f"append the runs' validation rows to {TABLE.name} instead of drawing")
    ap.add_argument("--reference", action="append", default=[], help="NAME=PSNR,RECALL,FALSE,SCORE")
    ap.add_argument("--out")
    ap.add_argument("--cost", type=Path, help="docs/sr_ladder_cost.json (scripts/measure/measure_ladder_cost.py)")
    ap.add_argument("--cost-out", help="figure of quality against fused CPU time")
    a = ap.parse_args()
    if a.record:
        if not a.runs:
            raise SystemExit("--record needs at least one NAME=RUN_FOLDER")
        return record(a.runs)
    if not a.out:
        raise SystemExit("--out is required to draw the figure")
    curves = []  # (name, x in thousands of image-samples, rows)
    for spec in a.runs:
        name, folder, start = parse_spec(spec)
        batch, rows = read_run(folder)
        curves.append((name, [(start + int(r["step"])) * batch / 1000 for r in rows], rows))
    if a.table:
        for name, rows in read_table(a.table).items():
            curves.append((name, [(int(r["start_step"]) + int(r["step"])) * int(r["batch_size"]) / 1000
                                  for r in rows], rows))
    if not curves:
        raise SystemExit("nothing to draw: name run folders or --table")
    refs = {n: dict(zip((k for k, _ in METRICS), map(float, v.split(","))))  # NAME=PSNR,RECALL,FALSE,SCORE
            for n, _, v in (spec.partition("=") for spec in a.reference)}
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for name, x, rows in curves:
        for ax, (key, _) in zip(axes, METRICS):
            ax.plot(x, [float(r[key]) for r in rows], "o-", ms=3, label=name)
    for name, ref in refs.items():
        for ax, (key, _) in zip(axes, METRICS):
            ax.axhline(ref[key], ls="--", color="gray", label=name)
    for ax, (_, label) in zip(axes, METRICS):
        ax.set_xlabel("training image-samples (thousands)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")
    if a.cost:
        if not a.cost_out:
            raise SystemExit("--cost needs --cost-out (the figure to write)")
        plot_cost(json.loads(a.cost.read_text()), {n: rows for n, _, rows in curves}, refs, a.cost_out)


def plot_cost(cost: dict, runs: dict[str, list[dict]], refs: dict[str, dict], out: str) -> None:
    """Validation quality at each rung's best validation against its fused CPU ms per 256^2 image."""
    points = []
    for rung, c in cost["rungs"].items():
        if rung in runs:
            best = max(runs[rung], key=lambda r: float(r["val_score"]))
            points.append((rung, c, {k: float(best[k]) for k, _ in METRICS}))
        elif rung in refs:
            points.append((rung, c, refs[rung]))
    if not points:
        raise SystemExit("--cost: no rung of the cost file has validation rows or a --reference")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (key, label) in zip(axes, METRICS[:3]):
        for rung, c, q in points:
            ax.plot(c["fused_ms"], q[key], "o", ms=7)
            ax.annotate(f"{rung}\n{c['gmac']:.2f} GMAC", (c["fused_ms"], q[key]), fontsize=8,
                        xytext=(5, 3), textcoords="offset points")
        ax.set_xlabel(f"fused CPU ms per 256² image ({cost['threads']} threads)")
        ax.set_title(label + " (best validation)")
        ax.margins(x=0.3, y=0.3)
        ax.grid(alpha=0.3)
    fig.suptitle(f"capacity ladder: quality against CPU time ({cost['cpu']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
