"""Validation curves of the point detectors (docs/point_detector_curve.png).

    .venv/bin/python scripts/measure/plot_point_detector_curves.py [RUN ...] [--out docs/point_detector_curve.png]

Each RUN is a training folder with log.csv (default: ~/.cache/sarsr/runs/point_detector and
point_detector_ctx, made by ``sarsr train point_detector`` / ``sarsr train point_detector_ctx``).
Panels: training loss (point BCE, mean of each 100 steps), validation BCE, detection recall and
false detections per image (sr_train_v2's validation split: position error drawn 0-4 mm).
"""

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(run: Path):
    rows = list(csv.DictReader((run / "log.csv").open()))
    train = [(int(r["step"]), float(r["loss"])) for r in rows if r.get("loss")]
    val = [(int(r["step"]), float(r["val_bce"]), float(r["val_detection_recall"]), float(r["val_false_detections"]))
           for r in rows if r.get("val_bce")]
    return np.array(sorted(set(train))), np.array(val)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", default=["~/.cache/sarsr/runs/point_detector",
                                                "~/.cache/sarsr/runs/point_detector_ctx"])
    ap.add_argument("--out", default="docs/point_detector_curve.png")
    a = ap.parse_args()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for run in (Path(r).expanduser() for r in a.runs):
        train, val = read(run)
        k = max(1, len(train) // 50)
        steps = train[: len(train) // k * k, 0].reshape(-1, k).mean(1)
        loss = train[: len(train) // k * k, 1].reshape(-1, k).mean(1)
        axes[0].plot(steps, loss, label=run.name)
        for ax, col in zip(axes[1:], (1, 2, 3)):
            ax.plot(val[:, 0], val[:, col], "o-", label=run.name)
    for ax, title in zip(axes, ("training loss (point BCE)", "validation BCE", "detection recall",
                                "false detections / image")):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
