"""Recognition evaluation: accuracy per classifier (params, MACs, CPU ms) and progressive
accuracy vs fraction of the sweep with the compute saved by token recycling."""

from __future__ import annotations

import numpy as np
import torch

from .._files import save_figure
from ..radar.imaging.imagers import DEFAULT_INPUT, get_imager
from ..models import count_macs, count_params, cpu_latency_ms
from . import load_classifier
from .dataset import RecognitionDataset
from .progressive import progressive_cost, progressive_predictions
from .task import accuracy
from ..train.evaluate import report_finish, report_head

__all__ = ["evaluate_classifiers", "progressive_report", "write_recognition_report", "plot_progressive"]


def evaluate_classifiers(test_root, models: dict, limit=None, timing=True) -> list[dict]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be an integer >= 1 (or None for every record), got {limit!r}")
    rows = []
    for label, spec in models.items():
        net = load_classifier(spec, tasks=("classification",)) if not isinstance(spec, torch.nn.Module) else spec
        cfg = getattr(net, "sarsr_config", None)
        size = cfg["data"]["size"] if cfg else None
        sr = cfg["data"]["sr_model"] if cfg else ""
        ds = RecognitionDataset(test_root, size=size, sr_model=sr or None)
        if limit is not None:
            ds.indices = ds.indices[:limit]
        shape = (1, *ds[0][0].shape[-2:])
        rows.append(dict(method=label, model=net.default_cfg.get("name"), sr_input=bool(sr), n=len(ds),
                         accuracy=accuracy(net, ds, "cpu"), params=count_params(net),
                         gmacs=count_macs(net, shape) / 1e9,
                         cpu_ms=cpu_latency_ms(net, shape, repeat=3) if timing else None))
    return rows


@torch.no_grad()
def progressive_report(model, test_root, steps: int = 4, split=None, limit=None) -> dict:
    """Accuracy after each sweep step (fraction of patch rows final) and MACs recycled vs re-run."""
    net = load_classifier(model, tasks=("classification",)) if not isinstance(model, torch.nn.Module) else model
    if not hasattr(net, "patch_grid"):
        raise ValueError("progressive recognition needs a token ViT (vit_radar / vit_tiny / vit_small)")
    cfg = getattr(net, "sarsr_config", None)
    ds = RecognitionDataset(test_root, size=cfg["data"]["size"] if cfg else None)
    n = len(ds) if limit is None else min(limit, len(ds))
    correct = np.zeros(steps)
    for i in range(n):
        x, y = ds[i]
        outs = progressive_predictions(net, x[None], steps, split)
        for s, o in enumerate(outs):
            correct[s] += int(o.argmax(-1).item() == int(y))
    cost = progressive_cost(net, tuple(ds[0][0].shape), steps, split)
    return {"method": str(model) if not isinstance(model, torch.nn.Module) else "", "fraction": [(s + 1) / steps for s in range(steps)], "accuracy": (correct / n).tolist(), "n": n, **cost}


def plot_progressive(rep: dict, path) -> None:
    """Accuracy vs fraction of the sweep (left) and cumulative GMAC, recycled vs re-run (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = np.asarray(rep["fraction"]) * 100
    steps = len(f)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(f, rep["accuracy"], "o-")
    a.set(xlabel="sweep done (%)", ylabel="top-1 accuracy", ylim=(0, 1.02), title="progressive recognition")
    a.axhline(1 / 8, ls=":", c="gray", lw=1)
    a.grid(alpha=0.3)
    per_step_rerun = rep["rerun_macs"] / steps / 1e9
    b.plot(f, per_step_rerun * np.arange(1, steps + 1), "s-", label="re-run full model")
    b.plot(f, np.cumsum(rep.get("recycled_per_step", [rep["recycled_macs"] / steps] * steps)) / 1e9, "o-",
           label="token recycling")
    b.set(xlabel="sweep done (%)", ylabel="cumulative GMAC", title="compute")
    b.legend()
    b.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def write_recognition_report(path, rows: list[dict], test_root, progressive: dict | None = None,
                             command: str = "") -> None:
    """Markdown accuracy table (+ JSON beside it) and, if given, the progressive-recognition
    curve (figure + table)."""

    path, lines = report_head(path, "Recognition evaluation", test_root, rows[0]["n"] if rows else 0,
                              "8 classes (chance 12.5 %). Input: |EMPM| normalised by its maximum, or the same "
                              "image super-resolved first (SR input).", command)
    lines += ["| classifier | backbone | input | top-1 accuracy | params | GMAC | CPU ms / image |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["model"] or "", r["sr_input"])):
        ms = f"{r['cpu_ms']:.1f}" if r.get("cpu_ms") else "-"
        inp = get_imager(DEFAULT_INPUT).label
        lines.append(f"| {r['method']} | {r['model']} | {inp + ' + SR' if r['sr_input'] else inp} | "
                     f"{r['accuracy']:.3f} | {r['params']:,} | {r['gmacs']:.3f} | {ms} |")
    if progressive:
        fig = path.with_name(path.stem + "_progressive.png")
        plot_progressive(progressive, fig)
        lines += ["", "## Progressive recognition during the sweep (token recycling)", "",
                  f"Classifier `{progressive.get('method', '')}`: iterator = first {progressive['split']} blocks, "
                  f"aggregator = the rest. Each newly final strip of patch rows runs the iterator once; only "
                  f"the aggregator re-runs.", "", f"![progressive]({fig.name})", "",
                  "| sweep done | " + " | ".join(f"{f:.0%}" for f in progressive["fraction"]) + " |",
                  "|---|" + "---|" * len(progressive["fraction"]),
                  "| accuracy | " + " | ".join(f"{a:.3f}" for a in progressive["accuracy"]) + " |", "",
                  f"Compute over the whole sweep: {progressive['recycled_macs'] / 1e9:.3f} GMAC with recycling vs "
                  f"{progressive['rerun_macs'] / 1e9:.3f} GMAC re-running the full model at every step "
                  f"(**{progressive['saved_fraction']:.0%} saved**)."]
    report_finish(path, lines, "sarsr vision evaluate", {"rows": rows, "progressive": progressive})
