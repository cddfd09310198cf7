r"""Where a point head stands: its probability on the points the image head renders and on the
ones it misses, the off-label maxima it would add, and how hard each loss term pulls on the
shared body (docs/sr_points.md, "Third design").

    .venv/bin/python scripts/measure/probe_point_head.py ~/.cache/sarsr/runs/srvit_hsm_points_v2/last.pt \
        --data ~/.cache/sarsr/datasets/sr_val_v2 --count 64 --out docs/sr_points_probe_v2.json

``MODEL`` is a run's ``last.pt`` (its EMA weights are probed, as validation does) or any model
spec :func:`sarsr.models.resolve` accepts. For each label point of the first ``--count`` records
(``sarsr.metrics.point_targets`` on the label rendered on the 256 working grid): whether the
image head renders it (peak >= 0.5 x its true amplitude, the recall rule) and the head's highest
probability within 2 pixels of it; per threshold, the share of rendered / missed points above it
and the off-label local maxima (5 x 5) above it per image (what the head would add as false
points), with the missed points split by the input's peak near them (the input is normalised
to its maximum). ``--detector SPEC`` compares a separate point detector with the head at matched false rates
(the threshold leaving 0.25-4 off-label maxima per image). ``--gradients N`` also runs N training batches (crops of 192², batch 4, the
run's point-loss weights) and reports each term's loss and the norm of its gradient on the
body's parameters. One thread (a training run may share the machine).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from measure_points_design import export_ema  # the sibling script (scripts/measure is on sys.path)
from sarsr import metrics
from sarsr._files import home_relative
from sarsr.data.torch_dataset import SARDataset
from sarsr.models.runs import resolve
from sarsr.train.losses import LOSSES, POINT_LOSS_WEIGHTS, point_head_loss, point_head_targets

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5)
INPUT_BINS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 1.01))


def load(spec: str):
    """The network of ``spec`` (a run checkpoint's EMA weights when it has them:
    :func:`measure_points_design.export_ema`). Returns (net, point-loss weights of its run or
    the defaults, step or None)."""
    path, step, cfg = export_ema(spec)
    weights = {**POINT_LOSS_WEIGHTS, **((cfg or {}).get("train", {}).get("point_loss") or {})}
    return resolve(path), weights, step


def probe_maps(net, root: str, count: int, detector=None) -> dict:
    ds = SARDataset(root, "input" if "input" in _stored(root) else "empm", 256, indices=range(count))
    rendered, missed, missed_input, off_label = [], [], [], []
    det = dict(rendered=[], missed=[], off_label=[])
    for i in range(count):
        x, lab = ds[i]
        with torch.no_grad():
            out = net(x[None]).float()
            det_prob = torch.sigmoid(detector(x[None]).float())[0, 0].numpy() if detector is not None else None
        img, prob, lab = out[0, 0].clamp(0, 1).numpy(), torch.sigmoid(out[0, 1]).numpy(), lab[0].numpy()
        comp, pts = metrics.point_targets(lab)
        grown = ndimage.grey_dilation(np.where(np.isin(comp, pts), comp, 0), size=5) if pts else np.zeros_like(comp)
        for c in pts:
            m = comp == c
            near = grown == c
            kept = img[m].max() >= metrics.POINT_RECALL_FRACTION * lab[m].max()
            if kept:
                rendered.append(prob[near].max())
            else:
                missed.append(prob[near].max())
                missed_input.append(float(x[0].numpy()[near].max()))
            if det_prob is not None:
                det["rendered" if kept else "missed"].append(det_prob[near].max())
        away = ~(ndimage.grey_dilation((comp > 0).astype(np.uint8), size=5) > 0)
        maxima = (prob >= ndimage.maximum_filter(prob, 5)) & away
        off_label.append(prob[maxima])
        if det_prob is not None:
            det["off_label"].append(det_prob[(det_prob >= ndimage.maximum_filter(det_prob, 5)) & away])
    rendered, missed, missed_input = map(np.asarray, (rendered, missed, missed_input))
    rows = [dict(threshold=t, rendered_above=float(np.mean(rendered > t)), missed_above=float(np.mean(missed > t)),
                 off_label_maxima_per_image=float(np.mean([np.sum(o > t) for o in off_label]))) for t in THRESHOLDS]
    by_input = [dict(input_peak=[lo, min(hi, 1.0)], points=int(np.sum((missed_input >= lo) & (missed_input < hi))),
                     **{f"above_{t}": float(np.mean(missed[(missed_input >= lo) & (missed_input < hi)] > t))
                        for t in (0.1, 0.2)}) for lo, hi in INPUT_BINS]
    res = dict(records=count, points_rendered=int(len(rendered)), points_missed=int(len(missed)),
                missed_probability_quantiles={str(q): float(np.quantile(missed, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)}
                if len(missed) else {}, thresholds=rows, missed_by_input_peak=by_input,
               matched_false_rate=matched(rendered, missed, off_label, count))
    if detector is not None:
        res["detector_matched_false_rate"] = matched(*(np.asarray(det[k]) if k != "off_label" else det[k]
                                                        for k in ("rendered", "missed", "off_label")), count)
    return res


def matched(rendered, missed, off_label, count, rates=(0.25, 0.5, 1.0, 2.0, 4.0)) -> list[dict]:
    """Share of rendered / missed points a map finds at the threshold that leaves ``rate``
    off-label maxima per image: two maps compared at the same false rate, whatever their
    calibration."""
    ranked = np.sort(np.concatenate(off_label))[::-1]
    out = []
    for rate in rates:
        t = float(ranked[int(rate * count)]) if len(ranked) > rate * count else 0.0
        out.append(dict(off_label_per_image=rate, threshold=t, rendered_found=float(np.mean(rendered > t)),
                        missed_found=float(np.mean(missed > t))))
    return out


def _stored(root: str) -> set:
    store = json.loads((Path(root) / "manifest.json").read_text())["scenario_config"].get("store", {})
    return {k for k, v in store.items() if v}


def probe_gradients(net, root: str, weights: dict, batches: int) -> dict:
    net.train()
    ds = SARDataset(root, "input" if "input" in _stored(root) else "empm", 256, train=True, crop=192,
                    indices=range(200, 200 + 4 * batches))
    body = [p for n, p in net.named_parameters() if n.startswith("body.")]
    image_loss = LOSSES["l1_peak_clean"]
    sums: dict = {}
    for b in range(batches):
        xs, ys = zip(*[ds[i] for i in range(4 * b, 4 * b + 4)])
        x, y = torch.stack(xs), torch.stack(ys)
        out = net(x)
        t = point_head_targets(y, weights["heat_sigma"], int(weights["reach"]))
        terms = {"image": image_loss(out[:, :1], y)}
        for key in ("heat", "offset", "amplitude"):
            w = {k: (weights[k] if k == key else 0.0) for k in ("heat", "offset", "amplitude")}
            terms[key] = point_head_loss(out[:, 1:5], y, **w, targets=t)
        for key, v in terms.items():
            g = torch.autograd.grad(v, body, retain_graph=True, allow_unused=True)
            norm = float(torch.sqrt(sum((gi ** 2).sum() for gi in g if gi is not None)))
            s = sums.setdefault(key, [0.0, 0.0])
            s[0] += float(v.detach()) / batches
            s[1] += norm / batches
    net.eval()
    return {k: dict(loss=v[0], body_gradient_norm=v[1]) for k, v in sums.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", default=str(Path.home() / ".cache/sarsr/datasets/sr_val_v2"))
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--gradients", type=int, default=0, help="training batches for the gradient balance (0: none)")
    ap.add_argument("--train-data", default=str(Path.home() / ".cache/sarsr/datasets/sr_train_v2"))
    ap.add_argument("--detector", help="a separate point detector (e.g. point_detector) compared at matched false rates")
    ap.add_argument("--out", help="JSON to write")
    a = ap.parse_args()
    torch.set_num_threads(1)
    net, weights, step = load(a.model)
    res = dict(model=home_relative(a.model), step=step, data=home_relative(a.data), point_loss=weights, maps=probe_maps(net, a.data, a.count, resolve(a.detector) if a.detector else None))
    if a.gradients:
        res["gradients"] = probe_gradients(net, a.train_data, weights, a.gradients)
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
