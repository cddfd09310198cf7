r"""Learning curves of the point-head network (docs/sr_points_curves.png) against training
image-samples on a log axis: the default output (image head + drawn points) and the image head
alone, beside the shipped network's design trained on from the same start (the capacity
ladder's rungs grown from the shipped weights, docs/sr_ladder_validation.csv) and the shipped
network itself (horizontal lines), all on the same validation records (the first 128 of
``sr_train_v2``, true amplitudes, 256 working grid).

    .venv/bin/python scripts/measure/plot_points_curves.py --record ~/.cache/sarsr/runs/srvit_hsm_points
    .venv/bin/python scripts/measure/plot_points_curves.py --out docs/sr_points_curves.png

``--record`` copies the run's validation rows into docs/sr_points_validation.csv under the run
folder's name (column ``run``; the rows of the other runs are kept: run folders live in a cache a
later session may not find; ``--start-step N``: a run started from another run's weights at step
N, e.g. an annealed copy, is placed after it); the figure is drawn from that table, one colour per point-head design. x
is in 256 x 256 image equivalents (steps x batch x crop^2 / 256^2).
"""

import argparse
import csv
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parents[2] / "docs"  # tables and figures live in docs/
TABLE = HERE / "sr_points_validation.csv"
LADDER = HERE / "sr_ladder_validation.csv"
FIELDS = ("run", "step", "samples_256", "val_psnr", "val_point_recall", "val_point_ratio", "val_false_points", "val_score",
          "val_net_psnr", "val_net_point_recall", "val_net_false_points", "val_detection_recall",
          "val_false_detections")
#: the shipped network (image alone: it has no point head) on the same records, 2026-11-28
SHIPPED = {"val_psnr": 28.60, "val_point_recall": 0.252, "val_false_points": 4.50, "val_score": 27.12}
PANELS = (("val_psnr", "PSNR (dB)"), ("val_point_recall", "point recall"), ("val_false_points", "false points / image"),
          ("val_score", "val_score"), ("val_detection_recall", "point head: detection recall (p > 0.5)"))
#: rows recorded before the table had a run column belong to the first design
FIRST_RUN = "srvit_hsm_points"


def record(folder: Path, start_step: int = 0):
    cfg = tomllib.loads((folder / "config.toml").read_text())
    t, d = cfg["train"], cfg["data"]
    per_step = t.get("batch_size", 8) * (d.get("crop", 128) or 256) ** 2 / 256 ** 2
    rows = [r for r in csv.DictReader((folder / "log.csv").read_text().splitlines()) if r.get("val_score")]
    name = folder.name  # the run folder (default: the config's name; a copy trained with --out keeps its own)
    out = [{"run": name, "step": r["step"], "samples_256": f"{(start_step + int(r['step'])) * per_step:.0f}",
            **{k: r.get(k, "") for k in FIELDS[3:]}} for r in rows]
    from sarsr._files import atomic_write_text

    kept = [r for r in _table() if r["run"] != name]
    lines = [",".join(FIELDS)] + [",".join(str(r.get(k, "")) for k in FIELDS) for r in kept + out]
    atomic_write_text(TABLE, "\n".join(lines) + "\n")
    print(f"{TABLE}: {len(out)} validation rows of {folder} ({name}); {len(kept)} rows of other runs kept")


def _table() -> list[dict]:
    if not TABLE.exists():
        return []
    return [{"run": r.get("run") or FIRST_RUN, **{k: v for k, v in r.items() if k != "run"}}
            for r in csv.DictReader(TABLE.read_text().splitlines())]


def plot(out: Path):
    table = _table()
    runs = sorted(dict.fromkeys(r["run"] for r in table))
    ladder = {}
    for r in csv.DictReader(LADDER.open()):
        if r["run"] in ("refine", "deep") and r.get("val_score"):
            per = int(r["batch_size"]) * 192 ** 2 / 256 ** 2
            ladder.setdefault(r["run"], []).append(((int(r["start_step"]) + int(r["step"])) * per, r))
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.8))
    colours = ("C0", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "k", "navy", "lime", "m")  # C1 / C2: the ladder's rungs
    if len(runs) > len(colours):
        raise SystemExit(f"{len(runs)} runs in {TABLE}, colours for {len(colours)}: add colours")
    for ax, (key, label) in zip(axes, PANELS):
        for run, colour in zip(runs, colours):
            rows = [r for r in table if r["run"] == run and r.get(key)]
            if not rows:
                continue
            x = [float(r["samples_256"]) for r in rows]
            ax.plot(x, [float(r[key]) for r in rows], "o-", ms=3, color=colour, label=f"{run}: default output")
            net = key.replace("val_", "val_net_")
            if rows[0].get(net):
                ax.plot(x, [float(r[net]) for r in rows], "s--", ms=3, color=colour, alpha=0.5,
                        label=f"{run}: image head alone")
        for i, (name, pts) in enumerate(sorted(ladder.items())):
            if key in pts[0][1]:
                ax.plot([p[0] for p in pts], [float(p[1][key]) for p in pts], "^:", color=f"C{i + 1}",
                        label=f"shipped design grown ({name} rung)")
        if key in SHIPPED:
            ax.axhline(SHIPPED[key], color="0.4", lw=1, ls="-.", label="shipped network (step 0)")
        ax.set_xscale("log")
        ax.set_xlabel("training images (256² equivalents)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=6)
    fig.suptitle("validation: first 128 records of sr_train_v2 (true amplitudes, 256 grid)", fontsize=10)
    fig.tight_layout()
    from sarsr._files import save_figure

    save_figure(fig, out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", type=Path, default=None, help="run folder whose validation rows to record")
    ap.add_argument("--start-step", type=int, default=0,
                    help="the recorded run started from another run's weights at this step (same batch and crop): "
                         "its points are placed after it on the x axis ('step' stays the run's own)")
    ap.add_argument("--out", type=Path, default=HERE / "sr_points_curves.png")
    a = ap.parse_args()
    if a.record:
        record(a.record.expanduser(), a.start_step)
    plot(a.out)
