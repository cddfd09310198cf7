"""Super-resolution on autofocused inputs, by points mode (docs/autofocus.md, "Screening after autofocus").

    .venv/bin/python scripts/measure/measure_sr_on_autofocused.py --sigmas 2,3 --count 8 --seed 7100

For each sigma (mm) and record (paper_freehand with ``position_error.sigma_m`` set; seed 7100 =
validation scans, never the test set's seed 1000): the EMPM image after
:func:`sarsr.radar.autofocus` (default settings) and the shipped network on it as
``super_resolve`` returns it with ``keep_input_points`` "auto" (default), True (screening: every
erased input peak put back) and False (the network alone); pooled point recall against true
amplitudes and false points per image on the stored 200 x 200 grid; and the recall up to a
rigid shift (every image of a record moved by the whole-pixel shift that lines the autofocused
EMPM image up with the label, ``sarsr.metrics.register_shift``: the plane of the position error
moves the image without blurring it, docs/autofocus.md).
"""

import argparse
import json

from measure_autofocus import autofocus_record  # this script's folder is on sys.path

from sarsr import metrics
from sarsr.data import load_scenario
from sarsr.sr import apply_points_mode, super_resolve

MODES = {"SR default (auto)": "auto", "SR screening (True)": True, "SR alone (False)": False}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigmas", default="2,3", help="position-error sigmas, mm")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7100)
    a = ap.parse_args()
    for sig in (float(s) for s in a.sigmas.split(",")):
        sc = load_scenario("paper_freehand").with_overrides({"position_error.sigma_m": sig * 1e-3})
        pm = {k: [] for k in ("autofocused EMPM", *MODES)}
        reg = {k: [] for k in pm}
        for i in range(a.count):
            _, label, _, r, _ = autofocus_record(sc, a.seed, i)
            # one network pass; each mode is what super_resolve(r.image, keep_input_points=mode) returns
            alone = super_resolve(r.image, keep_input_points=False)
            outs = {"autofocused EMPM": r.image,
                    **{k: apply_points_mode(alone[None], r.image[None], m)[0][0] for k, m in MODES.items()}}
            shift = metrics.register_shift(metrics.normalize(r.image), label)[1]
            for k, img in outs.items():
                pm[k].append(metrics.point_metrics(metrics.normalize(img), label))
                reg[k].append(metrics.point_metrics(metrics.shift_image(metrics.normalize(img), *shift), label))
        row = {k: {**{m: round(metrics.summarize_points(v)[m], 3) for m in ("point_recall", "false_points")},
                   "point_recall_registered": round(metrics.summarize_points(reg[k])["point_recall"], 3)}
               for k, v in pm.items()}
        print(json.dumps(dict(sigma_mm=sig, seed=a.seed, count=a.count, **row)), flush=True)


if __name__ == "__main__":
    main()
