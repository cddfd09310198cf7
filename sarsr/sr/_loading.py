"""Resolving the networks :mod:`sarsr.sr` runs: a registered name (its shipped weights), a
training run's checkpoint path, or None (the default); one cache per process."""

from __future__ import annotations

import os

import torch

from ..models import resolve

#: Registered network whose shipped weights :func:`sarsr.sr.super_resolve` uses by default.
DEFAULT_SR_MODEL = "srvit_hsm"
_CACHE: dict = {}


def _build_net(spec, default: str, task: str, what: str) -> torch.nn.Module:
    """The network ``spec`` names (:func:`sarsr.models.resolve`): None (the shipped ``default``
    weights), a registered name (its shipped weights) or a training run's checkpoint (the
    architecture from the run's effective config, ``task`` checked)."""
    try:
        return resolve(default if spec is None else spec, task)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no {what} file {str(exc).removeprefix('no model file ')}") from None


def _check_spec(spec, what: str):
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"{what} must be a registered name, a checkpoint path or an nn.Module, got "
                         f"{type(spec).__name__}")

