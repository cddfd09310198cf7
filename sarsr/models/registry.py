"""Model registry and factory (timm-style): ``@register_model`` on a builder function,
``create_model(name, **overrides)``, ``list_models(pattern)``.

Each entry carries its default config (the builder's keyword defaults plus metadata such as the
task, the input size used for benchmarks and the paper); ``create_model`` merges overrides into
it, builds the model and attaches ``model.default_cfg``. Shipped weights live next to this file
in ``weights/<name>.pt`` (a plain state dict, with ``weights/<name>.json`` holding the builder
options, training config and evaluation) and load with ``pretrained=True``.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
import json

import torch
from torch import nn

from ..checkpoint import load_checkpoint, model_state  # noqa: F401  (model_state re-exported)
from ..transforms import WORKING_SIZE, preprocess_input

__all__ = ["register_model", "create_model", "input_transform", "list_models", "model_entry", "ModelEntry",
           "weights_path", "names_shipped_weights", "model_state"]

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    task: str  # "classification" | "super_resolution"
    input_size: tuple[int, int, int]  # (C, H, W) used by `sarsr bench models`
    paper: str = ""
    cfg: dict = field(default_factory=dict)  # builder keyword defaults


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(task: str, input_size, paper: str = ""):
    """Decorator registering ``fn`` under its ``__name__``; its keyword defaults are the
    entry's default config."""

    def deco(fn):
        sig = inspect.signature(fn)
        cfg = {k: p.default for k, p in sig.parameters.items()
               if p.default is not inspect.Parameter.empty}
        if fn.__name__ in _REGISTRY:
            raise ValueError(f"model {fn.__name__!r} registered twice")
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, fn, task, tuple(input_size), paper, cfg)
        return fn

    return deco


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Sorted names of registered models matching a shell-style ``pattern`` (and ``task``);
    several patterns separated by commas match any of them (``"srvit_hsm,point_*"``)."""
    pats = [p.strip() for p in str(pattern).split(",") if p.strip()]
    return sorted(n for n, e in _REGISTRY.items()
                  if any(fnmatch.fnmatch(n, p) for p in pats) and (task is None or e.task == task))


def model_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = [n for n in _REGISTRY if n.split("_")[0] == name.split("_")[0]] or list_models()
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(close)}") from None


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.pt"


def names_shipped_weights(spec) -> bool:
    """Whether a weights reference (``train.init``, a stage chain) is a registered model's
    name, meaning the weights shipped with the package, rather than a file path: a string
    without suffix or folder (``"srvit_hsm"``)."""
    from .runs import parse_spec  # lazy: cycle (runs imports the registry); one rule for names vs files

    try:
        return isinstance(spec, str) and parse_spec(spec)[0] == "shipped"
    except ValueError:
        return False


class ModelOptionError(ValueError, TypeError):
    """A model option the builder does not take (a ValueError for the CLI, a TypeError as before)."""


def input_transform(model, size: int | None = WORKING_SIZE):
    """The input transform ``model`` was trained with (:func:`sarsr.transforms.preprocess_input`),
    bound to its default configuration: ``f(image) -> (C, size, size)`` float32 tensor, C =
    ``default_cfg["in_chans"]`` (1: magnitude, 2: real and imaginary parts), normalised to 1.
    ``model``: a network from :func:`create_model` / :func:`sarsr.models.resolve`, or its
    ``default_cfg`` dict. ``size``: the working grid side (None keeps the image's size)."""
    cfg = model if isinstance(model, dict) else getattr(model, "default_cfg", {})
    return functools.partial(preprocess_input, size=size, complex_input=cfg.get("in_chans", 1) == 2)


def create_model(name: str, pretrained: bool = False, checkpoint_path: str | Path | None = None,
                 **overrides) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name : registered name (see :func:`list_models`).
    pretrained : load the weights shipped with the package (``weights/<name>.pt``).
    checkpoint_path : load a state dict (or a training checkpoint with a ``"model"`` key) instead.
    **overrides : builder keyword arguments replacing the defaults (``None`` values are ignored),
        e.g. ``num_classes=10, in_chans=1``.
    """
    entry = model_entry(name)
    if pretrained and checkpoint_path is None:  # shipped weights may come with non-default options
        meta = weights_path(name).with_suffix(".json")
        if meta.exists():
            shipped = json.loads(meta.read_text()).get("options", {})
            overrides = {**shipped, **overrides}
    unknown = set(overrides) - set(entry.cfg)
    if unknown:
        raise ModelOptionError(f"{name}: unknown option(s) {sorted(unknown)}; valid: {sorted(entry.cfg)}")
    cfg = {**entry.cfg, **{k: v for k, v in overrides.items() if v is not None}}
    model = entry.builder(**cfg)
    model.default_cfg = {"name": name, "task": entry.task, "input_size": entry.input_size,
                         "paper": entry.paper, **cfg}
    path = checkpoint_path
    if pretrained and path is None:
        path = weights_path(name)
        if not path.exists():
            have = sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt")) if WEIGHTS_DIR.exists() else []
            raise FileNotFoundError(f"no shipped weights for {name!r} (shipped: {have or 'none'})")
    if path is not None:
        model.load_state_dict(model_state(load_checkpoint(path)))
    return model


