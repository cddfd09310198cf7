"""
Simulate a freehand scan and image it three ways
================================================

A freehand scan of the paper's AWR1443 aperture (200 x 200 virtual elements) with 1 mm of
smooth position error, one random scene (a solid shape and a few points at 0.25-0.30 m), the
echo simulated at the *true* positions and imaged at the *measured* ones with the registered
imagers: the irregular-geometry Fourier method (EMPM), backprojection and the naive planar RMA.
"""
import matplotlib.pyplot as plt

from sarsr import plot, radar

wave = radar.waveform("iwr1443")  # 77 GHz, 4 GHz bandwidth, 64 samples per chirp
scan = radar.freehand_scan("awr1443", error=radar.PositionError(sigma=(1e-3, 1e-3, 0.25e-3)), rng=0)
scene, z0 = radar.random_scene(rng=1)
echo = radar.simulate_scan(scan, scene, wave, snr_db=20, rng=0)  # (40000, 64) complex
grid = radar.image_grid(z=z0)  # 200 x 200 pixels over [-0.1, 0.1) m

images = {name: radar.reconstruct(name, echo, scan.tx_est, scan.rx_est, wave.k, grid,
                                  lattice_shape=scan.lattice_shape)
          for name in ("empm", "backprojection", "rma")}
images["label"] = radar.label_image(scene, grid)
fig = plot.panels(images, grid, dynamic_range=30.0)
plt.show()
