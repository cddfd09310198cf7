"""The ``sarsr`` command line. ``sarsr --help`` lists the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class CLIError(Exception):
    """An error reported to the user as one line, exit code 2."""


def _cmd_bench(args) -> int:
    from .bench import bench_models, bench_radar, format_model_rows, format_rows

    if args.what == "models":
        import torch

        size = f" --size {args.size}" if args.size else ""
        print(f"sarsr bench models --models '{args.models}'{size} (torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads, fp32, batch 1)", flush=True)
        rows = bench_models(args.models, int(args.size) if args.size else None, repeat=args.repeat,
                            progress=lambda m: print("  running " + m, flush=True))
        print(format_model_rows(rows))
        return 0
    if args.size and args.size not in ("paper", "small", "smoke"):
        raise CLIError(f"bench radar --size must be paper, small or smoke, not {args.size!r}")
    args.size = args.size or "paper"
    import numba

    print(f"sarsr bench radar --size {args.size} (numba threads: {numba.get_num_threads()})", flush=True)
    rows = bench_radar(args.size, repeat=args.repeat, progress=lambda m: print("  running " + m, flush=True))
    print(format_rows(rows))
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise CLIError(f"output folder {out} is not empty; pass --force to overwrite")
    res = run_demo(out, seed=args.seed, sigma_mm=args.sigma_mm, snr_db=args.snr_db, size=args.size)
    print("PSNR vs label (dB): " + ", ".join(f"{k} {v:.2f}" for k, v in res["psnr_db"].items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
                              "  sarsr bench models\n  sarsr bench models --models 'srvit*' --size 256",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("what", choices=["radar", "models"], help="what to benchmark")
    b.add_argument("--size", default=None,
                   help="radar: paper (default; 40,000 channels, 200x200 image, 1,000 scatterers), "
                        "small or smoke. models: square input side in pixels (default: each "
                        "model's registered input size)")
    b.add_argument("--models", default="*", help="models: shell pattern of model names (default all)")
    b.add_argument("--repeat", type=int, default=2, help="timed repetitions")
    b.set_defaults(func=_cmd_bench)

    d = sub.add_parser("demo", help="simulate a freehand scan, reconstruct it, write a figure and metrics",
                       description="Simulate a freehand scan with position error, reconstruct it with EMPM, "
                                   "backprojection and planar RMA, and write demo.png + metrics.json.",
                       epilog="Example: sarsr demo --out out/demo --seed 3 --sigma-mm 2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--seed", type=int, default=0, help="random seed")
    d.add_argument("--sigma-mm", type=float, default=1.0, help="position-error std (mm)")
    d.add_argument("--snr-db", type=float, default=20.0, help="SNR (dB)")
    d.add_argument("--size", default="paper", choices=["paper", "smoke"], help="scan size")
    d.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, FileNotFoundError, PermissionError) as exc:
        if args.debug:
            raise
        print(f"sarsr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
