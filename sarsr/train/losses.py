"""Pixel losses (mean over pixels): ``l1`` (the paper's), ``charbonnier`` (eps 1e-3), ``mse``."""

import torch

__all__ = ["LOSSES", "get_loss"]


def l1(pred, target):
    return (pred - target).abs().mean()


def charbonnier(pred, target, eps=1e-3):
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def mse(pred, target):
    return ((pred - target) ** 2).mean()


LOSSES = {"l1": l1, "charbonnier": charbonnier, "mse": mse}


def get_loss(name):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose from {sorted(LOSSES)}") from None
