"""
How position error defocuses the image
======================================

The same scene and scan path imaged with 0, 1, 2 and 4 mm of RMS position error in x and y
(a smooth error field, a quarter of it in z): the points spread into blobs and sidelobes, the
shape's edges blur. This is what the super-resolution network and autofocus work against.
"""
import matplotlib.pyplot as plt
import numpy as np

from sarsr import plot, radar

wave = radar.waveform("iwr1443")
scene, z0 = radar.random_scene(rng=7)
grid = radar.image_grid(z=z0)
images = {}
for sigma_mm in (0, 1, 2, 4):
    s = sigma_mm * 1e-3
    scan = radar.freehand_scan("awr1443", error=radar.PositionError(sigma=(s, s, s / 4)), rng=0)
    echo = radar.simulate_scan(scan, scene, wave, snr_db=30, rng=0)
    img = radar.reconstruct("empm", echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape)
    images[f"{sigma_mm} mm"] = np.abs(img)
fig = plot.panels(images, grid, dynamic_range=30.0, ncols=4)
plt.show()
