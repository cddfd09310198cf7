"""What costs the points of the long-correlation family (sr_oof_error): its test records 0-2
imaged by EMPM at the measured positions, with only the plane of the true error corrected, and
with only the non-planar rest corrected (docs/autofocus.md, "The long-correlation family").

    .venv/bin/python scripts/measure/measure_oof_error_plane.py
"""
import numpy as np
from sarsr import metrics, radar
from sarsr.data import load_scenario
from sarsr.data.simulate import simulate_acquisition
from sarsr.radar.autofocus import remove_plane
sc = load_scenario("sr_oof_error")
for i in range(3):
    acq = simulate_acquisition(sc, 3000, i)
    scan, wave, grid, echo = acq["scan"], acq["wave"], acq["grid"], acq["echo"]
    label = radar.label_image(acq["scene"], grid)
    err_t = scan.tx_est - scan.tx
    nonplanar = remove_plane(err_t, scan.tx[:, :2])
    planar = err_t - nonplanar
    out = {}
    for name, corr in (("measured", 0 * err_t), ("plane corrected", planar), ("non-plane corrected", nonplanar)):
        tx, rx = scan.tx_est - corr, scan.rx_est - corr  # one position error per channel
        img = radar.empm(echo, tx, rx, wave.k, grid, lattice_shape=scan.lattice_shape)
        pm = metrics.point_metrics(metrics.normalize(img), label)
        out[name] = (pm["n_points"], pm["recovered"], round(metrics.psnr(metrics.normalize(img), label), 2))
    print(i, out, "plane z rms mm", round(float(np.std(planar[:, 2]) * 1e3), 2), flush=True)
