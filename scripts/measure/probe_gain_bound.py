r"""What one image allows: how much PSNR gain a point-head default can reach at a given point
recall when the position error moves the whole image by an amount no image shows
(docs/sr_points.md, "What one image allows").

    .venv/bin/python scripts/measure/probe_gain_bound.py ~/.cache/sarsr/runs/srvit_hsm_points_v4/last.pt \
        --sets paper_freehand_test sr_oof_array_test sr_oof_shapes_test sr_oof_snr_test --count 64 \
        --out docs/sr_points_gain_bound.json

``MODEL`` is a run's ``last.pt`` (its EMA weights) or any spec :func:`sarsr.sr.load_sr_model`
takes. For the first ``--count`` records of each test set (``~/.cache/sarsr/datasets/SET``), on
the grid :func:`sarsr.super_resolve` returns, each image scored against the label rendered there
(true amplitudes; :mod:`sarsr.metrics`), rows of PSNR, point recall, false points per image,
amplitude ratio and the RMSE per label region:

- ``input``, ``network alone``, ``default`` (detected and uncertain points drawn, the library's
  default presence mass) and ``default, mass 8``: as a user gets them;
- ``... registered``: the same images moved by the rigid shift (sub-pixel, cubic spline) that
  best lines the network alone up with its label (one search per record, +-3.4 px; not
  :func:`sarsr.metrics.register_shift`, whose whole-pixel shift would leave up to half a pixel
  of misregistration in the PSNR it is to remove): what the
  *rigid* part of the position error costs. A rigid error of the scan moves the whole image
  and nothing in the image tells by how much (no absolute reference), so no image-domain
  method gets this back; the shifts' spread is reported (``rigid_shift``);
- ``oracle ...``: the network alone with every label point drawn at its true amplitude (read
  off the label rendered on the 256 working grid, :func:`sarsr.train.losses.point_head_targets`)
  at its true place moved by one random shift per image drawn with the measured rigid spread
  (a point head that knew every point and everything but the rigid shift). ``exact``: no
  shift; ``full``: the label spot at full height; ``mean``: the spot blurred by the shift's
  spread (``o^2 = o_label^2 + 2 sigma^2``) and lowered to keep its energy (the squared-error
  optimum); ``mean >= f``: the same, its height at least ``f`` of the amplitude. Spots are
  laid over the image by pixel-wise maximum (:func:`sarsr.sr.compose`'s ``uncertain``).

One thread (a training run may share the machine).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from measure_points_design import export_ema  # this script's folder is on sys.path
from sarsr import metrics
from sarsr._files import atomic_write_text, home_relative
from sarsr.data import dataset_scenario, iter_records
from sarsr.data.torch_dataset import render_label
from sarsr.sr import DEFAULT_POINT_THRESHOLD, compose, decode_points, load_sr_model, network_pass, resample_output
from sarsr.sr.points import DEFAULT_PRESENCE_MASS, SPOT_WIDTH_PX, decode_uncertain
from sarsr.train.evaluate import json_safe
from sarsr.train.losses import point_head_targets

FLOORS = (0.7, 0.85)
SEARCH = np.arange(-3.0, 3.01, 0.5)
REFINE = np.arange(-0.4, 0.41, 0.1)


def records(root: Path, count: int):
    """(network input, scene_json, grid n, extent m) of the first ``count`` records."""
    sc = dataset_scenario(root)
    key = "empm" if sc["store"].get("empm") else "input"
    for r in iter_records(root, [key, "scene_json"], count):
        yield r[key], r["scene_json"], sc["grid"]["n"], sc["grid"]["extent_m"]


def true_points(scene, n, extent) -> np.ndarray:
    """(k, 3) row, column (working grid) and amplitude of every label point."""
    lab = torch.from_numpy(render_label(scene, n, extent, 256))[None, None]
    t = point_head_targets(lab, 1.0, 0)
    _, _, r, c = torch.nonzero(t["peaks"], as_tuple=True)
    return torch.stack([r + t["offset"][0, 0, r, c], c + t["offset"][0, 1, r, c], t["amplitude"][0, 0, r, c]], 1).numpy()


def best_shift(pred, lab) -> tuple[float, float]:
    """The rigid shift (rows, columns; pixels) of ``pred`` that minimises its squared error to ``lab``."""
    def err(s):
        return np.mean((np.clip(ndimage.shift(pred, s, order=3, mode="nearest"), 0, 1) - lab) ** 2)
    a, b = min(((a, b) for a in SEARCH for b in SEARCH), key=err)
    return min(((a + c, b + d) for c in REFINE for d in REFINE), key=err)


def oracle_spots(pts, mode: str, sigma: float, shift) -> np.ndarray:
    """``pts`` (k, 3) as uncertain points (k, 5) for :func:`compose`, moved by ``shift``."""
    o = float(np.sqrt(SPOT_WIDTH_PX ** 2 + 2 * sigma ** 2)) if mode.startswith("mean") else SPOT_WIDTH_PX
    height = 1.0 if not mode.startswith("mean") else SPOT_WIDTH_PX ** 2 / o ** 2
    if mode.startswith("mean >="):
        height = max(height, float(mode.split(">=")[1]))
    u = np.zeros((len(pts), 5), np.float32)
    u[:, :2] = pts[:, :2] + np.asarray(shift)[None]
    u[:, 2], u[:, 3], u[:, 4] = pts[:, 2] * height, 1.0, o
    return u


def score(rows: dict, name: str, pred, lab) -> None:
    r = rows.setdefault(name, dict(psnr=[], points=[], regions=[]))
    r["psnr"].append(metrics.psnr(pred, lab))
    r["points"].append(metrics.point_metrics(pred, lab))
    r["regions"].append(metrics.region_errors(pred, lab))


def summary(rows: dict, input_psnr: float) -> list[dict]:
    out = []
    for name, r in rows.items():
        p = metrics.summarize_points(r["points"])
        g = metrics.summarize_regions(r["regions"])
        out.append(dict(method=name, psnr_db=float(np.mean(r["psnr"])), gain_db=float(np.mean(r["psnr"])) - input_psnr,
                        point_recall=p["point_recall"], false_points=p["false_points"],
                        point_amplitude_ratio=p["point_amplitude_ratio"],
                        **{k: v for k, v in g.items() if k.startswith("rmse_") or k.startswith("error_share_")}))
    return out


def probe_set(net, root: Path, count: int, seed: int) -> dict:
    rows: dict = {}
    shifts, cases = [], []
    for x, scene, n, extent in records(root, count):
        lab = render_label(scene, n, extent)
        inp = metrics.normalize(x)
        yw_t, head = network_pass(x[None], net)
        yw = yw_t.clamp(0, 1)[0, 0].numpy()
        alone = resample_output(torch.from_numpy(yw)[None, None], lab.shape)[0, 0].numpy()
        found = decode_points(head, DEFAULT_POINT_THRESHOLD)[0]
        drawn = {"default": compose(alone, found, yw.shape, uncertain=decode_uncertain(head, [found], DEFAULT_PRESENCE_MASS)[0]),
                 "default, mass 8": compose(alone, found, yw.shape, uncertain=decode_uncertain(head, [found], 8.0)[0])}
        score(rows, "input", inp, lab)
        score(rows, "network alone", alone, lab)
        for k, v in drawn.items():
            score(rows, k, v, lab)
        s = best_shift(alone, lab)
        shifts.append(s)
        for k, v in {"network alone": alone, **drawn}.items():
            score(rows, f"{k} registered", np.clip(ndimage.shift(v, s, order=3, mode="nearest"), 0, 1), lab)
        cases.append((alone, lab, true_points(scene, n, extent), yw.shape))
    shifts = np.asarray(shifts)
    scale = 256 / cases[0][1].shape[0]  # user-grid pixels -> working-grid pixels
    sigma = float(np.sqrt(np.mean(shifts ** 2))) * scale  # per axis, working-grid pixels
    rng = np.random.default_rng(seed)
    moves = rng.normal(0.0, sigma, (len(cases), 2))
    modes = ["exact", "full", "mean"] + [f"mean >= {f}" for f in FLOORS]
    for (alone, lab, pts, hs), move in zip(cases, moves):
        for mode in modes:
            u = oracle_spots(pts, mode, 0.0 if mode == "exact" else sigma, (0.0, 0.0) if mode == "exact" else move)
            score(rows, f"oracle {mode}", compose(alone, np.zeros((0, 4), np.float32), hs, uncertain=u), lab)
    res = summary(rows, float(np.mean(rows["input"]["psnr"])))
    return dict(records=len(cases), rigid_shift=dict(
        median_px_user=float(np.median(np.hypot(*shifts.T))), sigma_per_axis_px_working=sigma,
        sigma_per_axis_mm=sigma * 0.2 / 256 * 1e3), rows=res)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--sets", nargs="+", default=["paper_freehand_test"])
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0, help="seed of the oracle's random shifts")
    ap.add_argument("--datasets", default=str(Path.home() / ".cache/sarsr/datasets"))
    ap.add_argument("--out", help="JSON to write")
    a = ap.parse_args()
    torch.set_num_threads(1)
    path, step, _ = export_ema(a.model)
    net = load_sr_model(path)
    res = dict(model=a.model, step=step, count=a.count, sets={})
    for name in a.sets:
        r = probe_set(net, Path(a.datasets) / name, a.count, a.seed)
        res["sets"][name] = r
        print(f"{name}: {r['records']} records, rigid shift median {r['rigid_shift']['median_px_user']:.2f} px, "
              f"sigma {r['rigid_shift']['sigma_per_axis_mm']:.2f} mm per axis", flush=True)
        for row in r["rows"]:
            print(f"  {row['method']:32s} {row['psnr_db']:6.2f} dB ({row['gain_db']:+.2f})  recall {row['point_recall']:.3f}  "
                  f"false {row['false_points']:5.2f}  ratio {row['point_amplitude_ratio']:.2f}  "
                  f"points rmse {row['rmse_points']:.3f}  edges rmse {row['rmse_shape_edges']:.3f}", flush=True)
    if a.out:
        atomic_write_text(Path(a.out), home_relative(json.dumps(json_safe(res), indent=1)))


if __name__ == "__main__":
    main()
