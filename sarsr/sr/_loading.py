"""Resolving the networks :mod:`sarsr.sr` runs: a registered name (its shipped weights), a
training run's checkpoint path, or None (the default); one cache per process."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..models import create_model, load_run

#: Registered network whose shipped weights :func:`sarsr.sr.super_resolve` uses by default.
DEFAULT_SR_MODEL = "srvit_hsm"
_CACHE: dict = {}


def _build_net(spec, default: str, task: str, what: str) -> torch.nn.Module:
    """The network ``spec`` names: None (the shipped ``default`` weights), a registered name (its
    shipped weights) or a training run's checkpoint / state-dict path (the architecture from the
    run's effective config, ``task`` checked)."""
    if spec is None or (isinstance(spec, str) and not Path(spec).suffix):
        return create_model(spec or default, pretrained=True)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"no {what} file {path}")
    return load_run(path, tasks=(task,))[0]


def _check_spec(spec, what: str):
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"{what} must be a registered name, a checkpoint path or an nn.Module, got "
                         f"{type(spec).__name__}")

