"""Loading a trained run: one place that turns a checkpoint file into ``(model, config)``.

A run folder (``sarsr train``) holds ``last.pt`` (training checkpoint with the effective config),
``best.pt`` / ``model.pt`` (state dicts) and ``config.toml``. The architecture is rebuilt from
the config: ``config["_build"]`` (builder keyword arguments the trainer recorded) or, for runs
from before it was recorded, the rule the tasks use (``in_chans`` 2 for complex SR input, else
1; ``num_classes`` = the 8 object classes of those runs (+1 background for segmentation)).
"""

from __future__ import annotations

from pathlib import Path

import os

from torch import nn

from ..checkpoint import CheckpointError, load_checkpoint, model_state, run_config
from .registry import create_model, model_entry, weights_path

__all__ = ["load_run", "build_kwargs", "resolve", "resolve_state", "parse_spec", "FILE_PREFIX", "SHIPPED_PREFIX"]


#: Object classes of the recognition runs made before the trainer recorded ``_build`` (the
#: 8 of :data:`sarsr.radar.geometry.masks.OBJECT_CLASSES` then). A number, not an import: ``models``
#: depends on nothing in ``radar``, and a later class list must not change how old runs load.
LEGACY_OBJECT_CLASSES = 8


def build_kwargs(cfg: dict) -> dict:
    """Builder keyword arguments of a run's model (see the module docstring)."""
    if cfg.get("_build"):
        return dict(cfg["_build"])
    kw = {"in_chans": 2 if cfg.get("data", {}).get("complex_input") else 1}
    task = cfg.get("task", "super_resolution")
    if task in ("classification", "segmentation"):
        kw["num_classes"] = LEGACY_OBJECT_CLASSES + (task == "segmentation")
    return {**kw, **cfg["model"].get("options", {})}


#: What each task's networks do, for the one-line refusal of a checkpoint of another task.
_TASK_WORDS = {"super_resolution": "a super-resolution network", "classification": "a classifier",
               "segmentation": "a dense (segmentation) network"}


def load_run(path, device=None, tasks=None):
    """``(model, config)`` from a run's ``model.pt``, ``best.pt`` or ``last.pt``.

    The config is the one in the checkpoint when it carries one (``last.pt``), else the run
    folder's (:func:`sarsr.checkpoint.run_config`). The model is returned in eval mode on
    ``device`` (default CPU). ``tasks``: the run tasks the caller can use (e.g.
    ``("super_resolution",)``); a checkpoint of another task is refused naming what it is.
    Raises ``FileNotFoundError`` / :class:`CheckpointError` (one line) when the file is
    missing, not plain weights, of another task, or does not fit the configured model.
    """
    p = Path(path)
    ck = load_checkpoint(p)
    cfg = ck["config"] if isinstance(ck, dict) and isinstance(ck.get("config"), dict) else None
    if cfg is None:
        if not ((p.parent / "last.pt").exists() or (p.parent / "config.toml").exists()):
            raise FileNotFoundError(f"{p}: cannot tell the architecture (no config.toml or last.pt beside it)")
        cfg = run_config(p.parent)
    task = cfg.get("task", "super_resolution")
    if tasks is not None and task not in tasks:
        want = " or ".join(_TASK_WORDS.get(t, t) for t in tasks)
        raise CheckpointError(f"{p}: holds {_TASK_WORDS.get(task, task)} ({cfg['model']['name']}, task {task!r}), "
                              f"not {want}")
    net = create_model(cfg["model"]["name"], **build_kwargs(cfg))
    try:
        net.load_state_dict(model_state(ck))
    except (RuntimeError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"{p}: weights do not fit model {cfg['model']['name']!r} "
                              f"({str(exc).splitlines()[0][:160]})") from None
    return net.eval().to(device or "cpu"), cfg


#: Explicit prefixes of a model spec (timm-style): ``file:`` a checkpoint path, ``shipped:`` a
#: registered model's shipped weights. Without one, a string with a suffix or a folder is a
#: file, a bare name a registered model.
FILE_PREFIX, SHIPPED_PREFIX = "file:", "shipped:"


def parse_spec(spec) -> tuple[str, str]:
    """``("shipped", name)`` or ``("file", path)`` for a model spec (see :data:`FILE_PREFIX`);
    ValueError for anything that is not a string or a path."""
    if not isinstance(spec, (str, os.PathLike)) or isinstance(spec, bool):
        raise ValueError(f"a model is a registered name or a checkpoint path, got {type(spec).__name__}")
    s = os.fspath(spec)
    if s.startswith(FILE_PREFIX):
        return "file", os.path.expanduser(s[len(FILE_PREFIX):])
    if s.startswith(SHIPPED_PREFIX):
        return "shipped", s[len(SHIPPED_PREFIX):]
    if not s.strip():
        raise ValueError("empty model spec: give a registered name or a checkpoint path")
    if isinstance(spec, os.PathLike) or "/" in s or os.sep in s or Path(s).suffix:
        return "file", os.path.expanduser(s)
    return "shipped", s


def resolve(spec, task=None, device=None):
    """The one way every loader turns a model spec into a network, in eval mode on ``device``.

    ``spec``: an ``nn.Module`` (returned as is, in eval mode), a registered name (its shipped
    weights; ``shipped:NAME``), or a training run's checkpoint (``model.pt`` / ``best.pt`` /
    ``last.pt``; ``file:PATH``, or any string with a suffix or a folder), whose architecture
    comes from the run's config. ``task``: the task (or tuple of tasks) the caller can use; a
    model of another task is refused in one line naming what it is. The network carries its run
    config as ``sarsr_config`` (None for shipped weights).
    """
    if isinstance(spec, nn.Module):
        return spec.eval()
    tasks = (task,) if isinstance(task, str) else (tuple(task) if task else None)
    kind, what = parse_spec(spec)
    if kind == "shipped":
        entry = model_entry(what)
        if tasks and entry.task not in tasks:
            raise ValueError(f"{what} is {_TASK_WORDS.get(entry.task, entry.task)}, not "
                             f"{' or '.join(_TASK_WORDS.get(t, t) for t in tasks)}")
        net = create_model(what, pretrained=True)
        net.sarsr_config = None
    else:
        p = Path(what)
        if not p.exists():
            raise FileNotFoundError(f"no model file {p}")
        net, cfg = load_run(p, tasks=tasks)
        net.sarsr_config = cfg
    return net.to(device or "cpu").eval()


def resolve_state(spec, device=None) -> dict:
    """The weights a spec names, as a state dict (``train.init``): a registered name's shipped
    weights, or a checkpoint file (a state dict, or a training checkpoint's ``"model"``)."""
    kind, what = parse_spec(spec)
    path = weights_path(what) if kind == "shipped" else Path(what)
    if kind == "shipped" and not path.is_file():
        raise FileNotFoundError(f"no shipped weights for a model named {what!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return model_state(load_checkpoint(path, map_location=device))
