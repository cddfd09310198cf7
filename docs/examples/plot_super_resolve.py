"""
Super-resolve an EMPM image, and score it
=========================================

The shipped network on one simulated scan: the default call, the network alone and screening
mode (every erased input peak put back), each scored against the label with the point-target
metrics (recall of the isolated points at their true amplitude, false points per image) and
PSNR.
"""
import matplotlib.pyplot as plt
import numpy as np

import sarsr
from sarsr import metrics, plot, radar

wave = radar.waveform("iwr1443")
scan = radar.freehand_scan("awr1443", error=radar.PositionError(sigma=(1e-3, 1e-3, 0.25e-3)), rng=3)
scene, z0 = radar.random_scene(rng=4)
echo = radar.simulate_scan(scan, scene, wave, snr_db=20, rng=3)
grid = radar.image_grid(z=z0)
empm = np.abs(radar.reconstruct("empm", echo, scan.tx_est, scan.rx_est, wave.k, grid,
                                lattice_shape=scan.lattice_shape))
label = radar.label_image(scene, grid)

images = {"EMPM input": empm / empm.max(),
          "default": sarsr.super_resolve(empm),
          "network alone": sarsr.super_resolve(empm, keep_input_points=False),
          "screening": sarsr.super_resolve(empm, keep_input_points=True),
          "label": label}
for name, img in images.items():
    if name != "label":
        pts = metrics.point_metrics(img, label)
        recall = pts["recovered"] / max(pts["n_points"], 1)
        print(f"{name:14s} PSNR {metrics.psnr(img, label):5.2f} dB  recall {recall:.2f} of {pts['n_points']} points  "
              f"false points {pts['false_points']}")
fig = plot.panels(images, grid, dynamic_range=30.0, ncols=5)
plt.show()
