"""Choose super_resolve's "auto" gate (sarsr.sr.AUTO_KEEP_BELOW) on validation scans.

    .venv/bin/python scripts/measure/measure_points_gate.py [--count 32] [--seed 7100] [--out /tmp/gate.json]

For each sigma in 0-4 mm, ``paper_freehand`` scans with ``position_error.sigma_m`` set (seed 7100:
no training or test set uses it; cached under ~/.cache/sarsr/datasets/gateval) are
super-resolved by the shipped network alone; per image the script records the kept fraction of
the input's bright peaks (sarsr.sr.kept_peak_fraction) and the point scores (true amplitudes,
stored 200 x 200 grid) of the input, the network alone and the network with the erased input
peaks put back. It then prints, for each candidate threshold, the recall / false points / PSNR
per sigma of the gated output (peaks put back where the kept fraction is below the threshold)
and picks the lowest threshold whose recall stays within 0.05 of the input's at 1-4 mm
(sarsr.sr.AUTO_KEEP_BELOW); then, with that gate, the highest put-back threshold (lowest input
peak put back, sarsr.sr.AUTO_PUT_BACK_THRESHOLD) that costs at most 0.002 of recall at any
sigma against screening mode's 0.1.
"""

import argparse
import json
from pathlib import Path

import h5py
import numpy as np

from sarsr import metrics
from sarsr.data import generate_dataset, load_scenario, read_manifest
from sarsr.data.torch_dataset import render_label
from sarsr.sr import keep_input_points, kept_peak_fraction, load_sr_model, super_resolve

SIGMAS_MM = (0, 1, 2, 3, 4)
PUT_BACK = (0.1, 0.15, 0.2, 0.25)


def validation_sets(count: int, seed: int, cache: str):
    """(sigma in mm, dataset folder) of the validation scans per sigma of SIGMAS_MM
    (``paper_freehand`` with ``position_error.sigma_m`` set), generated on first use."""
    base = load_scenario("paper_freehand")
    for sig in SIGMAS_MM:
        root = Path(cache).expanduser() / f"sigma_{sig}mm_n{count}_s{seed}"
        generate_dataset(base.with_overrides({"position_error.sigma_m": sig * 1e-3}), root, count, seed=seed,
                         workers=1, progress=False, log=lambda *x: None)
        yield sig, root


def scans(root: Path):
    """(stored EMPM image, its magnitude / max, label rendered on the stored grid) per record."""
    m = read_manifest(root)
    g = m["scenario_config"]["grid"]
    for s in m["shards"]:
        with h5py.File(root / s["file"], "r") as f:
            empm, scenes = f["empm"][:], f["scene_json"][:]
        for image, scene in zip(empm, scenes):
            yield image, metrics.normalize(image).astype(np.float32), render_label(scene, g["n"], g["extent_m"], None)


def scored(row: dict, outputs, label) -> dict:
    """``row`` with each (name, image) of ``outputs`` scored against ``label`` (points, PSNR)."""
    for name, p in outputs:
        pm = metrics.point_metrics(p, label)
        row[name] = dict(n=pm["n_points"], recovered=pm["recovered"], false=pm["false_points"],
                         psnr=metrics.psnr(p, label), ratios=pm["amplitude_ratios"])
    return row


def image_rows(root: Path, sigma_mm: int, net) -> list[dict]:
    rows = []
    for image, shown, label in scans(root):
        alone = super_resolve(image, net, keep_input_points=False)
        outputs = [("input", shown), ("alone", alone)]
        outputs += [(f"restored@{t}", keep_input_points(alone, shown, threshold=t)) for t in PUT_BACK]
        rows.append(scored(dict(sigma_mm=sigma_mm, kept=kept_peak_fraction(alone, image)), outputs, label))
    return rows


def gated(rows: list[dict], threshold: float, put_back: float = 0.1) -> dict:
    """Per sigma: recall, recall minus the input's, false points, PSNR, images gated."""
    out = {}
    for sig in sorted({r["sigma_mm"] for r in rows}):
        rs = [r for r in rows if r["sigma_mm"] == sig]
        pick = [f"restored@{put_back}" if r["kept"] < threshold else "alone" for r in rs]
        n = sum(r["input"]["n"] for r in rs)
        rec = sum(r[p]["recovered"] for r, p in zip(rs, pick)) / n
        out[sig] = dict(recall=rec, harm=rec - sum(r["input"]["recovered"] for r in rs) / n,
                        false=float(np.mean([r[p]["false"] for r, p in zip(rs, pick)])),
                        psnr=float(np.mean([r[p]["psnr"] for r, p in zip(rs, pick)])),
                        gated=sum(p != "alone" for p in pick), images=len(rs))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=32, help="scans per sigma (default 32)")
    ap.add_argument("--seed", type=int, default=7100)
    ap.add_argument("--cache", default="~/.cache/sarsr/datasets/gateval")
    ap.add_argument("--out", default=None, help="JSON of the per-image rows")
    a = ap.parse_args()
    net = load_sr_model(None)
    rows = []
    for sig, root in validation_sets(a.count, a.seed, a.cache):
        rows += image_rows(root, sig, net)
        ks = [r["kept"] for r in rows if r["sigma_mm"] == sig]
        print(f"sigma {sig} mm: kept fraction 10/50/90 % {np.percentile(ks, [10, 50, 90]).round(3).tolist()}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(rows))
    chosen = None
    for th in np.round(np.arange(0.40, 0.805, 0.02), 2):
        res = gated(rows, th)
        print(f"threshold {th:.2f}: " + " | ".join(
            f"{s} mm recall {v['recall']:.3f} ({v['harm']:+.3f}) false {v['false']:.1f} PSNR {v['psnr']:.2f} "
            f"gated {v['gated']}/{v['images']}" for s, v in res.items()))
        if chosen is None and all(v["harm"] >= -0.05 for s, v in res.items() if s >= 1):
            chosen = th
    print(f"lowest threshold keeping recall within 0.05 of the input's at 1-4 mm: {chosen}")
    if chosen is None:
        return
    ref = gated(rows, chosen, 0.1)
    best = 0.1
    for t in PUT_BACK:
        res = gated(rows, chosen, t)
        print(f"put back from {t}: " + " | ".join(
            f"{s} mm recall {v['recall']:.3f} ({v['recall'] - ref[s]['recall']:+.3f}) false {v['false']:.1f} "
            f"PSNR {v['psnr']:.2f}" for s, v in res.items()))
        if all(ref[s]["recall"] - v["recall"] <= 0.0025 for s, v in res.items()):
            best = t
    print(f"highest put-back threshold costing at most 0.002 of recall: {best}")


if __name__ == "__main__":
    main()
