"""Is the sharpest EMPM image the one at the true positions? (docs/autofocus.md, "Sharper than the truth")

    .venv/bin/python scripts/measure/measure_focus_measures.py --sigma-mm 3 --count 8 --seed 7100 [--out FILE.json]
    .venv/bin/python scripts/measure/measure_focus_measures.py --count 4 --set scene.n_shapes=0 --set "noise.snr_db=[50.0, 50.0]" \
        --set trajectory.surface_peak_to_peak_m=0.0     # an ideal scan: no noise, flat surface, points only

For each record (paper_freehand with ``position_error.sigma_m`` set; seed 7100 = validation
scans, never the test set's seed 1000): the EMPM image with four depth corrections -- none,
:func:`sarsr.radar.autofocus`'s estimate, the true depth error, and the true depth error with
its plane removed (what a sharpness measure can see at best) -- and with every position true
(lateral included: EMPM fits its lattice through the measured lateral positions) -- its point recall against true
amplitudes on the stored grid, and six focus measures of the full image (lower = sharper):
entropy of |I| (autofocus's own measure, ``power`` 1), of |I|^2 and |I|^4, minus the
normalised fourth moment ``N sum|I|^4 / (sum|I|^2)^2``, and the entropy of |I| over the pixels
at >= 10 % / 20 % of the maximum. Records where a measure ranks the estimate sharper than the
truth while the truth keeps more points show that minimising it cannot find the truth.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure_autofocus import autofocus_record  # noqa: E402

from sarsr import metrics, radar  # noqa: E402
from sarsr.config import parse_sets  # noqa: E402
from sarsr.data import load_scenario  # noqa: E402
from sarsr.radar.autofocus import remove_plane  # noqa: E402
from sarsr.radar.imaging.fourier import _lattice_axes  # noqa: E402


def _entropy(a) -> float:
    q = a / a.sum()
    return float(-(q * np.log(q + 1e-30)).sum())


def _thresholded(fraction):
    def measure(img):
        a = np.abs(img)
        return _entropy(np.where(a >= fraction * a.max(), a, 0.0))
    return measure


MEASURES = {
    "entropy_p1": lambda img: _entropy(np.abs(img)),
    "entropy_p2": metrics.image_entropy,  # the keep-if-sharper rule's measure
    "entropy_p4": lambda img: _entropy(np.abs(img) ** 4),
    "minus_fourth_moment": lambda img: float(-(np.abs(img) ** 4).sum() / (np.abs(img) ** 2).sum() ** 2 * img.size),
    "entropy_above_0.1": _thresholded(0.1),
    "entropy_above_0.2": _thresholded(0.2),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigma-mm", type=float, default=3.0)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7100)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="scenario override, e.g. scene.n_shapes=0 (TOML value)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    overrides = {"position_error.sigma_m": a.sigma_mm * 1e-3, **parse_sets(a.set)}
    sc = load_scenario("paper_freehand").with_overrides(overrides)
    rows = []
    for i in range(a.count):
        acq, label, _, r, _ = autofocus_record(sc, a.seed, i)
        scan, wave, grid, echo = acq["scan"], acq["wave"], acq["grid"], acq["echo"]
        err = scan.tx_est - scan.tx
        depth_only = lambda f: np.c_[np.zeros((len(f), 2)), f[:, 2]]  # noqa: E731
        fields = {"none": 0 * err, "estimate": r.error_estimate, "true": depth_only(err),
                  "true_without_plane": depth_only(remove_plane(err, scan.tx[:, :2]))}
        # the uniform lattice EMPM fits through the measured lateral positions vs the true one
        fit = [_lattice_axes((0.5 * (t + r_)).reshape(*scan.lattice_shape, 3))
               for t, r_ in ((scan.tx_est, scan.rx_est), (scan.tx, scan.rx))]
        row = dict(index=i, snr_db=float(acq.get("snr_db", np.nan)), applied=bool(r.applied),
                   lattice_stretch_pct=[(fit[0][ax][1] / fit[1][ax][1] - 1) * 100 for ax in (0, 1)],
                   lattice_offset_mm=[(fit[0][ax][0] - fit[1][ax][0]) * 1e3 for ax in (0, 1)])
        images = {name: radar.empm(echo, scan.tx_est - f, scan.rx_est - f, wave.k, grid, lattice_shape=scan.lattice_shape)
                  for name, f in fields.items()}
        # every position true, lateral included (what the measured lateral positions cost)
        images["true_positions"] = radar.empm(echo, scan.tx, scan.rx, wave.k, grid, lattice_shape=scan.lattice_shape)
        for name, img in images.items():
            pm = metrics.point_metrics(metrics.normalize(img), label)
            row[name] = dict(recall=metrics.summarize_points([pm])["point_recall"],
                             **{m: fn(img) for m, fn in MEASURES.items()})
        rows.append(row)
        print(json.dumps(row), flush=True)
    # a measure is fooled on a record when it ranks the estimate sharper than the true field
    # while the true field keeps more points
    fooled = {m: sum(r["estimate"][m] < r["true"][m] and r["true"]["recall"] > r["estimate"]["recall"]
                     for r in rows) for m in MEASURES}
    prefers_truth = {m: sum(r["true"][m] < r["estimate"][m] for r in rows) for m in MEASURES}
    summary = dict(sigma_mm=a.sigma_mm, seed=a.seed, count=a.count, overrides=a.set,
                   recall={k: float(np.mean([r[k]["recall"] for r in rows]))
                           for k in ("none", "estimate", "true", "true_without_plane", "true_positions")},
                   truth_sharper_than_estimate=prefers_truth, fooled=fooled)
    print(json.dumps(summary, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(dict(summary=summary, rows=rows), indent=1))


if __name__ == "__main__":
    main()
