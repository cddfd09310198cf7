"""Seconds per explorer redraw (``sarsr.explore.simulate_view``), autofocus on and off
(docs/autofocus.md, "The explorer's quicker setting"; the issue's target: under 3 s a scan).

    .venv/bin/python scripts/measure/measure_explorer_time.py [--sigmas 1,2,3,4] [--seeds 21,22,23]

One warm-up view first (numba, torch and the network load once per session), then one new
scan per (sigma, seed): simulation, EMPM, autofocus with ``EXPLORER_AUTOFOCUS`` when on, the
shipped network's default call and the scores, as the notebook's callback runs them. Wall-clock
of the call; run on an idle machine and name it with the numbers.
"""

import argparse
import json
import time
import warnings

from sarsr.explore import EXPLORER_AUTOFOCUS, simulate_view


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigmas", default="1,2,3,4", help="position-error sigmas, mm")
    ap.add_argument("--seeds", default="21,22,23")
    a = ap.parse_args()
    sigmas = [float(s) for s in a.sigmas.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    warnings.simplefilter("ignore")
    simulate_view(sigma_mm=1.0, seed=0, autofocus=True)  # warm-up
    out = {"autofocus_options": EXPLORER_AUTOFOCUS}
    for af in (True, False):
        secs = []
        for sig in sigmas:
            for seed in seeds:
                seed = seed + (0 if af else 1000)  # new scans: the record cache must not answer
                t = time.perf_counter()
                simulate_view(sigma_mm=sig, seed=seed, autofocus=af, n_points=16, snr_db=20.0)
                secs.append(round(time.perf_counter() - t, 3))
        out["autofocus_on" if af else "autofocus_off"] = dict(seconds=secs, max=max(secs), mean=sum(secs) / len(secs))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
