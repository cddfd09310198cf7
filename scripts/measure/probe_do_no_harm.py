"""Where the point-head default loses points under position error (docs/sr_points.md, "Do no harm:
where the points go"): on the robustness sets (``paper_freehand`` with ``position_error.sigma_m``
set, 32 scans per sigma, seed 2000, the records ``sarsr.train.evaluate.robustness`` caches), the
EMPM input and the default call (``super_resolve(model, point_threshold=T)``, user grid, true
amplitudes) scored as they are and up to a rigid shift (each output moved by the whole-pixel
shift that lines the *input* up with its label, ``sarsr.metrics.register_shift``: the plane of
the error moves the image and no image-domain method can see it), and for every label point the
distance to the nearest detected point (pixels of the 200 grid, 1 mm).

    .venv/bin/python scripts/measure/probe_do_no_harm.py ~/.cache/sarsr/runs/srvit_hsm_points_v3/last.pt \
        --threshold 0.3 --label v3 --out docs/sr_points_do_no_harm_probe.json

``--out`` keeps the other labels' entries of an existing file. A run checkpoint is scored with
its EMA weights (what the trainer validates).
"""

import argparse
import json
from pathlib import Path

import h5py
import numpy as np

from measure_points_design import export_ema  # this script's folder is on sys.path

from sarsr import metrics
from sarsr.data import read_manifest
from sarsr.data.torch_dataset import render_label
from sarsr.sr import load_sr_model, super_resolve

CACHE = Path("~/.cache/sarsr/datasets/robustness").expanduser()


def probe(model, threshold: float, sigma_mm: float, count: int = 32, seed: int = 2000) -> dict:
    root = CACHE / f"sigma_{sigma_mm:g}mm_n{count}_s{seed}"
    if not (root / "manifest.json").is_file():
        raise SystemExit(f"{root}: missing; make it with sarsr.train.evaluate.robustness(..., count={count})")
    m = read_manifest(root)
    g = m["scenario_config"]["grid"]
    acc = {k: [] for k in ("input", "input_registered", "default", "default_registered")}
    dists = []
    for s in m["shards"]:
        with h5py.File(root / s["file"], "r") as f:
            for j in range(s["count"]):
                x = metrics.normalize(np.abs(f["empm"][j]))
                lab = render_label(f["scene_json"][j], g["n"], g["extent_m"], None)
                y, tab = super_resolve(x, model=model, return_points=True, point_threshold=threshold)
                moved, shift = metrics.register_shift(x, lab)
                acc["input"].append(metrics.point_metrics(x, lab))
                acc["input_registered"].append(metrics.point_metrics(moved, lab))
                acc["default"].append(metrics.point_metrics(y, lab))
                acc["default_registered"].append(metrics.point_metrics(metrics.shift_image(y, *shift), lab))
                comp, pts = metrics.point_targets(lab)
                det = np.c_[tab["row"], tab["col"]]
                for pid in pts:
                    ii, jj = np.nonzero(comp == pid)
                    k = int(np.argmax(lab[ii, jj]))
                    d = np.linalg.norm(det - np.array([ii[k], jj[k]]), axis=1) if len(det) else np.array([np.inf])
                    dists.append(float(d.min()))
    d = np.array(dists)
    row = {k: {q: round(float(metrics.summarize_points(v)[q]), 3) for q in ("point_recall", "false_points")}
           for k, v in acc.items()}
    row["points"] = int(len(d))
    row["nearest_detection_within_px"] = {str(r): round(float(np.mean(d <= r)), 3) for r in (2, 4, 8)}
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a run checkpoint (its EMA weights) or any load_sr_model spec")
    ap.add_argument("--threshold", type=float, required=True, help="point probability of the default call")
    ap.add_argument("--label", required=True)
    ap.add_argument("--sigmas", default="0,1,2,3")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    spec, step, _ = export_ema(a.model)
    model = load_sr_model(spec)
    res = {"model": a.model.replace(str(Path.home()), "~"), "step": step, "threshold": a.threshold, "sigmas": {}}
    for sig in (float(s) for s in a.sigmas.split(",")):
        res["sigmas"][f"{sig:g}"] = probe(model, a.threshold, sig)
        print(f"{sig:g} mm", json.dumps(res["sigmas"][f"{sig:g}"]), flush=True)
    if a.out:
        p = Path(a.out)
        old = json.loads(p.read_text()) if p.is_file() else {}
        old[a.label] = res
        p.write_text(json.dumps(old, indent=1) + "\n")


if __name__ == "__main__":
    main()
