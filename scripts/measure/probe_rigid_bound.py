r"""What no image-only method can get back: the rigid part of the scan's position error, computed
from the simulator's own positions, and the PSNR gain a method that knew the whole scene *except*
that shift could reach (docs/sr_points.md, "What one image allows").

    .venv/bin/python scripts/measure/probe_rigid_bound.py \
        --sets paper_freehand_test sr_oof_array_test sr_oof_shapes_test sr_oof_snr_test --count 64 \
        --model ~/.cache/sarsr/runs/srvit_hsm_points_v6/last.pt --model-count 32 \
        --out docs/sr_points_rigid_bound.json

For each of the first ``--count`` records of each set (``~/.cache/sarsr/datasets/SET``) the scan
is drawn again from the manifest's scenario config and seed (:func:`sarsr.data.simulate.build_scan`: the
record's first draws, no echo simulated; its position-error RMS is checked against the stored
``pos_error_rms_m``). The **rigid shift** at a place ``q`` is the linearised focus shift there:
the ``delta`` (m, x y z) that minimises, over every channel sample,
``((u_tx + u_rx) . delta - u_tx . e_tx - u_rx . e_rx)^2`` (``u``: unit vectors from ``q`` to the
true Tx / Rx positions, ``e``: estimated - true position): where the image formed at the
estimated positions puts a target that sits at ``q``. It is computed at every label point and
at every shape's centre (a smooth warp of the image: shift, tilt, rotation); nothing in the
image shows it (no absolute reference in the scene). Two checks of the model, reported:
``input_peaks_vs_rigid`` (the input's own brightest pixel near each label point, sub-pixel,
against the modelled shift there) and, with ``--model``, ``network_vs_rigid``.

Rows, on the set's stored grid (the grid :func:`sarsr.super_resolve` returns), against the label
rendered there (true amplitudes; :mod:`sarsr.metrics`):

- ``input``: the stored EMPM image, normalised;
- ``scene at the shift``: the label itself rendered with every object moved by the modelled
  shift at its place: a method that got every shape, point and amplitude right and only drew them
  where the image shows them;
- ``posterior mean (blur F sigma)``: the same blurred by a Gaussian of ``F`` x the set's rms
  shift per axis: the squared-error optimum when the shift is unknown and Gaussian (F = 1);
  several F, the best one a bound whatever the prior;
- ``... points full height`` / ``... points >= F``: the shapes blurred, each label point drawn
  where the image shows it as the label's spot at its true amplitude (full height), or blurred
  like the shapes with its height at least ``F`` of the amplitude: the best a method that must
  keep its points at recall and amplitude targets can do;
- ``... at 1.25 x the shift``: the same with the modelled shift made 25 % larger (a margin: the
  input's peaks move more than the linearised model says, ``input_peaks_vs_rigid``).

With ``--model`` (a run's ``last.pt``, EMA weights), for the first ``--model-count`` records the
network alone is registered to its label (one sub-pixel shift, ``probe_gain_bound.best_shift``)
and its displacement compared with the mean modelled shift over the record's objects: if the
network's misplacement is the scan's error, the two agree (slope, correlation, residual).

One thread (a training run may share the machine).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from probe_gain_bound import best_shift, score, summary  # this script's folder is on sys.path
from sarsr import metrics, radar
from sarsr._files import atomic_write_text, home_relative
from sarsr.data import dataset_scenario, iter_records, read_manifest, record_rng
from sarsr.data.simulate import build_scan
from sarsr.data.torch_dataset import render_label
from sarsr.sr import network_pass, resample_output
from sarsr.train.evaluate import json_safe

BLUR_FACTORS = (0.5, 0.75, 1.0, 1.25)
FLOOR = 0.85
WIDER = 1.25  # the input's own peaks move ~1.1 mm rms per axis where the model says ~0.9: a margin
WIDER_BLUR = 0.75


def records(root: Path, count: int, sc):
    """(index, EMPM image, scene_json, z0 m, stored position-error rms m) of the first ``count``
    records of the dataset at ``root`` generated with scenario ``sc``."""
    key = "empm" if sc["store"].get("empm") else "input"
    for r in iter_records(root, [key, "scene_json", "z0_m", "pos_error_rms_m"], count):
        yield r["index"], r[key], r["scene_json"], float(r["z0_m"]), float(r["pos_error_rms_m"])


def rigid_shift(scan, q) -> np.ndarray:
    """(k, 3) apparent displacement (m) of targets at ``q`` ((k, 3) m) when the image is formed at
    the scan's estimated positions (linearised; see the module text)."""
    e_tx, e_rx = scan.tx_est - scan.tx, scan.rx_est - scan.rx
    out = []
    for p in np.atleast_2d(q):
        u_tx = scan.tx - p
        u_tx /= np.linalg.norm(u_tx, axis=1, keepdims=True)
        u_rx = scan.rx - p
        u_rx /= np.linalg.norm(u_rx, axis=1, keepdims=True)
        b = np.sum(u_tx * e_tx, 1) + np.sum(u_rx * e_rx, 1)
        out.append(np.linalg.lstsq(u_tx + u_rx, b, rcond=None)[0])
    return np.array(out)


def moved(scene_json, shifts) -> str:
    """The scene description with every object moved laterally where the image shows it:
    ``shifts`` (k, 3) m, one row per row of :func:`object_positions` (a shape moves by the shift
    at its centre)."""
    out, i = [], 0
    for o in json.loads(scene_json):
        o = dict(o)
        if o.get("kind") == "shape":
            o["center"] = [o["center"][0] + shifts[i, 0], o["center"][1] + shifts[i, 1]]
            i += 1
        elif o.get("kind") == "points" and o.get("positions"):
            p = np.asarray(o["positions"], float)
            d = shifts[i:i + len(p)]
            o["positions"] = np.column_stack([p[:, :2] + d[:, :2], p[:, 2]]).tolist()
            i += len(p)
        out.append(o)
    return json.dumps(out)


def only(scene_json, kinds) -> str:
    """The scene description with its objects of ``kinds`` only."""
    return json.dumps([o for o in json.loads(scene_json) if o.get("kind") in kinds])


def points_image(scene_json, n, extent, width, height) -> np.ndarray:
    """The scene's points alone drawn with ``width`` (m) and ``height`` x their amplitude."""
    grid = radar.image_grid(n=n, extent=extent, z=0.0)
    return height * radar.label_image(radar.scene_from_objects(only(scene_json, ("points",))), grid, width)


def object_positions(scene_json) -> tuple[np.ndarray, np.ndarray]:
    """(k, 3) m: every shape's centre and every label point, in the scene's order, and (k,) bool:
    which rows are label points."""
    q, is_point = [], []
    for o in json.loads(scene_json):
        if o.get("kind") == "shape":
            q.append([o["center"][0], o["center"][1], o["z0"]])
            is_point.append(False)
        elif o.get("kind") == "points":
            q.extend(o.get("positions", []))
            is_point.extend([True] * len(o.get("positions", [])))
    return np.asarray(q, float).reshape(-1, 3), np.asarray(is_point, bool)


def input_peak_displacement(inp, points_m, extent, px) -> tuple[np.ndarray, np.ndarray]:
    """For each label point ((k, 2) m, x y) at least 5 px inside the grid: where the input's
    brightest pixel within +-4 px lies relative to it (m, parabolic sub-pixel peak), and which
    points those are (indices). Points whose brightest pixel is on the window's rim are left out."""
    n = inp.shape[0]
    out, used = [], []
    for i, (x, y) in enumerate(points_m):
        r, c = (x + extent) / px, (y + extent) / px  # grid x_i = -extent + i px (rows x, columns y)
        r0, c0 = int(round(r)), int(round(c))
        if not (5 <= r0 < n - 5 and 5 <= c0 < n - 5):
            continue
        w = inp[r0 - 4:r0 + 5, c0 - 4:c0 + 5]
        a, b = np.unravel_index(np.argmax(w), w.shape)
        if a in (0, 8) or b in (0, 8):
            continue

        def vertex(lo, mid, hi):
            den = lo - 2 * mid + hi
            return 0.5 * (lo - hi) / den if den else 0.0
        da, db = vertex(w[a - 1, b], w[a, b], w[a + 1, b]), vertex(w[a, b - 1], w[a, b], w[a, b + 1])
        out.append(((r0 - 4 + a + da - r) * px, (c0 - 4 + b + db - c) * px))
        used.append(i)
    return np.asarray(out).reshape(-1, 2), np.asarray(used, int)


def agreement(measured, modelled) -> dict:
    """Correlation, least-squares slope and rms (mm) of two sets of displacements (m, pooled axes)."""
    a, b = np.ravel(measured), np.ravel(modelled)
    return dict(values=len(a), correlation=float(np.corrcoef(a, b)[0, 1]), slope=float(a @ b / (b @ b)),
                measured_rms_mm=float(np.sqrt(np.mean(a ** 2))) * 1e3, modelled_rms_mm=float(np.sqrt(np.mean(b ** 2))) * 1e3,
                residual_rms_mm=float(np.sqrt(np.mean((a - b) ** 2))) * 1e3)


def probe_set(root: Path, count: int, net=None, model_count: int = 0) -> dict:
    m = read_manifest(root)
    sc = dataset_scenario(root)  # overrides included (the manifest's TOML has them only as comments)
    n, extent = int(sc["grid"]["n"]), float(sc["grid"]["extent_m"])
    px = 2 * extent / n
    cases, rms_check, pairs, shifts, peaks = [], [], [], [], []
    for k, (index, x, scene, z0, rms) in enumerate(records(root, count, sc)):
        scan = build_scan(sc, record_rng(m["seed"], index))
        err = np.concatenate([scan.tx_est - scan.tx, scan.rx_est - scan.rx])
        rms_check.append((float(np.sqrt(np.mean(err ** 2))), rms))
        q, is_point = object_positions(scene)
        here = rigid_shift(scan, q)  # once per object; every use below reads it
        shifts.append(here)
        if is_point.any():
            seen, used = input_peak_displacement(metrics.normalize(x), q[is_point, :2], extent, px)
            if len(used):
                peaks.append((seen, here[is_point][used, :2]))
        at_json, wider_json = moved(scene, here), moved(scene, WIDER * here)
        lab = render_label(scene, n, extent)
        cases.append((x, at_json, wider_json, lab))
        if net is not None and k < model_count:
            yw = network_pass(x[None], net)[0].clamp(0, 1)
            alone = resample_output(yw, lab.shape)[0, 0].numpy()
            s = np.asarray(best_shift(alone, lab))  # moves the image onto its label: content sits at -s
            pairs.append((-s * px, here[:, :2].mean(0)))
    dev = max(abs(a - b) for a, b in rms_check)
    if dev > 1e-9:
        raise RuntimeError(f"{root.name}: the re-drawn scans do not match the stored position errors ({dev:.2e} m)")
    shifts = np.concatenate(shifts)
    sigma_px = float(np.sqrt(np.mean(shifts[:, :2] ** 2))) / px  # per axis
    rows: dict = {}
    o = radar.LABEL_WIDTH
    for x, at_json, wider_json, lab in cases:
        score(rows, "input", metrics.normalize(x), lab)
        at = render_label(at_json, n, extent)
        score(rows, "scene at the shift", at, lab)
        score(rows, f"scene at {WIDER:g} x the shift", render_label(wider_json, n, extent), lab)
        for name, moved_json, sig in (("", at_json, sigma_px), (f", at {WIDER:g} x the shift", wider_json, WIDER * sigma_px)):
            shapes = render_label(only(moved_json, ("shape",)), n, extent)
            full = points_image(moved_json, n, extent, o, 1.0)
            for f in BLUR_FACTORS if not name else (WIDER_BLUR,):
                b = f * sig
                if not name:
                    score(rows, f"posterior mean (blur {f:g} sigma)", ndimage.gaussian_filter(at, b, mode="constant"), lab)
                blurred = ndimage.gaussian_filter(shapes, b, mode="constant")
                if not name:
                    score(rows, f"posterior mean (blur {f:g} sigma), points full height", np.maximum(blurred, full), lab)
                wide = float(np.sqrt(o ** 2 + 2 * (b * px) ** 2))
                floor = points_image(moved_json, n, extent, wide, max(o ** 2 / wide ** 2, FLOOR))
                score(rows, f"posterior mean (blur {f:g} sigma), points >= {FLOOR}{name}", np.maximum(blurred, floor), lab)
    out = summary(rows, float(np.mean(rows["input"]["psnr"])))
    res = dict(records=len(cases), pixel_mm=px * 1e3,
               rigid_shift=dict(sigma_per_axis_mm=sigma_px * px * 1e3,
                                median_lateral_mm=float(np.median(np.hypot(*shifts[:, :2].T))) * 1e3,
                                objects=len(shifts),
                                mean_mm=(shifts[:, :2].mean(0) * 1e3).tolist(),
                                depth_rms_mm=float(np.sqrt(np.mean(shifts[:, 2] ** 2))) * 1e3),
               rows=out)
    if peaks:
        res["input_peaks_vs_rigid"] = agreement(np.concatenate([p[0] for p in peaks]), np.concatenate([p[1] for p in peaks]))
    if pairs:
        res["network_vs_rigid"] = dict(records=len(pairs), **agreement([p[0] for p in pairs], [p[1] for p in pairs]))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["paper_freehand_test"])
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--model", help="a run's last.pt (EMA weights) to compare its misplacement with the rigid shift")
    ap.add_argument("--model-count", type=int, default=32)
    ap.add_argument("--datasets", default=str(Path.home() / ".cache/sarsr/datasets"))
    ap.add_argument("--out", help="JSON to write")
    a = ap.parse_args()
    torch.set_num_threads(1)
    net, step = None, None
    if a.model:
        from measure_points_design import export_ema
        from sarsr.sr import load_sr_model
        path, step, _ = export_ema(a.model)
        net = load_sr_model(path)
    res = dict(model=a.model, step=step, count=a.count, sets={})
    for name in a.sets:
        r = probe_set(Path(a.datasets) / name, a.count, net, a.model_count)
        res["sets"][name] = r
        rs = r["rigid_shift"]
        print(f"{name}: {r['records']} records, rigid shift sigma {rs['sigma_per_axis_mm']:.2f} mm per axis, "
              f"median {rs['median_lateral_mm']:.2f} mm, depth rms {rs['depth_rms_mm']:.2f} mm", flush=True)
        if "input_peaks_vs_rigid" in r:
            c = r["input_peaks_vs_rigid"]
            print(f"  input's point peaks vs rigid shift ({c['values']} values): correlation {c['correlation']:.2f}, "
                  f"slope {c['slope']:.2f}, input {c['measured_rms_mm']:.2f} mm rms, modelled {c['modelled_rms_mm']:.2f} mm, "
                  f"residual {c['residual_rms_mm']:.2f} mm")
        if "network_vs_rigid" in r:
            c = r["network_vs_rigid"]
            print(f"  network's displacement vs rigid shift ({c['records']} records): correlation {c['correlation']:.2f}, "
                  f"slope {c['slope']:.2f}, network {c['measured_rms_mm']:.2f} mm rms, modelled {c['modelled_rms_mm']:.2f} mm, "
                  f"residual {c['residual_rms_mm']:.2f} mm")
        for row in r["rows"]:
            print(f"  {row['method']:52s} {row['psnr_db']:6.2f} dB ({row['gain_db']:+.2f})  recall {row['point_recall']:.3f}  "
                  f"false {row['false_points']:5.2f}  ratio {row['point_amplitude_ratio']:.2f}", flush=True)
    if a.out:
        atomic_write_text(Path(a.out), home_relative(json.dumps(json_safe(res), indent=1)))


if __name__ == "__main__":
    main()
