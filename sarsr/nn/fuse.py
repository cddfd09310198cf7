"""Inference re-parameterisation: fold every foldable unit of a model."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["reparameterize"]


def _fuse_method(module: nn.Module):
    """``module``'s ``fuse()`` method, or None (a submodule named ``fuse`` is not the protocol)."""
    fuse = getattr(module, "fuse", None)
    return fuse if callable(fuse) and not isinstance(fuse, nn.Module) else None


@torch.no_grad()
def _fuse_children(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        _fuse_children(child)
        fuse = _fuse_method(child)
        if fuse is not None:
            new = fuse()
            if new is not None and new is not child:
                setattr(module, name, new)


@torch.no_grad()
def reparameterize(model: nn.Module) -> nn.Module:
    """Switch ``model`` to eval mode and fold, bottom-up, every module exposing ``fuse()``
    (BN into convs/linears, identity and gated residuals into depthwise kernels). Returns the
    model (modified in place); outputs equal the unfused eval-mode model to float rounding.
    """
    model.eval()
    _fuse_children(model)
    fuse = _fuse_method(model)
    if fuse is not None:
        model = fuse() or model
    return model
