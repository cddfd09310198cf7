"""Exponential moving average (EMA) of a model's weights, for validation and the saved weights.

A network's weights at one step carry the noise of the last few batches: validation scores of
consecutive checkpoints jump by ~1 dB (see any SR ``log.csv``), and picking the best of them
rewards that noise. The EMA ``w_ema <- d w_ema + (1 - d) w`` after every optimizer step
averages over ~1 / (1 - d) steps; it does not change the training trajectory (no gradients,
no random numbers), so a run with and without it trains the same weights.
"""

from __future__ import annotations

import copy

import torch

__all__ = ["WeightEMA"]


class WeightEMA:
    """EMA of ``model``'s floating-point parameters and buffers (others are copied).

    Parameters
    ----------
    model : torch.nn.Module
        The trained module (not a compiled or DDP wrapper); the EMA starts at its weights.
    decay : float in (0, 1)
        Per-step decay ``d``; the first updates use ``min(d, (1 + n) / (10 + n))`` (n = updates
        so far) so the average is not dominated by the starting weights.

    Attributes
    ----------
    module : torch.nn.Module
        A copy of ``model`` in eval mode holding the averaged weights.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.updates = 0
        self._pairs = list(zip(self.module.state_dict().values(), model.state_dict().values()))

    @torch.no_grad()
    def update(self) -> None:
        """Fold the model's current weights into the average (call after each optimizer step)."""
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for avg, cur in self._pairs:
            if avg.dtype.is_floating_point:
                avg.lerp_(cur, 1.0 - d)
            else:
                avg.copy_(cur)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
