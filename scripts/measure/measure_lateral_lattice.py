"""How far the lateral position error is from what EMPM assumes (docs/autofocus.md, seventh session).

    .venv/bin/python scripts/measure/measure_lateral_lattice.py --sigmas 1,2,3 --count 8 --seed 7100

For paper_freehand scans (positions only, no echoes): the lateral error of the measured positions
(mean removed: a rigid shift does not defocus), and what is left of it when the estimate is
"measured minus the uniform lattice fitted through the measured positions" (the lattice EMPM
images on). That estimate is exact only for a scan whose true positions lie on a uniform lattice
(the simulator's raster; not `sr_oof_error`'s 1 mm jitter); what it leaves is the fitted
lattice's offset and stretch. Also printed: the stretch of the fitted lattice against the true one.
"""

import argparse

import numpy as np

from sarsr.data import load_scenario
from sarsr.data.simulate import build_scan, record_rng
from sarsr.radar.imaging.fourier import _lattice_axes


def lattice_nodes(v, shape):
    """(N, 2) nodes of the uniform lattice fitted through (N, 3) virtual positions (m) and its steps."""
    nx, ny = shape
    (x0, dx), (y0, dy) = _lattice_axes(v.reshape(nx, ny, 3))
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    return np.c_[(x0 + ii * dx).ravel(), (y0 + jj * dy).ravel()], (dx, dy)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="paper_freehand")
    ap.add_argument("--sigmas", default="1,2,3", help="position error sigmas in mm, comma-separated")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7100)
    a = ap.parse_args()
    print("sigma_mm  lateral_error_rms_mm(x,y)  left_by_lattice_estimate_mm(x,y)  |stretch|_%(x,y)")
    for s in (float(v) for v in a.sigmas.split(",")):
        sc = load_scenario(a.scenario).with_overrides({"position_error.sigma_m": s * 1e-3})
        err, left, stretch = [], [], []
        for i in range(a.count):
            scan = build_scan(sc, record_rng(a.seed, i))
            vm, vt = 0.5 * (scan.tx_est + scan.rx_est), 0.5 * (scan.tx + scan.rx)
            nodes, (dx, dy) = lattice_nodes(vm, scan.lattice_shape)
            _, (tdx, tdy) = lattice_nodes(vt, scan.lattice_shape)
            e = (vm - vt)[:, :2]
            r = e - (vm[:, :2] - nodes)
            err.append(np.sqrt(np.mean((e - e.mean(0)) ** 2, 0)) * 1e3)
            left.append(np.sqrt(np.mean((r - r.mean(0)) ** 2, 0)) * 1e3)
            stretch.append(np.abs([dx / tdx - 1, dy / tdy - 1]) * 100)
        f = lambda x: " / ".join(f"{v:.2f}" for v in np.mean(x, 0))  # noqa: E731
        print(f"{s:8.1f}  {f(err):>25}  {f(left):>32}  {f(stretch):>16}")


if __name__ == "__main__":
    main()
