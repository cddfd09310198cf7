"""The ``sarsr`` command line. ``sarsr --help`` lists the subcommands.

Every import of the package, numpy and the heavy packages is made inside the subcommand that
needs it (lazy by design): ``sarsr --help`` and argument errors answer in ~0.05 s, without
loading numpy, torch or numba."""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import sys
from pathlib import Path

from .config import WORKING_SIZE


class CLIError(Exception):
    """An error reported to the user as one line, exit code 2."""



class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (``sarsr train: error: argument
    --max-steps: ...; see sarsr train --help``), exit code 2, like every other error of the CLI."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _presence(args) -> dict:
    """``presence_mass`` for super_resolve / evaluate when --presence-mass is given (else their default)."""
    return {} if args.presence_mass is None else {"presence_mass": args.presence_mass}


def _bounded(kind, lo, hi, lo_open: bool = False, hi_open: bool = False):
    """argparse type: an int or a finite float within [lo, hi] (open ends where told), so that no
    number reaches numpy as an overflow; out of range is argparse's usage error (exit code 2)."""
    def parse(text):
        try:
            v = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if kind is float and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
            fmt = "d" if kind is int else "g"
            raise argparse.ArgumentTypeError(f"{text} is out of range {'(' if lo_open else '['}{lo:{fmt}}, "
                                             f"{hi:{fmt}}{')' if hi_open else ']'}")
        return v
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


SEED = _bounded(int, 0, 2 ** 63 - 1)
COUNT = _bounded(int, 1, 10 ** 8)

def _cmd_bench(args) -> int:
    from .bench import (bench_autofocus, bench_backprojection, bench_models, bench_radar, bench_train_step,
                        format_autofocus_rows, format_bp_rows, format_model_rows, format_rows, format_train_rows)

    if args.what == "bp":
        import numba

        size = args.size or "paper"
        print(f"sarsr bench bp --size {size} (numba threads: {numba.get_num_threads()})", flush=True)
        rows = bench_backprojection(size, repeat=args.repeat, log=lambda m: print("  running " + m, flush=True))
        print(format_bp_rows(rows))
        return 0
    if args.what == "train":
        import torch

        model = args.models if args.models not in (None, "*") else "srvit_hsm"
        print(f"sarsr bench train --models {model} (torch {torch.__version__}, {torch.get_num_threads()} threads)",
              flush=True)
        print(format_train_rows(bench_train_step(model, log=lambda m: print("  running " + m, flush=True))))
        return 0

    if args.repeat < 1:
        raise CLIError(f"--repeat must be >= 1, got {args.repeat}")
    if args.what == "autofocus":
        size = args.size or "paper"
        if size not in ("paper", "small", "smoke"):
            raise CLIError(f"bench autofocus --size must be paper, small or smoke, not {size!r}")
        import torch

        print(f"sarsr bench autofocus --size {size} --repeat {args.repeat} (scans; torch "
              f"{torch.get_num_threads()} threads)", flush=True)
        rows = bench_autofocus(size, count=args.repeat, log=lambda m: print("  running " + m, flush=True))
        print(format_autofocus_rows(rows))
        return 0
    if args.what == "models":
        import torch

        if args.size is not None and not (str(args.size).isdigit() and 8 <= int(args.size) <= 4096):
            raise CLIError(f"bench models --size must be a whole number of pixels in [8, 4096], got {args.size!r}")
        size = f" --size {args.size}" if args.size else ""
        size += " --shipped" if args.shipped else ""
        print(f"sarsr bench models --models '{args.models}'{size} (torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads, fp32, batch 1)", flush=True)
        rows = bench_models(args.models, int(args.size) if args.size else None, repeat=args.repeat,
                            log=lambda m: print("  running " + m, flush=True), shipped=args.shipped)
        print(format_model_rows(rows))
        return 0
    if args.size and args.size not in ("paper", "small", "smoke"):
        raise CLIError(f"bench radar --size must be paper, small or smoke, not {args.size!r}")
    args.size = args.size or "paper"
    import numba

    print(f"sarsr bench radar --size {args.size} (numba threads: {numba.get_num_threads()})", flush=True)
    rows = bench_radar(args.size, repeat=args.repeat, log=lambda m: print("  running " + m, flush=True))
    print(format_rows(rows))
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise CLIError(f"output folder {out} is not empty; pass --force to overwrite")
    if args.model is not None:  # a bad --model fails now, not after the whole simulation
        from .sr import load_sr_model

        load_sr_model(args.model)
    res = run_demo(out, seed=args.seed, sigma_mm=args.sigma_mm, snr_db=args.snr_db, size=args.size,
                   model=args.model)
    print("PSNR vs label (dB): " + ", ".join(f"{k} {v:.2f}" for k, v in res["psnr_db"].items()))
    return 0


def _cmd_dataset(args) -> int:
    from .data import generate_dataset, list_scenarios, load_scenario

    if args.list:
        for name in list_scenarios():
            print(f"{name:<18}{load_scenario(name)['description']}")
        return 0
    if not args.scenario or args.out is None or args.count is None:
        raise CLIError("give SCENARIO, --count and --out (or --list to see the presets)")
    if args.workers is not None and args.workers < 1:
        raise CLIError("--workers must be >= 1")
    scenario = load_scenario(args.scenario)
    if args.store:
        scenario = scenario.with_store([x.strip() for x in args.store.split(",") if x.strip()])
    if args.set:
        scenario = scenario.with_overrides(_parse_sets(args.set))
    m = generate_dataset(scenario, args.out, args.count, seed=args.seed, workers=args.workers,
                         scheduler=args.scheduler, shard_size=args.shard_size, progress=not args.quiet,
                         force=args.force)
    rate = f", {m['scans_per_hour']:.0f} scans/hour" if m.get("scans_per_hour") else ""
    print(f"{args.out}: {m['count']} records in {len(m['shards'])} shards "
          f"({m['generated_records']} generated in {m['generation_seconds']:.1f} s{rate})")
    return 0


def _parse_sets(items):
    from .config import parse_sets

    try:
        return parse_sets(items)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _cmd_train(args) -> int:
    from .train import load_config, train

    if args.out is not None and not args.out.strip():
        raise CLIError("--out is empty; give a run folder (or leave --out out for ~/.cache/sarsr/runs/NAME)")
    cfg = load_config(args.config, _parse_sets(args.set))
    out = args.out or str(Path("~/.cache/sarsr/runs").expanduser() / cfg["name"])
    if args.max_steps is not None and args.max_steps < 1:
        raise CLIError(f"--max-steps must be >= 1, got {args.max_steps}")
    s = train(cfg, out, resume=not args.restart, max_steps=args.max_steps, device=args.device,
              progress=not args.quiet, force_config=args.force_config)
    if int(__import__("os").environ.get("RANK", "0")) == 0:
        what = {"val_psnr": "PSNR {:.2f} dB", "val_acc": "accuracy {:.3f}", "val_miou": "mIoU {:.3f}"}
        best = (what.get(s["primary"], "{:.4g}").format(s["best_val"]) if s["best_val"] != -float("inf")
                else "none yet (no validation step reached)")
        print(f"{s['out']}: step {s['step']}, best validation {best}")
    return 0


def _refuse_existing_report(report, figure_suffix, force: bool) -> None:
    """A report writes ``report``, its .json and, with ``figure_suffix``, a figure beside it: any
    of them already there (or a link in its place) is an error unless ``force``."""
    if not report or force:
        return
    rep = Path(report)
    written = (rep, rep.with_suffix(".json")) + ((rep.with_name(rep.stem + figure_suffix),) if figure_suffix else ())
    for p in written:
        if p.exists() or p.is_symlink():
            raise CLIError(f"{p} exists (the report writes {', '.join(q.name for q in written)}); "
                           f"pass --force to overwrite")


def _cmd_evaluate(args) -> int:
    from .train.evaluate import evaluate, input_psnr, robustness, write_report

    if args.limit is not None and args.limit < 1:
        raise CLIError(f"--limit must be >= 1, got {args.limit}")
    if args.robustness and args.robustness_count < 1:
        raise CLIError(f"--robustness-count must be >= 1, got {args.robustness_count}")
    if args.no_baselines and not args.model:
        raise CLIError("--no-baselines with no --model leaves nothing to evaluate; add --model srvit_hsm "
                       "(the shipped network) or a checkpoint")
    _refuse_existing_report(args.report, "_robustness.png" if args.robustness else None, args.force)
    models = {}
    for spec in args.model or []:
        label, _, what = spec.partition("=")
        if not label.strip() or any(c in label for c in "|`") or not label.isprintable():
            raise CLIError(f"--model {spec!r}: the label names a report row: printable text without '|' or '`'")
        models[label] = what or label
    if args.ship_rule is not None and (args.ship_rule not in models or len(models) < 2):
        raise CLIError(f"--ship-rule {args.ship_rule}: name one of the --model labels ({', '.join(models) or 'none given'}) "
                       f"and give at least one other --model to compare with it")
    results = {}
    for test in args.test:
        rows = evaluate(test, models, limit=args.limit, baselines=not args.no_baselines, progress=not args.quiet,
                        keep_input_points=args.keep_input_points, point_threshold=args.point_threshold,
                        **_presence(args))
        results[test] = rows
        print(f"== {test}")
        for r in sorted(rows, key=lambda r: (r.get("grid", ""), -r["psnr_db"])):
            inp = input_psnr(rows, r.get("grid"))
            gain = f" ({r['psnr_db'] - inp:+.2f})" if inp is not None else ""
            extra = f"  {r['params']:>8,} params {r['gmacs']:6.2f} GMAC" if "params" in r else ""
            if "restored" in r:
                extra += f"  input peaks put back on {r['restored']:.0%} of images"
            print(f"{r['method']:<26} {r.get('grid', ''):<12} PSNR {r['psnr_db']:6.2f} dB{gain:<9} SSIM {r['ssim']:.4f}  "
                  f"recall {r['point_recall']:.3f}  ratio {r['point_amplitude_ratio']:.2f}  "
                  f"false {r['false_points']:.2f}{extra}")
        if args.ship_rule is not None:
            _print_ship_rule(rows, args.ship_rule)
    curve = robustness(models, count=args.robustness_count, progress=not args.quiet,
                       keep_input_points=args.keep_input_points,
                       point_threshold=args.point_threshold, **_presence(args)) if args.robustness else None
    if args.report:
        write_report(args.report, results, curve=curve, command="sarsr " + " ".join(sys.argv[1:]))
        print(f"wrote {args.report}")
    return 0


def _print_ship_rule(rows: list[dict], shipped: str) -> None:
    """One line per candidate network and grid: does it replace ``shipped`` (the shipping rule,
    :func:`sarsr.train.sr_task.replaces`)?"""
    from .train.sr_task import replaces

    base = {r["grid"]: r for r in rows if r["method"] == shipped}
    for r in rows:
        variant = r["method"].endswith(("+input points", " alone"))  # the default call's rows only
        if r["method"] == shipped or "params" not in r or r["grid"] not in base or variant:
            continue
        ok, why = replaces(r, base[r["grid"]])
        print(f"ship rule, {r['grid']}: {r['method']} {'REPLACES' if ok else 'does not replace'} {shipped}: {why}")


def _cmd_export(args) -> int:
    import json

    from .train import export_weights

    evaluation = None
    if args.evaluation:
        evaluation = json.loads(Path(args.evaluation).read_text())
    pt = export_weights(args.run, args.checkpoint, evaluation=evaluation, force=args.force)
    print(f"wrote {pt} and {pt.with_suffix('.json').name} (the shipped weights of this model)")
    return 0


@contextlib.contextmanager
def _warnings_as_notes():
    """Print the library's UserWarnings of a CLI step as one ``note:`` line each on stderr
    (no source path), in the CLI's own words for the keyword they name."""
    import warnings

    seen = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", UserWarning)
            yield
    finally:
        for w in seen:
            if issubclass(w.category, UserWarning):
                msg = str(w.message).replace("pass keep_input_points=False", "pass --keep-input-points never")
                print(f"note: {msg}", file=sys.stderr)


#: ``--keep-input-points`` words -> ``super_resolve(keep_input_points=...)``
_POINTS_FLAG = {"auto": "auto", "always": True, "never": False}


def _cmd_sr(args) -> int:
    import numpy as np

    from .io import read_image
    from .sr import DEFAULT_POINT_THRESHOLD, POINT_FIELDS, super_resolve

    from ._files import atomic_path, atomic_write_text

    dst = Path(args.out)
    if dst.suffix not in (".npy", ".h5", ".hdf5", ".png"):
        raise CLIError(f"unsupported output format {dst.suffix!r} (.npy, .h5 or .png)")
    if dst.exists() and not args.force:
        raise CLIError(f"{dst} exists; pass --force to overwrite")
    if args.size < 0:
        raise CLIError(f"--size must be >= 1 (or 0 for the input size), got {args.size}")
    pts_dst = Path(args.points) if args.points else None
    if pts_dst is not None:
        if pts_dst.suffix.lower() != ".csv":
            raise CLIError(f"--points {pts_dst}: expected a .csv file")
        if pts_dst.exists() and not args.force:
            raise CLIError(f"{pts_dst} exists; pass --force to overwrite")
    threshold = args.point_threshold if args.point_threshold is not None else DEFAULT_POINT_THRESHOLD
    if not 0 <= threshold < 1:
        raise CLIError(f"--point-threshold must be a probability in [0, 1), got {args.point_threshold}")
    img = read_image(args.input, args.var)
    with _warnings_as_notes():
        out = super_resolve(img, args.model, size=None if args.size == 0 else args.size,
                            keep_input_points=_POINTS_FLAG[args.keep_input_points], return_points=pts_dst is not None,
                            point_threshold=threshold, **_presence(args))
    if pts_dst is not None:
        out, tables = out
        tables = [tables] if out.ndim == 2 else tables
        lines = [",".join((*POINT_FIELDS, "image"))]
        lines += [",".join([*(f"{float(row[f]):.6g}" for f in POINT_FIELDS), str(i)]) for i, t in enumerate(tables)
                  for row in t]
        pts_dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(pts_dst, "\n".join(lines) + "\n")
        print(f"wrote {pts_dst} ({sum(len(t) for t in tables)} points)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        if dst.suffix == ".npy":
            np.save(tmp, out)
        elif dst.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(tmp, "w") as f:
                f["sr"] = out
        else:
            import matplotlib.pyplot as plt

            plt.imsave(tmp, out.T if out.ndim == 2 else out[0].T, cmap="gray", vmin=0, vmax=1, origin="lower")
    print(f"wrote {dst} ({'x'.join(map(str, out.shape))}, float32 in [0, 1])")
    return 0


def _radar_chip(args) -> str | None:
    """--radar, or the deprecated --device spelling of reconstruct / calibrate (with a note)."""
    if getattr(args, "radar_device_deprecated", None):
        print("note: --device is deprecated here (it names the torch device elsewhere); use --radar",
              file=sys.stderr)
        return args.radar or args.radar_device_deprecated
    return args.radar


def _cmd_reconstruct(args) -> int:
    from .io.reconstruct import reconstruct_capture

    from .radar.imaging.imagers import BACKPROJECTION, get_imager  # here, not at start-up: it loads the numba kernels

    try:
        method = get_imager(args.method or BACKPROJECTION).name
    except ValueError as exc:
        raise CLIError(f"--method: {exc}") from None
    try:
        lattice = tuple(int(v) for v in args.lattice.split(",")) if args.lattice else None
    except ValueError:
        raise CLIError(f"--lattice {args.lattice!r}: expected two whole numbers NX,NY (x positions, virtual rows)") from None
    if lattice is not None and (len(lattice) != 2 or min(lattice) < 1):
        raise CLIError(f"--lattice {args.lattice!r}: expected two whole numbers NX,NY >= 1")
    if args.keep_input_points is not None and not args.sr:
        raise CLIError("--keep-input-points applies to the super-resolved image: add --sr")
    enhance = None
    if args.sr:
        from .sr import load_sr_model, super_resolve

        net = load_sr_model(args.model)  # fail early on a bad --model, before reconstructing
        def enhance(img):
            with _warnings_as_notes():
                return super_resolve(img, net, keep_input_points=_POINTS_FLAG[args.keep_input_points or "auto"])
    res = reconstruct_capture(args.capture, args.out, method=method, n=args.n, extent=args.extent_mm * 1e-3,
                              z=args.z_mm * 1e-3, lattice=lattice, enhance=enhance, force=args.force,
                              calibration=args.calibration,
                              config=args.config, positions=args.positions, device=_radar_chip(args),
                              allow_partial=args.allow_partial, autofocus=args.autofocus)
    rep = res["report"]
    if res.get("autofocus"):
        af = res["autofocus"]
        print(f"autofocus: image entropy {af['entropy_before']:.4f} -> {af['entropy_after']:.4f} "
              f"({'correction kept' if af['applied'] else 'no correction kept'}; estimated error rms "
              f"{', '.join(f'{v:.2f}' for v in af['error_rms_mm'])} mm in x, y, z; {af['seconds']:.1f} s)")
    extra = f" (partial last frame of {rep['partial_frame_bytes']} bytes dropped)" if rep.get("partial_frame_bytes") else ""
    print(f"{args.out}: {res['method']} image of {rep['frames']} frames{extra} -> image.h5, image.png")
    return 0


def _cmd_calibrate(args) -> int:
    import math

    from .io import calibrate, read_capture

    out = Path(args.out)
    if out.exists() and not args.force:
        raise CLIError(f"{out} exists; pass --force to overwrite")
    try:
        refl = [float(v) * 1e-3 for v in args.reflector_mm.split(",")]
        assert len(refl) == 3 and all(math.isfinite(v) for v in refl)
    except (ValueError, AssertionError):
        raise CLIError(f"--reflector-mm expects X,Y,Z in mm, got {args.reflector_mm!r}") from None
    cap = read_capture(args.capture, config=args.config, positions=args.positions, device=_radar_chip(args))
    cal = calibrate(cap, refl)
    cal.save(out)
    import numpy as np

    dr = np.abs(np.asarray(cal.range_offset_m)) * 1e3
    print(f"wrote {out}: {np.size(dr)} channels, |range offset| <= {dr.max():.2f} mm")
    return 0


def _is_token_vit(spec) -> bool:
    from .vision import load_classifier

    return hasattr(load_classifier(spec), "patch_grid")


def _cmd_vision(args) -> int:
    if args.action == "train":
        return _cmd_train(args)
    if args.action == "evaluate":
        from .vision.evaluate import evaluate_classifiers, progressive_report

        models = dict(spec.partition("=")[::2] for spec in args.model or [])
        if not models:
            raise CLIError("give at least one --model LABEL=checkpoint.pt")
        if args.limit is not None and args.limit < 1:
            raise CLIError(f"--limit must be >= 1, got {args.limit}")
        _refuse_existing_report(args.report, "_progressive.png" if args.progressive else None, args.force)
        rows = evaluate_classifiers(args.test, models, limit=args.limit)
        for r in rows:
            print(f"{r['method']:<24} accuracy {r['accuracy']:.3f}  {r['params']:>10,} params "
                  f"{r['gmacs']:6.3f} GMAC {r['cpu_ms']:7.1f} ms{'  (SR input)' if r['sr_input'] else ''}")
        rep = None
        if args.progressive:
            label, spec = next(((k, v) for k, v in models.items() if _is_token_vit(v)), (None, None))
            if label is None:
                raise CLIError("--progressive needs a token-ViT classifier (vit_radar / vit_tiny / vit_small) among --model")
            rep = progressive_report(spec, args.test, steps=args.steps, limit=args.limit)
            rep["method"] = label
            for f, a in zip(rep["fraction"], rep["accuracy"]):
                print(f"  {label}: {f:4.0%} of the sweep -> accuracy {a:.3f}")
            print(f"  token recycling: {rep['recycled_macs'] / 1e9:.3f} GMAC vs {rep['rerun_macs'] / 1e9:.3f} GMAC "
                  f"re-running ({rep['saved_fraction']:.0%} saved)")
        if args.report:
            from .vision.evaluate import write_recognition_report

            write_recognition_report(args.report, rows, args.test, rep, command="sarsr " + " ".join(sys.argv[1:]))
            print(f"wrote {args.report}")
        return 0
    from .io import read_image
    from .vision import predict

    res = predict(read_image(args.input, args.var), args.model_path)
    top = sorted(res["probabilities"].items(), key=lambda kv: -kv[1])[:3]
    print(f"{args.input}: {res['class']}  (" + ", ".join(f"{k} {v:.2f}" for k, v in top) + ")")
    return 0


def _add_train_args(t) -> None:
    """Arguments shared by `sarsr train` and `sarsr vision train`."""
    t.add_argument("config", help="config name (sarsr/train/configs) or TOML path")
    t.add_argument("--out", default=None, help="run folder (default ~/.cache/sarsr/runs/NAME)")
    t.add_argument("--max-steps", type=_bounded(int, 1, 10 ** 9), default=None, help="stop at this step (schedule unchanged)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. train.lr=5e-4")
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available)")
    t.add_argument("--restart", action="store_true",
                   help="start over in --out: ignore its checkpoint and replace its run files")
    t.add_argument("--force-config", action="store_true",
                   help="resume although the config differs from the checkpoint's (the changes apply from here on)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sarsr",
        description="Near-field mmWave SAR: simulation, reconstruction and super-resolution.",
        epilog="Examples:\n  sarsr demo --out out/demo\n  sarsr bench radar --size paper",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("bench", help="side-by-side benchmarks (radar kernels vs numpy; models)",
                       description="radar: time the project's kernels against straightforward numpy, side "
                                   "by side. models: params, MACs and CPU ms/image of every registered "
                                   "model, unfused and fused.",
                       epilog="Examples:\n  sarsr bench radar --size paper\n"
                              "  sarsr bench bp --size paper\n"
                              "  sarsr bench models\n  sarsr bench models --models 'srvit*' --size 256\n"
                              "  sarsr bench models --shipped --size 256 --repeat 20\n"
                              "  sarsr bench autofocus --size paper --repeat 4",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("what", choices=["radar", "bp", "models", "train", "autofocus"],
                   help="what to benchmark (bp: backprojection methods over image sizes and a volume; "
                        "train: one SR training step in CPU variants; autofocus: its starts side by side "
                        "on 3 mm scans, --repeat scans)")
    b.add_argument("--size", default=None,
                   help="radar: paper (default; 40,000 channels, 200x200 image, 1,000 scatterers), "
                        "small or smoke. models: square input side in pixels (default: each "
                        "model's registered input size)")
    b.add_argument("--models", default="*", help="models: shell pattern(s) of model names, comma-separated (default all)")
    b.add_argument("--repeat", type=_bounded(int, 1, 10 ** 4), default=2, help="timed repetitions")
    b.add_argument("--shipped", action="store_true",
                   help="models: only the networks with shipped weights, built as shipped (their "
                        "recorded options and weights), e.g. the default SR network")
    b.set_defaults(func=_cmd_bench)

    ds = sub.add_parser("dataset", help="generate a simulated dataset from a scenario preset (HDF5 shards)",
                        description="Simulate COUNT scans of SCENARIO (a preset in simulators/ or a TOML "
                                    "path) into HDF5 shards under --out. Re-running the same command "
                                    "resumes: complete shards are verified and kept, missing or corrupt "
                                    "ones are regenerated. Identical output for any --workers/--scheduler.",
                        epilog="Examples:\n  sarsr dataset --list\n"
                               "  sarsr dataset paper_freehand --count 4096 --out ~/.cache/sarsr/train --seed 1\n"
                               "  sarsr dataset my_scan.toml --count 100 --out data/x --scheduler tcp://10.0.0.5:8786",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ds.add_argument("scenario", nargs="?", help="preset name or path to a scenario TOML")
    ds.add_argument("--count", type=COUNT, help="number of scans (records)")
    ds.add_argument("--out", help="output folder")
    ds.add_argument("--seed", type=SEED, default=0, help="master seed (default 0)")
    ds.add_argument("--workers", type=_bounded(int, 1, 4096), default=None, help="local worker processes (default: CPU count)")
    ds.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port) to run on a cluster")
    ds.add_argument("--shard-size", type=_bounded(int, 1, 10 ** 6), default=32, help="records per shard file (default 32)")
    ds.add_argument("--store", default=None,
                    help="override the scenario's [store]: comma list of empm, backprojection, rma, label")
    ds.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a scenario key (same syntax as train --set), e.g. position_error.sigma_m=0.002")
    ds.add_argument("--list", action="store_true", help="list the scenario presets and exit")
    ds.add_argument("--force", action="store_true",
                    help="write into a non-empty folder that holds no sarsr dataset")
    ds.add_argument("--quiet", action="store_true", help="no progress bar")
    ds.set_defaults(func=_cmd_dataset)

    t = sub.add_parser("train", help="train a super-resolution network from a config (resumable, DDP)",
                       description="Train the network of a config file (sarsr/train/configs/*.toml or a "
                                   "path). Re-running the same command resumes from OUT/last.pt exactly. "
                                   "Data-parallel: torchrun --nproc_per_node N -m sarsr train CONFIG.",
                       epilog="Examples:\n  sarsr train srvit_hsm --out ~/.cache/sarsr/runs/srvit_hsm\n"
                              "  sarsr train srvit_hsm --max-steps 2000      # stop early; re-run to continue\n"
                              "  sarsr train my.toml --set train.lr=5e-4 --set data.crop=96\n"
                              "  torchrun --nproc_per_node 2 -m sarsr train srvit_hsm",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_train_args(t)
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="PSNR/SSIM table of SR models and baselines on a test set",
                       description="Evaluate networks (shipped names or run checkpoints) and the stored "
                                   "reconstructions (EMPM, backprojection, planar RMA) on a generated test "
                                   "set; optionally the robustness curve over sigma = 0-6 mm.",
                       epilog="Example:\n  sarsr evaluate --test ~/.cache/sarsr/datasets/paper_freehand_test \\\n"
                              "      --model srvit_hsm=~/.cache/sarsr/runs/srvit_hsm/best.pt --robustness \\\n"
                              "      --report docs/sr_evaluation.md",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--test", required=True, action="append",
                   help="test dataset folder (repeat for several test sets; one table each)")
    e.add_argument("--model", action="append", metavar="LABEL[=SPEC]",
                   help="network to evaluate: a registered name (shipped weights) or LABEL=checkpoint.pt")
    e.add_argument("--limit", type=COUNT, default=None, help="evaluate only the first N records")
    e.add_argument("--no-baselines", action="store_true", help="skip the stored reconstructions")
    e.add_argument("--robustness", action="store_true",
                   help="also PSNR and point recall (input and output) vs position-error sigma (0-6 mm)")
    e.add_argument("--robustness-count", type=_bounded(int, 1, 10 ** 6), default=64, help="records per sigma (default 64)")
    e.add_argument("--keep-input-points", action="store_true",
                   help="also score each network alone (no input peaks put back) and in screening mode "
                        "(every erased input peak put back); the main rows are what super_resolve returns "
                        "by default (put back on defocused inputs only)")
    e.add_argument("--point-threshold", type=_bounded(float, 0.0, 1.0, hi_open=True), default=None,
                   help="networks with a point head: the point probability above which a detection is drawn "
                        "(default 0.5)")
    e.add_argument("--presence-mass", type=_bounded(float, 0.0, 1e6), default=None,
                   help="networks with a point head: the probability mass over a +-3.9 mm box above which an "
                        "undetected point is drawn as an uncertain spot, up to 5 mm wide (default: sarsr.sr.DEFAULT_PRESENCE_MASS; 0: none)")
    e.add_argument("--ship-rule", default=None, metavar="LABEL",
                   help="apply the shipping rule against the --model LABEL (the shipped network): each other "
                        "network replaces it only with a higher val_score and no fewer or dimmer points")
    e.add_argument("--report", default=None, help="write a markdown report (+ .json, + robustness .png)")
    e.add_argument("--force", action="store_true", help="overwrite an existing report")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_cmd_evaluate)

    x = sub.add_parser("export", help="ship a trained run as the package weights of its model",
                       description="Copy a run's weights into sarsr/models/weights/<model>.pt with a JSON "
                                   "recording every training stage behind them (the train.init chain) and "
                                   "an optional evaluation report.",
                       epilog="Example:\n  sarsr export ~/.cache/sarsr/runs/srvit_hsm_broad "
                              "--evaluation docs/sr_evaluation.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    x.add_argument("run", help="run folder (with last.pt / config.toml)")
    x.add_argument("--checkpoint", default="best.pt", help="weights file in the run (default best.pt)")
    x.add_argument("--evaluation", default=None, help="evaluation JSON to record (from sarsr evaluate --report)")
    x.add_argument("--force", action="store_true", help="replace weights the package already ships for this model")
    x.set_defaults(func=_cmd_export)

    r = sub.add_parser("sr", help="super-resolve an image file (.npy, .h5, .mat, PNG)",
                       description="Super-resolve a SAR image (magnitude or complex, any scale) with the "
                                   "shipped network or a given checkpoint; writes float32 in [0, 1].",
                       epilog="Examples:\n  sarsr sr empm.npy --out sr.npy\n"
                              "  sarsr sr capture.mat --out sr.png --model run/best.pt",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("input", help="input image: .npy, .h5/.hdf5, .mat (v5 or v7.3), .png")
    r.add_argument("--out", required=True, help="output: .npy, .h5 or .png")
    r.add_argument("--model", default=None, help="registered name or checkpoint path (default: shipped)")
    r.add_argument("--size", type=_bounded(int, 0, 10 ** 6), default=WORKING_SIZE,
                   help=f"working resolution (0 = input size; default {WORKING_SIZE})")
    r.add_argument("--var", default=None, help="variable / dataset name in a .mat or .h5 (default: *empm* / *ffh*, else the first)")
    r.add_argument("--keep-input-points", nargs="?", const="always", default="auto",
                   choices=("auto", "always", "never"),
                   help="put back the bright input peaks the network erased: 'auto' (default) on a defocused "
                        "input only (the network erased its peaks wholesale; a warning says so), 'always' "
                        "(screening mode, the flag alone: never misses what the input shows, brings back its "
                        "false alarms too), 'never' (the network alone)")
    r.add_argument("--points", default=None, metavar="CSV",
                   help="also write the detected points (networks with a point head, such as the default): one row "
                        "per point, x_m, y_m (metres; the image taken to span [-0.1, 0.1) m), amplitude, confidence, "
                        "row, col (pixels of the output), spread_m (the drawn spot's width: 1.2 mm, up to 5 mm for an "
                        "uncertain point), image (index in a stack)")
    r.add_argument("--point-threshold", type=_bounded(float, 0.0, 1.0, hi_open=True), default=None,
                   help="point probability above which a detection counts (default 0.5)")
    r.add_argument("--presence-mass", type=_bounded(float, 0.0, 1e6), default=None,
                   help="probability mass over a +-3.9 mm box above which an undetected point is drawn as an "
                        "uncertain spot, up to 5 mm wide (networks with a point head; default: sarsr.sr.DEFAULT_PRESENCE_MASS; 0: none)")
    r.add_argument("--force", action="store_true", help="overwrite the output")
    r.set_defaults(func=_cmd_sr)

    rc = sub.add_parser("reconstruct", help="image a DCA1000 capture (config + positions), optionally super-resolve",
                        description="Read a capture folder (adc_data.bin or *_Raw_N.bin, a .cfg/.lua/.mmwave.json "
                                    "config, positions.csv), reconstruct on a plane and write image.h5 + image.png.",
                        epilog="Examples:\n  sarsr reconstruct scan01/ --z-mm 250 --out out/scan01\n"
                               "  sarsr reconstruct scan01/adc_data.bin --config s.cfg --positions p.csv --method empm "
                               "--lattice 200,200 --sr --out out/s",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rc.add_argument("capture", help="capture folder or .bin file")
    rc.add_argument("--out", required=True, help="output folder")
    rc.add_argument("--config", default=None, help="radar config (.cfg, .lua, .mmwave.json); default: found in the folder")
    rc.add_argument("--positions", default=None, help="positions (.csv, .npy, .mat); default: positions.* in the folder")
    rc.add_argument("--radar", default=None, help="radar chip (iwr1443, iwr1642, iwr6843, ...) for the byte layout")
    rc.add_argument("--device", dest="radar_device_deprecated", default=None, help=argparse.SUPPRESS)
    rc.add_argument("--method", default=None,
                    help="reconstruction method, a registered imager (sarsr.radar.list_imagers; default "
                         "backprojection, alias bp, any geometry) or a lattice method such as empm (--lattice)")
    rc.add_argument("--lattice", default=None, help="NX,NY virtual lattice for empm")
    rc.add_argument("--n", type=_bounded(int, 1, 100000), default=200, help="pixels per side (default 200)")
    rc.add_argument("--extent-mm", type=_bounded(float, 0.0, 1e5, lo_open=True), default=100.0, help="half-width of the image (mm, default 100)")
    rc.add_argument("--z-mm", type=_bounded(float, 0.0, 1e5, lo_open=True), default=250.0, help="image plane depth (mm, default 250)")
    rc.add_argument("--autofocus", action="store_true",
                    help="estimate the smooth position error from the echoes first (empm only); prints the "
                         "image entropy before / after")
    rc.add_argument("--sr", action="store_true", help="also super-resolve the image")
    rc.add_argument("--keep-input-points", nargs="?", const="always", default=None,
                    choices=("auto", "always", "never"),
                    help="with --sr (default auto): put back the bright input peaks the network erased, as `sarsr sr "
                         "--keep-input-points` ('always' = screening mode, recommended after --autofocus)")
    rc.add_argument("--model", default=None, help="SR model (registered name or checkpoint; default shipped)")
    rc.add_argument("--calibration", default=None, help="calibration JSON from `sarsr calibrate`")
    rc.add_argument("--allow-partial", action="store_true", help="read the complete frames of a truncated capture")
    rc.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    rc.set_defaults(func=_cmd_reconstruct)

    cb = sub.add_parser("calibrate", help="per-channel range/phase offsets from a corner-reflector capture",
                        description="Estimate per-virtual-channel range and phase offsets from a capture of a "
                                    "corner reflector at a known position; apply with `reconstruct --calibration`.",
                        epilog="Example: sarsr calibrate reflector_capture/ --reflector-mm 0,0,300 --out cal.json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    cb.add_argument("capture", help="capture folder or .bin file")
    cb.add_argument("--reflector-mm", required=True, help="reflector position X,Y,Z (mm) in the positions' frame")
    cb.add_argument("--out", required=True, help="calibration JSON to write")
    cb.add_argument("--config", default=None, help="radar config (default: found in the folder)")
    cb.add_argument("--positions", default=None, help="positions file (default: positions.* in the folder)")
    cb.add_argument("--radar", default=None, help="radar chip (iwr1443, ...) for the byte layout")
    cb.add_argument("--device", dest="radar_device_deprecated", default=None, help=argparse.SUPPRESS)
    cb.add_argument("--force", action="store_true", help="overwrite the output")
    cb.set_defaults(func=_cmd_calibrate)

    v = sub.add_parser("vision", help="recognition: train / evaluate / predict with the shared backbones",
                       description="Object recognition on radar images. `train` takes a config with "
                                   "task = \"classification\" (same conventions as `sarsr train`).",
                       epilog="Examples:\n  sarsr dataset recognition --count 2048 --out ~/.cache/sarsr/datasets/recog\n"
                              "  sarsr vision train recognition_shvit_s1\n"
                              "  sarsr vision evaluate --test DIR --model shvit=run/best.pt --progressive\n"
                              "  sarsr vision predict image.npy --model run/best.pt",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    vsub = v.add_subparsers(dest="action", metavar="ACTION", required=True)
    RD = argparse.RawDescriptionHelpFormatter
    _add_train_args(vsub.add_parser(
        "train", help="train a classifier (config with task = classification)", formatter_class=RD,
        description="Train a classifier through the shared trainer (checkpoints, exact resume, log.csv, loss.png).",
        epilog="Examples:\n  sarsr vision train recognition_shvit_s1\n"
               "  sarsr vision train recognition_shvit_s1 --set data.sr_model=srvit_hsm --out runs/shvit_sr\n"
               "  sarsr vision train recognition_vit_tiny --max-steps 100   # the same command resumes"))
    ve = vsub.add_parser(
        "evaluate", help="accuracy table (+ progressive recognition with --progressive)", formatter_class=RD,
        description="Top-1 accuracy, params, MACs and CPU ms of each classifier on a recognition test set; "
                    "with --progressive, accuracy vs fraction of the sweep and compute saved by token recycling.",
        epilog="Examples:\n  sarsr vision evaluate --test ~/.cache/sarsr/datasets/recognition_test \\\n"
               "      --model shvit=runs/shvit/best.pt --model shvit+sr=runs/shvit_sr/best.pt\n"
               "  sarsr vision evaluate --test DIR --model vit=runs/vit/best.pt --progressive "
               "--report docs/recognition.md")
    ve.add_argument("--test", required=True, help="recognition test set folder (sarsr dataset recognition ...)")
    ve.add_argument("--model", action="append", metavar="LABEL=CHECKPOINT",
                    help="a trained classifier (repeat for several)")
    ve.add_argument("--limit", type=COUNT, default=None, help="score only the first N records")
    ve.add_argument("--progressive", action="store_true", help="TORE sweep report for the first (token ViT) model")
    ve.add_argument("--steps", type=_bounded(int, 1, 10 ** 4), default=4, help="sweep steps for --progressive")
    ve.add_argument("--report", default=None, help="write a markdown report (+ .json, figure) here")
    ve.add_argument("--force", action="store_true", help="overwrite an existing report")
    vp = vsub.add_parser("predict", help="class of one image", formatter_class=RD,
                         description="Class probabilities of one radar image (.npy/.h5/.mat/PNG, complex or magnitude).",
                         epilog="Example:\n  sarsr vision predict scan.h5 --model runs/shvit/best.pt --var empm")
    vp.add_argument("input", help="image file (.npy, .h5, .mat, .png)")
    vp.add_argument("--model", dest="model_path", required=True, help="classifier checkpoint (run/best.pt)")
    vp.add_argument("--var", default=None, help="variable / dataset inside .h5 / .mat (default: guessed)")
    v.set_defaults(func=_cmd_vision)

    d = sub.add_parser("demo", help="simulate a freehand scan, reconstruct it, write a figure and metrics",
                       description="Simulate a freehand scan with position error, reconstruct it with EMPM, "
                                   "backprojection and planar RMA, and write demo.png + metrics.json.",
                       epilog="Example: sarsr demo --out out/demo --seed 3 --sigma-mm 2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--seed", type=SEED, default=0, help="random seed")
    d.add_argument("--sigma-mm", type=_bounded(float, 0.0, 1000.0), default=1.0, help="position-error std (mm)")
    d.add_argument("--snr-db", type=_bounded(float, -200.0, 300.0), default=20.0, help="SNR (dB)")
    d.add_argument("--size", default="paper", choices=["paper", "smoke"], help="scan size")
    d.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    d.add_argument("--model", default=None, help="SR network: registered name or checkpoint (default: shipped)")
    d.set_defaults(func=_cmd_demo)
    return p


def _worker_cause(text: str) -> str:
    """The cause of an error re-raised from a worker process: PyTorch's DataLoader wraps it as
    "Caught X in DataLoader worker process N. Original Traceback ... X: message"; a user wants
    the last line ("X: message" without the class path), not the cut-off traceback."""
    if text.startswith("Caught ") and "Original Traceback" in text:
        last = [line for line in text.strip().splitlines() if line.strip()][-1].strip()
        name, sep, rest = last.partition(": ")
        return f"{rest} (in a data-loading worker)" if sep else last
    return text


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from concurrent.futures.process import BrokenProcessPool

    from ._files import FolderBusy

    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, FileNotFoundError, PermissionError, OSError, FolderBusy, MemoryError,
            BrokenProcessPool) as exc:
        if args.debug:
            raise
        msg = " ".join(_worker_cause(str(exc)).split()) or type(exc).__name__
        if isinstance(exc, MemoryError):
            msg = f"out of memory ({msg}); try a smaller size"
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or ("requested and" in msg and "written" in msg):
            msg = (f"no space left on the disk ({msg}); nothing partial was kept: free space or write "
                   f"elsewhere (--out)")
        if isinstance(exc, BrokenProcessPool):
            msg = ("a worker process died (killed, or out of memory?); the completed shards are kept: run the "
                   "same command again to resume")
        print(f"sarsr {args.command}: error: {msg[:500]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"sarsr {args.command}: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130
    except Exception as exc:  # unexpected: one line, the traceback on request
        if args.debug:
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"sarsr {args.command}: unexpected error: {type(exc).__name__}: {msg} "
              f"(run again with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
