"""The task interface of the generic trainer and its registry (BasicSR-style: the training loop
imports no task; a config's ``task = "..."`` names a registered one).

A task is a class built from the run config with:

- ``primary``: the validation metric that selects ``best.pt`` by default (higher is better;
  ``train.select`` picks another);
- ``metrics``: the names ``validate`` returns, in ``log.csv`` column order;
- ``loss``: ``loss(pred, target) -> scalar tensor``;
- ``model_kwargs()``: builder keyword arguments the data implies (``in_chans``, ``num_classes``);
  recorded in the checkpoint's config as ``_build`` so :func:`sarsr.models.load_run` rebuilds
  the model;
- ``datasets() -> (train, val)``: map-style datasets; the train one takes
  ``(position, augmentation_seed)`` items;
- ``validate(model, val_ds, device) -> dict`` of metric name -> value (``val_*``);
- optionally ``forward(net, model, x, step)`` for a custom training forward.

Tasks register with :func:`register_task`. ``super_resolution`` lives in
:mod:`sarsr.train.sr_task`; ``classification`` and ``segmentation`` register when
:mod:`sarsr.vision` is imported (:func:`get_task` imports the known providers on demand).
"""

from __future__ import annotations

import importlib

__all__ = ["TASKS", "register_task", "get_task", "list_tasks"]

#: name -> task class
TASKS: dict = {}
#: Modules that register tasks when imported, for tasks a config may name before they are loaded.
PROVIDERS = {"super_resolution": "sarsr.train.sr_task", "point_detection": "sarsr.train.detect_task",
             "classification": "sarsr.vision.task",
             "segmentation": "sarsr.vision.dense"}


def register_task(name: str):
    """Class decorator: make ``task = name`` in a config use this class."""
    def deco(cls):
        if name in TASKS and TASKS[name] is not cls:
            raise ValueError(f"task {name!r} is already registered ({TASKS[name].__name__})")
        TASKS[name] = cls
        cls.task_name = name
        return cls
    return deco


def get_task(cfg: dict):
    """The task object for a run config (``cfg["task"]``, default ``"super_resolution"``)."""
    name = cfg.get("task", "super_resolution")
    if name not in TASKS and name in PROVIDERS:
        importlib.import_module(PROVIDERS[name])
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; registered: {', '.join(sorted(set(TASKS) | set(PROVIDERS)))}")
    return TASKS[name](cfg)


def list_tasks() -> list[str]:
    return sorted(set(TASKS) | set(PROVIDERS))
