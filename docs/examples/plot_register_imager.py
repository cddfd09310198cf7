"""
Add a reconstruction method
===========================

Every imager is one registered function (:func:`sarsr.radar.register_imager`); once
registered it is a choice of :func:`sarsr.radar.reconstruct`, of datasets' ``[store]`` keys, of
``sarsr reconstruct --method`` and of the evaluation baselines. Here a toy imager -- a
delay-and-sum over a random tenth of the virtual elements, built on the public backprojection --
beside the full backprojection.
"""
import matplotlib.pyplot as plt
import numpy as np

from sarsr import plot, radar


@radar.register_imager("sparse_bp", "backprojection over 10 % of the elements", needs_lattice=False)
def sparse_bp(echo, tx, rx, k, grid, *, lattice_shape=None, fraction: float = 0.1, seed: int = 0):
    """Backprojection of a random ``fraction`` of the virtual elements (complex, grid.shape)."""
    keep = np.random.default_rng(seed).random(len(echo)) < fraction
    img = radar.backproject(echo[keep], tx[keep], rx[keep], k, grid.points)
    return img.reshape(grid.shape)


wave = radar.waveform("iwr1443")
scan = radar.raster_scan("awr1443")
scene = radar.point_scene([[0.0, 0.0, 0.28], [0.02, -0.015, 0.28]])
echo = radar.simulate_scan(scan, scene, wave, snr_db=30, rng=0)
grid = radar.image_grid(100, 0.03, z=0.28)
images = {name: np.abs(radar.reconstruct(name, echo, scan.tx_est, scan.rx_est, wave.k, grid))
          for name in ("backprojection", "sparse_bp")}
print("imagers:", radar.list_imagers())
fig = plot.panels(images, grid, dynamic_range=30.0)
plt.show()
