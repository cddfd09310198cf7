r"""How wide to draw an uncertain point: the trade between point recall and PSNR gain that the
drawing of :func:`sarsr.sr.decode_uncertain`'s points makes, on the validation set (which
chooses) and the test sets (which report) (docs/sr_points.md, "How wide to draw an uncertain
point").

    .venv/bin/python scripts/measure/probe_uncertain_width.py ~/.cache/sarsr/runs/srvit_hsm_points_v7/best.pt \
        --validation sr_val_v2 --val-count 256 \
        --sets paper_freehand_test sr_oof_array_test sr_oof_shapes_test sr_oof_snr_test --count 64 \
        --out docs/sr_points_uncertain_width.json

``MODEL`` is a run's ``best.pt`` / ``last.pt`` (its EMA weights) or any spec
:func:`sarsr.sr.load_sr_model` takes. For each record (``~/.cache/sarsr/datasets/SET``), on the
grid :func:`sarsr.super_resolve` returns, against the label rendered there (true amplitudes;
:mod:`sarsr.metrics`), one network pass and then every drawing:

- ``network alone``; ``detected only`` (presence mass 0: the points above the detection
  threshold, drawn as label spots);
- at each presence mass (``--masses``), the uncertain points drawn at their centroid with
  spot width o (``o^2 = o_label^2 + b (s^2 - s0^2)``, the library's rule at b = 1: the head's
  probability spread s beyond an exactly placed point's s0, at most 5 mm): ``spread`` (b = 1),
  ``spread x0.5``, ``spread x0.25``, ``label width`` (b = 0), and ``label width, argmax``
  (placed at the box's most probable pixel instead of the centroid).

Each row: PSNR gain over the input, point recall, false points per image, amplitude ratio, the
RMSE per label region and the validation score (:func:`sarsr.train.sr_task.sr_score`). The
validation set's best-scoring drawing is printed; the test sets only report. One thread (a
training run may share the machine).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from measure_points_design import export_ema  # this script's folder is on sys.path
from probe_gain_bound import records, score, summary
from sarsr import metrics
from sarsr._files import atomic_write_text, home_relative
from sarsr.data.torch_dataset import render_label
from sarsr.sr import DEFAULT_POINT_THRESHOLD, compose, decode_points, load_sr_model, network_pass, resample_output
from sarsr.sr.points import PRESENCE_RADIUS, SPOT_WIDTH_PX, decode_uncertain
from sarsr.train.evaluate import json_safe
from sarsr.train.sr_task import sr_score

#: spread fraction b of each width rule (None: placed at the box's most probable pixel, label width)
WIDTHS = {"spread": 1.0, "spread x0.5": 0.5, "spread x0.25": 0.25, "label width": 0.0, "label width, argmax": None}


def redrawn(u: np.ndarray, prob: np.ndarray, rule: str) -> np.ndarray:
    """Uncertain points ``u`` ((n, 5) of :func:`decode_uncertain`) under a width ``rule``."""
    u = np.array(u, np.float32, copy=True)
    if not len(u):
        return u
    b = WIDTHS[rule]
    if b is None:
        H, W = prob.shape
        for n, (ci, cj) in enumerate(u[:, :2]):
            i, j = int(round(float(ci))), int(round(float(cj)))
            i0, j0 = max(0, i - PRESENCE_RADIUS), max(0, j - PRESENCE_RADIUS)
            win = prob[i0:min(H, i + PRESENCE_RADIUS + 1), j0:min(W, j + PRESENCE_RADIUS + 1)]
            a, c = np.unravel_index(int(np.argmax(win)), win.shape)
            u[n, :2] = (i0 + a, j0 + c)
        b = 0.0
    u[:, 4] = np.sqrt(SPOT_WIDTH_PX ** 2 + b * (u[:, 4] ** 2 - SPOT_WIDTH_PX ** 2))
    return u


def probe_set(net, root: Path, count: int, masses) -> list[dict]:
    rows: dict = {}
    for x, scene, n, extent in records(root, count):
        lab = render_label(scene, n, extent)
        yw_t, head = network_pass(x[None], net)
        yw = yw_t.clamp(0, 1)[0, 0].numpy()
        alone = resample_output(torch.from_numpy(yw)[None, None], lab.shape)[0, 0].numpy()
        found = decode_points(head, DEFAULT_POINT_THRESHOLD)[0]
        prob = torch.sigmoid(head[0, 0]).numpy()
        score(rows, "input", metrics.normalize(x), lab)
        score(rows, "network alone", alone, lab)
        score(rows, "detected only", compose(alone, found, yw.shape), lab)
        for m in masses:
            u = decode_uncertain(head, [found], m)[0]
            for rule in WIDTHS:
                score(rows, f"mass {m:g}, {rule}", compose(alone, found, yw.shape, uncertain=redrawn(u, prob, rule)), lab)
    res = summary(rows, float(np.mean(rows["input"]["psnr"])))
    for r in res:
        r["score"] = sr_score(r["psnr_db"], r["point_recall"], r["false_points"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--validation", default="sr_val_v2")
    ap.add_argument("--val-count", type=int, default=256)
    ap.add_argument("--sets", nargs="+", default=["paper_freehand_test"])
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--masses", default="8,14", help="presence masses, comma-separated")
    ap.add_argument("--datasets", default=str(Path.home() / ".cache/sarsr/datasets"))
    ap.add_argument("--out", help="JSON to write")
    a = ap.parse_args()
    torch.set_num_threads(1)
    masses = [float(v) for v in a.masses.split(",") if v.strip()]
    path, step, _ = export_ema(a.model)
    net = load_sr_model(path)
    res = dict(model=a.model, step=step, count=a.count, val_count=a.val_count, masses=masses, sets={})
    for name, count in [(a.validation, a.val_count)] + [(s, a.count) for s in a.sets]:
        rows = probe_set(net, Path(a.datasets) / name, count, masses)
        res["sets"][name] = rows
        print(f"{name} ({count} records):", flush=True)
        for row in rows:
            print(f"  {row['method']:32s} gain {row['gain_db']:+.2f}  recall {row['point_recall']:.3f}  "
                  f"false {row['false_points']:5.2f}  ratio {row['point_amplitude_ratio']:.2f}  "
                  f"points rmse {row['rmse_points']:.3f}  score {row['score']:.2f}", flush=True)
        if name == a.validation:
            best = max((r for r in rows if r["method"] != "input"), key=lambda r: r["score"])
            res["validation_choice"] = best["method"]
            print(f"  validation chooses: {best['method']} (score {best['score']:.2f})", flush=True)
    if a.out:
        atomic_write_text(Path(a.out), home_relative(json.dumps(json_safe(res), indent=1)))


if __name__ == "__main__":
    main()
