"""Progressive recognition during a scan with TORE token recycling.

A freehand sweep finalises the image region by region (here: strips of patch rows along the
sweep direction). Each newly final strip goes through the iterator blocks once; its tokens are
cached; only the aggregator re-runs. The compute is compared with re-running the full model on
the partial image at every step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ..models import count_macs
from ..nn import TokenRecycler
from ..models.complexity import _custom_formulas

__all__ = ["sweep_masks", "progressive_predictions", "progressive_cost"]


def sweep_masks(gh: int, gw: int, steps: int) -> list[torch.Tensor]:
    """Boolean (gh, gw) masks of the patch rows finalised at each of ``steps`` sweep steps."""
    edges = np.linspace(0, gh, steps + 1).round().astype(int)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            m = torch.zeros(gh, gw, dtype=torch.bool)
            m[a:b] = True
            out.append(m)
    return out


@torch.no_grad()
def progressive_predictions(model, x: torch.Tensor, steps: int = 4, split: int | None = None):
    """Logits after each sweep step (list of (B, classes)), using a TokenRecycler that splits
    ``model`` (a token ViT such as ``vit_radar``) at ``split`` (default: half its depth)."""
    model.eval()
    split = len(model.blocks) // 2 if split is None else split
    rec = TokenRecycler(model, split)
    gh, gw = model.patch_grid(*x.shape[-2:])
    return [rec.add(x, m) for m in sweep_masks(gh, gw, steps)]


def progressive_cost(model, image_size, steps: int = 4, split: int | None = None) -> dict:
    """MACs of the recycling path summed over the sweep vs running the full model at every step
    (on the image so far, zero elsewhere)."""
    split = len(model.blocks) // 2 if split is None else split
    x = torch.randn(1, *image_size)
    model.eval()
    rec = TokenRecycler(model, split)
    per_step = []
    with torch.no_grad():
        for m in sweep_masks(*model.patch_grid(*x.shape[-2:]), steps):
            with FlopCounterMode(display=False, custom_mapping=_custom_formulas()) as fc:
                rec.add(x, m)
            per_step.append(int(fc.get_total_flops() // 2))
    recycled = sum(per_step)
    full = count_macs(model, image_size) * len(per_step)
    return {"steps": len(per_step), "split": split, "recycled_macs": int(recycled), "rerun_macs": int(full),
            "recycled_per_step": per_step, "saved_fraction": 1 - recycled / full}
