r"""One point-head design's whole point, from one checkpoint: the detection threshold chosen on
validation, then that threshold's default call on every test set and over position error
(docs/sr_points.md; rows appended to docs/sr_points_designs.json).

    .venv/bin/python scripts/measure/measure_points_design.py ~/.cache/sarsr/runs/srvit_hsm_points_v3/last.pt \
        --label v3 [--limit 128] [--robustness-count 32] [--out docs/sr_points_designs.json]

``MODEL`` is a run's ``last.pt`` (its EMA weights, as the trainer validates them, with the step
recorded) or any model spec. Steps:

1. validation: the first ``--limit`` records of ``sr_val_v2`` (a seed no training record
   uses), the grid ``super_resolve`` returns, default call, at each ``--thresholds`` value and
   each ``--presence-masses`` value (the uncertain points, :func:`sarsr.sr.decode_uncertain`; 0:
   none); the pair with the highest :func:`sarsr.train.sr_task.sr_score` is chosen (no test set
   chooses anything);
2. at that pair: ``paper_freehand_test`` and the out-of-family sets ``sr_oof_array_test``,
   ``sr_oof_shapes_test``, ``sr_oof_snr_test`` (first ``--limit`` records each): PSNR, gain
   over the input, point recall, false points per image, amplitude ratio of the kept points;
3. do no harm: point recall of the default call against the input's over sigma = 0-4 mm (the
   cached robustness sets, ``--robustness-count`` records per sigma); ``--harm-masses`` adds the
   same curve at other presence masses (the frontier's points, not chosen by anything), e.g.
   ``--harm-masses 8,14``.

Datasets are read from ``~/.cache/sarsr/datasets`` (the commands that make them: ``data/*.card.md``).
One thread by default (a training run may share the machine; ``--threads`` when it is paused).
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch

from sarsr._files import home_relative
from sarsr.checkpoint import load_checkpoint
from sarsr.radar.imaging.imagers import DEFAULT_INPUT
from sarsr.train.evaluate import BASELINES, evaluate, input_psnr, json_safe, robustness
from sarsr.train.sr_task import sr_score

DATA = Path.home() / ".cache/sarsr/datasets"
TESTS = ("paper_freehand_test", "sr_oof_array_test", "sr_oof_shapes_test", "sr_oof_snr_test")


def export_ema(spec: str) -> tuple[str, int | None, dict | None]:
    """A run checkpoint's EMA weights (what the trainer validates) as a loadable file beside a
    copy of the run's config.toml. Returns ``(spec to load, step, the run's effective config)``;
    any other spec comes back as it is, with ``None, None``. Loaded with ``weights_only=True``."""
    p = Path(spec).expanduser()
    if p.suffix != ".pt" or not (p.parent / "config.toml").is_file():
        return spec, None, None
    ck = load_checkpoint(p)
    if not (isinstance(ck, dict) and "ema" in ck):
        return spec, None, None
    tmp = Path(tempfile.mkdtemp(prefix="points_ema_"))
    torch.save(ck["ema"]["module"], tmp / "best.pt")
    (tmp / "config.toml").write_text((p.parent / "config.toml").read_text())
    return str(tmp / "best.pt"), int(ck["step"]), ck.get("config")


def row_of(rows, label):
    r = next(r for r in rows if r["method"] == label)
    gain = r["psnr_db"] - input_psnr(rows) if input_psnr(rows) is not None else None
    return dict(psnr_db=r["psnr_db"], gain_db=gain, point_recall=r["point_recall"], false_points=r["false_points"],
                amplitude_ratio=r.get("kept_amplitude_ratio"), score=sr_score(r["psnr_db"], r["point_recall"], r["false_points"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--label", required=True)
    ap.add_argument("--limit", type=int, default=128)
    ap.add_argument("--thresholds", default="0.1,0.2,0.3,0.5")
    ap.add_argument("--presence-masses", default="0",
                    help="comma list of presence_mass values tried on validation (0: no uncertain points)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--robustness-count", type=int, default=32)
    ap.add_argument("--harm-masses", default="",
                    help="comma list of further presence masses at which to measure do no harm (at the chosen threshold)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "docs" / "sr_points_designs.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    spec, step, _ = export_ema(a.model)
    models = {a.label: spec}
    val = {}
    for m in (float(x) for x in a.presence_masses.split(",")):
        for t in (float(x) for x in a.thresholds.split(",")):
            rows = evaluate(DATA / "sr_val_v2", models, limit=a.limit, grids=("user",), baselines=False, timing=False,
                            progress=False, point_threshold=t, presence_mass=m)
            val[(t, m)] = row_of(rows, a.label)
            print(f"validation p > {t}, presence mass {m:g}: {val[(t, m)]}", flush=True)
    best, mass = max(val, key=lambda k: val[k]["score"])
    tests = {}
    for name in TESTS:
        rows = evaluate(DATA / name, models, limit=a.limit, grids=("user",), timing=False, progress=False,
                        point_threshold=best, presence_mass=mass)
        tests[name] = row_of(rows, a.label)
        print(f"{name} at p > {best}, presence mass {mass:g}: {tests[name]}", flush=True)
    def do_no_harm(m):
        curve = robustness(models, sigmas_mm=(0, 1, 2, 3, 4), count=a.robustness_count, workers=1, progress=False,
                           point_threshold=best, presence_mass=m)
        return {"sigma_mm": curve["sigma_mm"], "input_recall": curve["point_recall"].get(BASELINES[DEFAULT_INPUT]),
                "recall": curve["point_recall"][a.label], "false_points": curve["false_points"][a.label]}

    harm = do_no_harm(mass)
    print(f"do no harm: {harm}", flush=True)
    harm_at = {}
    for m in (float(x) for x in a.harm_masses.split(",") if x.strip()):
        harm_at[f"{m:g}"] = do_no_harm(m)
        print(f"do no harm at presence mass {m:g}: {harm_at[f'{m:g}']}", flush=True)
    single = len(a.presence_masses.split(",")) == 1 and mass == 0  # the table's first form: keyed by threshold
    val = {(k[0] if single else f"p>{k[0]:g},mass={k[1]:g}"): v for k, v in val.items()}
    entry = dict(label=a.label, model=home_relative(a.model), step=step, limit=a.limit, validation=val, threshold=best,
                 presence_mass=mass, tests=tests, do_no_harm=harm, **({"do_no_harm_at_mass": harm_at} if harm_at else {}))
    out = Path(a.out)
    table = json.loads(out.read_text()) if out.exists() else []
    table = [e for e in table if not (e["label"] == a.label and e.get("step") == step
                                      and e.get("presence_mass", 0) == mass)] + [json_safe(entry)]
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
