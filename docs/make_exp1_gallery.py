"""Regenerate docs/exp1_gallery.png: the paper's real AWR1443 freehand capture (exp1 cutout,
``../shared/data/exp1_cutout2_2.mat``, third-party data, not in this repository) as EMPM input,
super-resolved by the shipped network, backprojection and naive planar RMA (dB, 30 dB range).

Usage: .venv/bin/python docs/make_exp1_gallery.py [path/to/exp1_cutout2_2.mat]
(default: $SARSR_EXP1_MAT, else ../shared/data/exp1_cutout2_2.mat beside the repository)
"""
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sarsr import io, metrics, plot, radar  # noqa: E402
from sarsr.sr import super_resolve  # noqa: E402

here = Path(__file__).resolve().parent
mat = Path(sys.argv[1] if len(sys.argv) > 1 else
           os.environ.get("SARSR_EXP1_MAT") or here.parents[1] / "shared" / "data" / "exp1_cutout2_2.mat")
if not mat.exists():
    sys.exit(f"{mat} not found (pass the path of exp1_cutout2_2.mat)")
d = io.load_mat(mat)
empm = d["radarImagesFFH"]
images = {"EMPM (network input)": empm, "super-resolved": super_resolve(empm),
          "backprojection": d["radarImagesBPA"], "naive planar RMA": d["radarImagesRMA"]}
grid = radar.image_grid(n=empm.shape[0], extent=0.1, z=0.25)
fig = plot.panels(images, grid, ncols=4, dynamic_range=30)
fig.savefig(here / "exp1_gallery.png", dpi=90, bbox_inches="tight")
for k, v in images.items():
    print(f"{k:<22} entropy {metrics.image_entropy(v):6.2f}  contrast {metrics.image_contrast(v):7.2f}")
print("wrote", here / "exp1_gallery.png")
