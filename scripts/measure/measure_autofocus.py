"""Measure sarsr.radar.autofocus on paper_freehand scans (the numbers in docs/autofocus.md).

    .venv/bin/python scripts/measure/measure_autofocus.py --sigma-mm 3 --count 8 [--axes z] [--start pga] [--out docs/autofocus.json]
    .venv/bin/python scripts/measure/measure_autofocus.py --scenario sr_oof_error --sigma-mm 1.5 --seed 3000 --count 4

For each record (paper_freehand, or --scenario, with position_error.sigma_m set; seed 1000, the
test set's records): EMPM at the measured positions, autofocus, EMPM at the corrected positions; point
recall against true amplitudes (sarsr.metrics on the stored grid), also up to a rigid shift
(the image moved by the whole-pixel shift that best lines it up with the label,
sarsr.metrics.register_shift: the plane of the error, a tilt of the array, moves the image
without blurring it and no focus measure can see it), the residual position
error after autofocus with the rigid shift removed (a rigid shift does not defocus), time.
"""

import argparse
import dataclasses
import json
import time
import warnings

import numpy as np

from sarsr import metrics, radar
from sarsr.data import load_scenario
from sarsr.data.simulate import simulate_acquisition
from sarsr.radar.autofocus import autofocus, remove_plane


def autofocus_record(sc, seed: int, index: int, true_lateral: bool = False, true_depth: bool = False, **options):
    """Simulate record ``index`` of scenario ``sc`` and autofocus it (``options`` go to
    :func:`sarsr.radar.autofocus`). Returns (acquisition dict, label on the stored grid, EMPM
    image at the measured positions, AutofocusResult, seconds of autofocus)."""
    acq = simulate_acquisition(sc, seed, index)
    scan, wave, grid, echo = acq["scan"], acq["wave"], acq["grid"], acq["echo"]
    if true_lateral:  # an experiment: only the depth error left in the measured positions
        scan = dataclasses.replace(scan, tx_est=np.c_[scan.tx[:, :2], scan.tx_est[:, 2]],
                                   rx_est=np.c_[scan.rx[:, :2], scan.rx_est[:, 2]])
        acq = {**acq, "scan": scan}
    if true_depth:  # an experiment: only the lateral error left in the measured positions
        scan = dataclasses.replace(scan, tx_est=np.c_[scan.tx_est[:, :2], scan.tx[:, 2]],
                                   rx_est=np.c_[scan.rx_est[:, :2], scan.rx[:, 2]])
        acq = {**acq, "scan": scan}
    label = radar.label_image(acq["scene"], grid)
    before = radar.empm(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = autofocus(echo, scan.tx_est, scan.rx_est, wave.k, grid, lattice_shape=scan.lattice_shape, **options)
    return acq, label, before, r, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="paper_freehand", help="scenario preset (default paper_freehand)")
    ap.add_argument("--sigma-mm", type=float, default=3.0)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--axes", default="z")
    ap.add_argument("--start", default="pga", choices=("zero", "pga", "pga_exact"), help="autofocus start (default pga)")
    ap.add_argument("--power", type=float, default=None, help="autofocus power (default: autofocus's own)")
    ap.add_argument("--floor", type=float, default=None, help="autofocus floor (default: autofocus's own)")
    ap.add_argument("--k-step", type=int, default=None, help="autofocus k_step (default: autofocus's own)")
    ap.add_argument("--nfft", type=int, default=None, help="autofocus nfft (default: autofocus's own)")
    ap.add_argument("--max-iter", type=int, default=None, help="autofocus max_iter (default: autofocus's own)")
    ap.add_argument("--pga-targets", type=int, default=None, help="autofocus pga_targets (default: autofocus's own)")
    ap.add_argument("--true-lateral", action="store_true",
                    help="experiment: measured positions keep only the depth error (lateral = true)")
    ap.add_argument("--true-depth", action="store_true",
                    help="experiment: measured positions keep only the lateral error (depth = true)")
    ap.add_argument("--out", default=None, help="JSON of the per-record rows and the summary")
    a = ap.parse_args()
    sc = load_scenario(a.scenario).with_overrides({"position_error.sigma_m": a.sigma_mm * 1e-3})
    rows = []
    pts = {"before": [], "after": [], "before_registered": [], "after_registered": []}
    for i in range(a.count):
        extra = {k: v for k, v in (("power", a.power), ("floor", a.floor), ("k_step", a.k_step), ("nfft", a.nfft),
                                            ("max_iter", a.max_iter), ("pga_targets", a.pga_targets))
                 if v is not None}
        acq, label, before, r, secs = autofocus_record(sc, a.seed, i, true_lateral=a.true_lateral,
                                                       true_depth=a.true_depth, axes=a.axes,
                                                       start=a.start, **extra)
        scan = acq["scan"]
        err = scan.tx_est - scan.tx
        resid = err - r.error_estimate
        resid -= resid.mean(0)
        err0 = err - err.mean(0)
        shifts = {}
        for key, img in (("before", before), ("after", r.image)):
            pts[key].append(metrics.point_metrics(metrics.normalize(img), label))
            moved, shifts[key] = metrics.register_shift(metrics.normalize(img), label)
            pts[key + "_registered"].append(metrics.point_metrics(moved, label))
        row = dict(index=i, applied=r.applied, seconds=secs, entropy_before=r.entropy_before,
                   entropy_after=r.entropy_after,
                   error_rms_mm=(np.sqrt(np.mean(err0 ** 2, 0)) * 1e3).tolist(),
                   residual_rms_mm=(np.sqrt(np.mean(resid ** 2, 0)) * 1e3).tolist(),
                   # the depth error's plane (a rigid tilt) does not defocus: without it
                   depth_error_plane_removed_mm=float(np.std(remove_plane(err, scan.tx[:, :2])[:, 2]) * 1e3),
                   depth_residual_plane_removed_mm=float(np.std(remove_plane(err - r.error_estimate,
                                                                             scan.tx[:, :2])[:, 2]) * 1e3),
                   recall_before=metrics.summarize_points(pts["before"][-1:])["point_recall"],
                   recall_after=metrics.summarize_points(pts["after"][-1:])["point_recall"],
                   recall_before_registered=metrics.summarize_points(pts["before_registered"][-1:])["point_recall"],
                   recall_after_registered=metrics.summarize_points(pts["after_registered"][-1:])["point_recall"],
                   registration_shift_px=shifts)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = dict(scenario=a.scenario, seed=a.seed, sigma_mm=a.sigma_mm, count=a.count, axes=a.axes, start=a.start,
                   true_lateral=a.true_lateral, true_depth=a.true_depth, power=a.power, floor=a.floor, k_step=a.k_step, nfft=a.nfft, max_iter=a.max_iter,
                   pga_targets=a.pga_targets,
                   recall_before=metrics.summarize_points(pts["before"]),
                   recall_after=metrics.summarize_points(pts["after"]),
                   recall_before_registered=metrics.summarize_points(pts["before_registered"]),
                   recall_after_registered=metrics.summarize_points(pts["after_registered"]),
                   applied=sum(r["applied"] for r in rows),
                   residual_rms_mm=np.mean([r["residual_rms_mm"] for r in rows], 0).tolist(),
                   depth_error_plane_removed_mm=float(np.mean([r["depth_error_plane_removed_mm"] for r in rows])),
                   depth_residual_plane_removed_mm=float(np.mean([r["depth_residual_plane_removed_mm"] for r in rows])),
                   error_rms_mm=np.mean([r["error_rms_mm"] for r in rows], 0).tolist(),
                   seconds_mean=float(np.mean([r["seconds"] for r in rows])))
    print(json.dumps(summary, indent=1))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(dict(summary=summary, rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
