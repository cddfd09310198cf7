"""Why the network misses points on autofocused inputs that are not gated (docs/autofocus.md):
for each point its input shows (input maximum over the point >= half the true amplitude) that
the network alone misses, on validation scans autofocused by the dataset pipeline
(`sarsr dataset paper_freehand --count 16 --seed 7100 --set position_error.sigma_m=0.002
--set reconstruction.autofocus=true --out ~/.cache/sarsr/datasets/gateval_af/sigma_2mm_n16_s7100`,
likewise 3 mm), print the input and output heights, whether the input's maximum over the point
is a local maximum, the output's maximum within 6 px and the distance to the shape.

    .venv/bin/python scripts/measure/measure_missed_points.py ~/.cache/sarsr/datasets/gateval_af
"""
import glob, sys
import numpy as np, h5py
from scipy import ndimage
from sarsr import metrics
from sarsr.sr import super_resolve, load_sr_model, kept_peak_fraction, AUTO_KEEP_BELOW
from sarsr.data import read_manifest
from sarsr.data.torch_dataset import render_label
net = load_sr_model(None)
for d in sorted(glob.glob(sys.argv[1] + "/sigma_*")):
    m = read_manifest(d); g = m["scenario_config"]["grid"]
    with h5py.File(f"{d}/{m['shards'][0]['file']}", "r") as f:
        emp = f["empm"][:]; scenes = f["scene_json"][:]
    for j in range(len(emp)):
        x = metrics.normalize(emp[j]).astype(np.float32)
        lab = render_label(scenes[j], g["n"], g["extent_m"], None)
        y = super_resolve(emp[j], net, keep_input_points=False)
        if kept_peak_fraction(y, emp[j]) < AUTO_KEEP_BELOW:
            continue
        comp, pts = metrics.point_targets(lab)
        shape_mask = (comp > 0) & ~np.isin(comp, pts)
        dist_shape = ndimage.distance_transform_edt(~shape_mask) if shape_mask.any() else np.full(x.shape, 999.)
        for c in pts:
            msk = comp == c
            L = lab[msk].max(); xi = x[msk].max(); yo = y[msk].max()
            if xi >= 0.5 * L and yo < 0.5 * L:
                i, jj = np.argwhere(msk & (x == x[msk].max()))[0]
                locmax = x[i, jj] == ndimage.maximum_filter(x, 5)[i, jj]
                around = ndimage.maximum_filter(y, 13)[i, jj]
                print(f"{d[-18:]} rec{j}: label {L:.2f} input {xi:.2f} output {yo:.2f} localmax5 {locmax} y_around13 {around:.2f} dist_shape {dist_shape[i, jj]:.0f}px")
