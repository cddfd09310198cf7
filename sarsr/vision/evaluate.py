"""Recognition evaluation: accuracy per classifier (params, MACs, CPU ms) and progressive
accuracy vs fraction of the sweep with the compute saved by token recycling."""

from __future__ import annotations

import numpy as np
import torch

from ..models import count_macs, count_params, cpu_latency_ms
from . import load_classifier
from .dataset import RecognitionDataset
from .progressive import progressive_cost, progressive_predictions
from .task import accuracy

__all__ = ["evaluate_classifiers", "progressive_report"]


def evaluate_classifiers(test_root, models: dict, limit=None, timing=True) -> list[dict]:
    rows = []
    for label, spec in models.items():
        net = load_classifier(spec) if not isinstance(spec, torch.nn.Module) else spec
        cfg = getattr(net, "sarsr_config", None)
        size = cfg["data"]["size"] if cfg else None
        sr = cfg["data"]["sr_model"] if cfg else ""
        ds = RecognitionDataset(test_root, size=size, sr_model=sr or None)
        if limit:
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
    net = load_classifier(model) if not isinstance(model, torch.nn.Module) else model
    if not hasattr(net, "patch_grid"):
        raise ValueError("progressive recognition needs a token ViT (vit_tiny / vit_small)")
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
    return {"fraction": [(s + 1) / steps for s in range(steps)], "accuracy": (correct / n).tolist(), "n": n, **cost}
