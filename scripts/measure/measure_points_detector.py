"""Choose how super_resolve's "auto" mode uses the point detector, on validation scans.

    .venv/bin/python scripts/measure/measure_points_detector.py [--detector RUN/best.pt] [--count 32] [--seeds 7100,7200]
        [--out /tmp/det.json]

The same validation scans as scripts/measure/measure_points_gate.py (``paper_freehand`` with
``position_error.sigma_m`` 0-4 mm, seed 7100, 32 per sigma; never a test set), super-resolved
by the shipped network alone and scored on the stored 200 x 200 grid (what super_resolve
returns by default) against true amplitudes. Per image: the kept fraction of the input's bright
peaks (sarsr.sr.kept_peak_fraction); the output with every erased peak put back (from
AUTO_PUT_BACK_THRESHOLD); and with only the erased peaks the detector calls points (probability
> p within 2 px, peaks from threshold t, put back over +-w px around the peak), for p in
PROBABILITIES, t in THRESHOLDS and w in PATCHES. A rule is (all_below, p, t, w): every erased
peak goes back where the kept fraction is below all_below, the detector's ones elsewhere.

Selection: among the rules whose recall stays within 0.05 of the input's at 1 mm and within
MARGIN_2_4 = 0.03 at 2-4 mm (do no harm with a margin for the sampling error of 32 scans) and
whose PSNR at 0 and 1 mm is at most 0.5 dB below the previous rule's, the one with the highest
10 x recall - false points per image, averaged over 0 and 1 mm (the paper's protocol is 1 mm).
Shipped (sarsr.sr): the best by the same objective among the rules that put back at least what
the previous rule did (all_below = AUTO_KEEP_BELOW), because the rule chosen above did not hold
do no harm at 2 mm on other scans (below)
(the patch sizes and the PSNR condition were added after a first run, which had only w = 4 and
chose a rule 1.3 dB below the previous one at 0 mm: a put-back input blob is wider than the
label's point; the margin and all_below 0.55 / 0.6 after a second, whose rule sat at the
constraint on validation, -0.036 at 2 mm, and fell to -0.075 on the robustness scans of
`sarsr evaluate --robustness`, seed 2000; the margin's choice, all_below 0.55, fell to -0.067
there too: 32 scans per sigma cannot place the gate that finely, hence the shipped rule);
the previous rule (gate at AUTO_KEEP_BELOW, no detector) is printed beside it.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from measure_points_gate import scans, scored, validation_sets  # this script's folder is on sys.path

from sarsr.sr import (AUTO_KEEP_BELOW, AUTO_PUT_BACK_THRESHOLD, keep_input_points, kept_peak_fraction,
                      load_sr_model, point_probability, super_resolve)

PROBABILITIES = (0.3, 0.5, 0.7)
THRESHOLDS = (0.1, 0.2)
PATCHES = (1, 2, 4)
ALL_BELOW = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, AUTO_KEEP_BELOW)
#: do no harm with a margin: recall at most this far below the input's at 2-4 mm on these 32-scan
#: sets (the issue's 0.05 less ~one standard error), at most 0.05 at 1 mm
MARGIN_2_4 = 0.03


def image_rows(root: Path, sigma_mm: int, net, detector) -> list[dict]:
    rows = []
    for image, shown, label in scans(root):
        alone = super_resolve(image, net, keep_input_points=False)
        near = ndimage.maximum_filter(point_probability(shown, detector), 5)
        outputs = [("input", shown), ("alone", alone),
                   ("all", keep_input_points(alone, shown, threshold=AUTO_PUT_BACK_THRESHOLD))]
        outputs += [(f"det@{p}/{t}/{w}", keep_input_points(alone, shown, threshold=t, where=near > p, patch=w))
                    for p in PROBABILITIES for t in THRESHOLDS for w in PATCHES]
        rows.append(scored(dict(sigma_mm=sigma_mm, kept=kept_peak_fraction(alone, image)), outputs, label))
    return rows


def apply_rule(rows, all_below, other):
    """Per sigma: recall, its difference from the input's, false points, PSNR, images given every peak."""
    out = {}
    for sig in sorted({r["sigma_mm"] for r in rows}):
        rs = [r for r in rows if r["sigma_mm"] == sig]
        pick = ["all" if r["kept"] < all_below else other for r in rs]
        n = sum(r["input"]["n"] for r in rs)
        rec = sum(r[p]["recovered"] for r, p in zip(rs, pick)) / n
        ratios = [x for r, p in zip(rs, pick) for x in r[p]["ratios"]]
        out[sig] = dict(recall=rec, harm=rec - sum(r["input"]["recovered"] for r in rs) / n,
                        false=float(np.mean([r[p]["false"] for r, p in zip(rs, pick)])),
                        psnr=float(np.mean([r[p]["psnr"] for r, p in zip(rs, pick)])),
                        ratio=float(np.median(ratios)) if ratios else float("nan"),
                        all_back=sum(p == "all" for p in pick), images=len(rs))
    return out


def objective(res) -> float:
    return float(np.mean([10 * res[s]["recall"] - res[s]["false"] for s in (0, 1)]))


def line(name, res) -> str:
    return f"{name}: " + " | ".join(f"{s} mm {v['recall']:.3f} ({v['harm']:+.3f}) false {v['false']:.1f} "
                                    f"PSNR {v['psnr']:.2f} ratio {v['ratio']:.2f} all {v['all_back']}/{v['images']}"
                                    for s, v in res.items()) + f"  objective {objective(res):.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default=None, help="detector weights (default: the shipped ones)")
    ap.add_argument("--count", type=int, default=32, help="scans per sigma (default 32)")
    ap.add_argument("--seeds", default="7100", help="comma-separated validation seeds (default 7100; "
                    "each adds --count scans per sigma)")
    ap.add_argument("--cache", default="~/.cache/sarsr/datasets/gateval")
    ap.add_argument("--out", default=None, help="JSON of the summary per rule")
    a = ap.parse_args()
    net = load_sr_model(None)
    rows = []
    for seed in (int(x) for x in a.seeds.split(",")):
        for sig, root in validation_sets(a.count, seed, a.cache):  # the gate's own validation scans
            rows += image_rows(root, sig, net, a.detector)
            print(f"seed {seed}, sigma {sig} mm: {sum(r['sigma_mm'] == sig for r in rows)} scans", flush=True)
    prev = apply_rule(rows, AUTO_KEEP_BELOW, "alone")
    summary = {"previous (gate, no detector)": prev}
    print(line("previous rule (gate at AUTO_KEEP_BELOW, no detector)", summary["previous (gate, no detector)"]))
    best = None
    for low in ALL_BELOW:
        for p, t, w in ((p, t, w) for p in PROBABILITIES for t in THRESHOLDS for w in PATCHES):
            key = f"all below {low}, detector p > {p}, peaks from {t}, patch {w} px"
            res = apply_rule(rows, low, f"det@{p}/{t}/{w}")
            summary[key] = res
            ok = res[1]["harm"] >= -0.05 and all(v["harm"] >= -MARGIN_2_4 for s, v in res.items() if s >= 2)
            dim = any(res[s]["psnr"] < prev[s]["psnr"] - 0.5 for s in (0, 1))
            print(line(key + ("" if ok else " [harms]") + (" [PSNR]" if dim else ""), res))
            if ok and not dim and (best is None or objective(res) > objective(summary[best])):
                best = key
    print(f"chosen: {best}")
    # the shipped rule: never fewer put-backs than the previous rule (every erased peak back on
    # the images it gated, the detector's points on the others), so that do no harm holds by
    # construction wherever the previous rule met it; among those, the same objective
    sup = max((k for k in summary if k.startswith(f"all below {AUTO_KEEP_BELOW},")), key=lambda k: objective(summary[k]))
    print(f"chosen among the rules that put back at least what the previous rule did: {sup}")
    if a.out:
        Path(a.out).write_text(json.dumps(dict(chosen=best, chosen_superset=sup, rules=summary), indent=1))


if __name__ == "__main__":
    main()
