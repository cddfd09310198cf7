"""Loading a trained run: one place that turns a checkpoint file into ``(model, config)``.

A run folder (``sarsr train``) holds ``last.pt`` (training checkpoint with the effective config),
``best.pt`` / ``model.pt`` (state dicts) and ``config.toml``. The architecture is rebuilt from
the config: ``config["_build"]`` (builder keyword arguments the trainer recorded) or, for runs
from before it was recorded, the rule the tasks use (``in_chans`` 2 for complex SR input, else
1; ``num_classes`` = object classes (+1 background for segmentation)).
"""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint, model_state, run_config
from .registry import create_model

__all__ = ["load_run", "build_kwargs"]


def build_kwargs(cfg: dict) -> dict:
    """Builder keyword arguments of a run's model (see the module docstring)."""
    if cfg.get("_build"):
        return dict(cfg["_build"])
    kw = {"in_chans": 2 if cfg.get("data", {}).get("complex_input") else 1}
    task = cfg.get("task", "super_resolution")
    if task in ("classification", "segmentation"):
        from ..radar.masks import OBJECT_CLASSES

        kw["num_classes"] = len(OBJECT_CLASSES) + (task == "segmentation")
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
