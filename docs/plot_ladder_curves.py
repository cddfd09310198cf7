"""Validation curves of the super-resolution capacity ladder (docs/sr_ladder_curves.png):
val PSNR, point recall, false points per image and val_score against training image-samples
(step x batch) for each run folder, from its ``log.csv`` (the trainer's validation rows).

    .venv/bin/python docs/plot_ladder_curves.py --out docs/sr_ladder_curves.png \
        shipped-data-only=~/.cache/sarsr/runs/abl_clean refine=~/.cache/sarsr/runs/srvit_hsm_v2_refine

``NAME=RUN_FOLDER@STEP`` places a run that started from another run's step STEP (``train.init``)
after that step (e.g. ``anneal=~/.cache/sarsr/runs/srvit_hsm_v2_refine_anneal@3000``).
``--reference NAME=PSNR,RECALL,FALSE,SCORE`` draws a horizontal line (e.g. the shipped network
scored once on the same validation records).
"""

import argparse
import csv
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="NAME=RUN_FOLDER[@START_STEP]")
    ap.add_argument("--reference", action="append", default=[], help="NAME=PSNR,RECALL,FALSE,SCORE")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for spec in a.runs:
        name, _, folder = spec.partition("=")
        folder, _, start = folder.partition("@")
        batch, rows = read_run(Path(folder).expanduser())
        x = [(int(start or 0) + int(r["step"])) * batch / 1000 for r in rows]
        for ax, (key, _) in zip(axes, METRICS):
            ax.plot(x, [float(r[key]) for r in rows], "o-", label=name)
    for spec in a.reference:
        name, _, vals = spec.partition("=")
        for ax, v in zip(axes, vals.split(",")):
            ax.axhline(float(v), ls="--", color="gray", label=name)
    for ax, (_, label) in zip(axes, METRICS):
        ax.set_xlabel("training image-samples (thousands)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
