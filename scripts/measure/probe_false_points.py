r"""Where a network's false points lie (docs/sr_points.md, "What one image allows"): for each
component of the image head's output above the false-point level (0.25) that touches no label
component (:func:`sarsr.metrics.point_metrics`), its distance to the nearest label component,
whether a *missed* label point lies within 4 px (a true point drawn in the wrong place: it
costs a miss and a false point at once), its peak and the input's peak under it.

    .venv/bin/python scripts/measure/probe_false_points.py ~/.cache/sarsr/runs/srvit_hsm_points_v4/last.pt \
        --count 64 --label v4 --out docs/sr_points_false_census.json

The first ``--count`` records of the trainer's validation (``sr_train_v2``), the 256 working
grid the trainer validates on, the EMA weights of a run checkpoint. ``--out`` keeps the other
labels' entries of an existing file. One thread.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from measure_points_design import export_ema  # this script's folder is on sys.path
from sarsr import metrics
from sarsr._files import atomic_write_text, home_relative
from sarsr.data.torch_dataset import SARDataset
from sarsr.sr import load_sr_model

BANDS = ((0, 2), (2, 3), (3, 5), (5, 9), (9, None))  # distance to the nearest label component, pixels


def census(net, root: str, count: int) -> dict:
    ds = SARDataset(root, "input", 256, indices=range(count))
    found = []
    for i in range(count):
        x, lab = ds[i]
        with torch.no_grad():
            img = net(x[None]).float()[0, 0].clamp(0, 1).numpy()
        lab, inp = lab[0].numpy(), x[0].numpy()
        comp, pts = metrics.point_targets(lab)
        dist = ndimage.distance_transform_edt(comp == 0)
        missed = [c for c in pts if img[comp == c].max() < metrics.POINT_RECALL_FRACTION * lab[comp == c].max()]
        near_missed = ndimage.distance_transform_edt(~np.isin(comp, missed)) if missed else np.full(lab.shape, np.inf)
        fc, n = ndimage.label(img > metrics.FALSE_POINT_THRESHOLD, structure=np.ones((3, 3), bool))
        for k in range(1, n + 1):
            m = fc == k
            if not (comp[m] > 0).any():
                found.append((dist[m].min(), near_missed[m].min() <= 4, img[m].max(), inp[m].max()))
    f = np.asarray(found, np.float64).reshape(-1, 4)
    bands = []
    for lo, hi in BANDS:
        s = (f[:, 0] >= lo) & (f[:, 0] < (np.inf if hi is None else hi))
        bands.append(dict(distance_px=[lo, hi], per_image=float(s.sum() / count),
                          next_to_missed_point=float(f[s, 1].mean()) if s.any() else None,
                          peak_median=float(np.median(f[s, 2])) if s.any() else None,
                          input_peak_median=float(np.median(f[s, 3])) if s.any() else None))
    return dict(records=count, false_per_image=float(len(f) / count),
                displaced_per_image=float(f[:, 1].sum() / count), bands=bands)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--label", required=True)
    ap.add_argument("--data", default=str(Path.home() / ".cache/sarsr/datasets/sr_train_v2"))
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(1)
    path, step, _ = export_ema(a.model)
    res = dict(model=a.model, step=step, **census(load_sr_model(path), a.data, a.count))
    print(json.dumps(res, indent=1))
    if a.out:
        out = Path(a.out)
        old = json.loads(out.read_text()) if out.exists() else {}
        old[a.label] = res
        atomic_write_text(out, home_relative(json.dumps(old, indent=1)))


if __name__ == "__main__":
    main()
