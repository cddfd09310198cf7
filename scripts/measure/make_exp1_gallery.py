"""Regenerate docs/exp1_gallery.png: the paper's real AWR1443 freehand capture (exp1 cutout,
``../shared/data/exp1_cutout2_2.mat``, third-party data, not in this repository) as EMPM input,
super-resolved by the shipped network, backprojection and naive planar RMA (dB, 30 dB range),
and for each image: entropy, contrast, and the issue's three looks in numbers -- plate texture
(coefficient of variation of the amplitude over the plate: the largest region above -10 dB,
holes filled, edges eroded by 2 px, slots below -10 dB left out), the ghost copy (the highest
level below y = -50 mm, where the EMPM input shows the mirrored copy, dB) and the background's
99th percentile outside the plate (dB).

Usage: .venv/bin/python scripts/measure/make_exp1_gallery.py [path/to/exp1_cutout2_2.mat] [--model SPEC --out PNG]
(default: $SARSR_EXP1_MAT, else ../shared/data/exp1_cutout2_2.mat beside the repository; --model
a candidate network instead of the shipped one, e.g. a training run's best.pt, whose default call
and network alone are drawn beside the input into --out, default docs/exp1_gallery.png)
"""
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
from scipy import ndimage

matplotlib.use("Agg")

from sarsr import io, metrics, plot, radar  # noqa: E402
from sarsr.sr import super_resolve  # noqa: E402

here = Path(__file__).resolve().parents[2] / "docs"  # the figure goes to docs/
args = sys.argv[1:]
model = args[args.index("--model") + 1] if "--model" in args else None
out = Path(args[args.index("--out") + 1]) if "--out" in args else here / "exp1_gallery.png"
pos = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--model", "--out"))]
mat = Path(pos[0] if pos else
           os.environ.get("SARSR_EXP1_MAT") or here.parents[1] / "shared" / "data" / "exp1_cutout2_2.mat")
if not mat.exists():
    sys.exit(f"{mat} not found (pass the path of exp1_cutout2_2.mat)")
d = io.load_mat(mat)
empm = d["radarImagesFFH"]
if model is None:
    images = {"EMPM (network input)": empm, "super-resolved": super_resolve(empm),
              "backprojection": d["radarImagesBPA"], "naive planar RMA": d["radarImagesRMA"]}
else:
    images = {"EMPM (network input)": empm, "default call": super_resolve(empm, model),
              "network alone": super_resolve(empm, model, keep_input_points=False),
              "backprojection": d["radarImagesBPA"]}
grid = radar.image_grid(n=empm.shape[0], extent=0.1, z=0.25)
fig = plot.panels(images, grid, ncols=4, dynamic_range=30)
fig.savefig(out, dpi=90, bbox_inches="tight")


def plate_looks(image):
    """(plate texture CV, ghost level dB, background 99th percentile dB) of one exp1 image."""
    a = np.abs(image) / np.abs(image).max()
    db = 20 * np.log10(a + 1e-9)
    body = db > -10
    lab, n = ndimage.label(body)
    plate = ndimage.binary_fill_holes(lab == 1 + int(np.argmax(ndimage.sum(body, lab, range(1, n + 1)))))
    core = ndimage.binary_erosion(plate, iterations=2) & body
    ghost = db[grid.points[..., 1] < -0.05].max()
    background = np.percentile(db[~ndimage.binary_dilation(plate, iterations=8)], 99)
    return a[core].std() / a[core].mean(), ghost, background


for k, v in images.items():
    cv, ghost, background = plate_looks(v)
    print(f"{k:<22} entropy {metrics.image_entropy(v):6.2f}  contrast {metrics.image_contrast(v):7.2f}  "
          f"plate CV {cv:5.3f}  ghost {ghost:6.1f} dB  background p99 {background:6.1f} dB")
print("wrote", out)
