"""Autofocus against position error, and super-resolution on autofocused inputs (the sweep in
docs/autofocus.md).

    .venv/bin/python scripts/measure/measure_autofocus_sweep.py --sigmas 0,1,2,3,4,5,6 --count 4 \
        --out docs/autofocus_sweep.json --figure docs/autofocus_sweep.png

For each sigma (mm) and record (paper_freehand with position_error.sigma_m set, seed 1000, the
test set's records): EMPM at the measured positions and after autofocus (default settings);
the shipped super-resolution network on both, as ``super_resolve`` returns it by default ("SR":
erased input peaks put back on defocused inputs) and alone ("SR alone",
``keep_input_points=False``); point recall (true amplitudes) and PSNR against
the label on the stored 200 x 200 grid; depth residual with the rigid shift removed; time.
"""

import argparse
import json

import numpy as np
from measure_autofocus import autofocus_record  # this script's folder is on sys.path

from sarsr import metrics
from sarsr.data import load_scenario
from sarsr.sr import apply_points_mode, super_resolve


def default_call(alone, image):
    """``super_resolve(image)`` (points mode "auto") from the network's output alone on ``image``."""
    return apply_points_mode(alone[None], image[None], "auto")[0][0]


METHODS = ("EMPM", "EMPM + autofocus", "SR", "SR on autofocused", "SR alone", "SR alone on autofocused")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigmas", default="0,1,2,3,4,5,6", help="position-error sigmas, mm")
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", default=None, help="JSON of the rows and the summary")
    ap.add_argument("--figure", default=None, help="PNG of recall and PSNR against sigma")
    a = ap.parse_args()
    sigmas = [float(s) for s in a.sigmas.split(",")]
    base = load_scenario("paper_freehand")
    summary, rows = [], []
    for sig in sigmas:
        sc = base.with_overrides({"position_error.sigma_m": sig * 1e-3})
        pts = {m: [] for m in METHODS}
        psnr = {m: [] for m in METHODS}
        resid, secs, applied = [], [], 0
        for i in range(a.count):
            acq, label, before, r, sec = autofocus_record(sc, a.seed, i)
            scan = acq["scan"]
            secs.append(sec)
            applied += bool(r.applied)
            e = (scan.tx_est - scan.tx)[:, 2] - r.error_estimate[:, 2]
            resid.append(float(np.std(e - e.mean()) * 1e3))
            # one network pass per input; "SR" is what super_resolve returns by default ("auto")
            alone, alone_af = (super_resolve(img, keep_input_points=False) for img in (before, r.image))
            images = {"EMPM": metrics.normalize(before), "EMPM + autofocus": metrics.normalize(r.image),
                      "SR": default_call(alone, before), "SR on autofocused": default_call(alone_af, r.image),
                      "SR alone": alone, "SR alone on autofocused": alone_af}
            for m, img in images.items():
                pts[m].append(metrics.point_metrics(img, label))
                psnr[m].append(metrics.psnr(img, label))
            rows.append(dict(sigma_mm=sig, index=i, applied=bool(r.applied), seconds=secs[-1],
                             depth_residual_mm=resid[-1],
                             recall={m: metrics.summarize_points(pts[m][-1:])["point_recall"] for m in METHODS}))
            print(json.dumps(rows[-1]), flush=True)
        summary.append(dict(sigma_mm=sig, count=a.count, applied=applied, seconds_mean=float(np.mean(secs)),
                            depth_error_mm=sig * 0.25, depth_residual_mm=float(np.mean(resid)),
                            recall={m: metrics.summarize_points(pts[m])["point_recall"] for m in METHODS},
                            false_points={m: metrics.summarize_points(pts[m])["false_points"] for m in METHODS},
                            psnr_db={m: float(np.mean(psnr[m])) for m in METHODS}))
        print(json.dumps(summary[-1]), flush=True)
    print("| sigma (mm) | " + " | ".join(f"{m} recall" for m in METHODS) + " | " +
          " | ".join(f"{m} PSNR" for m in METHODS) + " | depth residual (mm) | s / scan | changed |")
    print("|---" * (2 * len(METHODS) + 4) + "|")
    for s in summary:
        print(f"| {s['sigma_mm']:g} | " + " | ".join(f"{s['recall'][m]:.2f}" for m in METHODS) + " | " +
              " | ".join(f"{s['psnr_db'][m]:.2f}" for m in METHODS) +
              f" | {s['depth_residual_mm']:.2f} | {s['seconds_mean']:.1f} | {s['applied']}/{s['count']} |")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(dict(summary=summary, rows=rows), fh, indent=1)
    if a.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for m, style in zip(METHODS, ("o--", "o-", "s--", "s-", "^:", "^-")):
            axes[0].plot(sigmas, [s["recall"][m] for s in summary], style, label=m)
            axes[1].plot(sigmas, [s["psnr_db"][m] for s in summary], style, label=m)
        axes[0].set_ylabel("point recall (true amplitudes)")
        axes[1].set_ylabel("PSNR vs label (dB)")
        for ax in axes:
            ax.set_xlabel("position-error sigma (mm)")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"paper_freehand, {a.count} scans per sigma, 200 x 200 grid")
        fig.tight_layout()
        fig.savefig(a.figure, dpi=110)


if __name__ == "__main__":
    main()
