"""Run configuration files (TOML; the shipped ones in ``sarsr/train/configs``): one typed
schema, one loader, one ``--set key=value`` override syntax, errors naming the key.

Schema (defaults in brackets); unknown keys are rejected naming the key::

    name = "srvit_hsm_paper"                  # run name (required)
    task = "super_resolution"                 # or "classification" / "segmentation" (sarsr.vision)
    [model]      name (required), options = {..}  # create_model(name, **options)
    [data]       train (required: dataset folder), source ["empm"], size [256], crop [128],
                 val_count [128] (first records held out for validation), complex_input [false],
                 num_workers [2], sr_model [""] (classification: super-resolve inputs first),
                 sweep_training [0.0] (classification with a token ViT: fraction of batches
                 trained on a partial sweep through token recycling, single process),
                 verify [true] (check the shards' CRC32 checksums when the run starts)
    [train]      batch_size [8], steps [20000], lr [1e-3], optimizer ["adam"|"adamw"],
                 weight_decay [0], betas [[0.9, 0.999]], schedule ["cosine"|"multistep"|"constant"],
                 milestones [[]], gamma [0.5], warmup_steps [0], loss ["l1"|"charbonnier"|"mse"],
                 seed [0], checkpoint_every [250], val_every [1000], log_every [25],
                 amp [true] (CUDA only), grad_clip [0 = off], compile [false] (torch.compile
                 the training forward/backward, single process: ~1.6x faster steps on CPU,
                 `sarsr bench train`), init [""] (fine-tune: start
                 from the model weights of a checkpoint, e.g. another run's best.pt, with a
                 fresh optimizer and schedule; ignored when resuming), select [""] (the
                 validation metric that picks best.pt, higher is better; "" = the task's primary,
                 e.g. "val_score" for super-resolution)
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_config", "parse_sets", "CONFIG_DIR", "DEFAULTS", "ConfigError"]

CONFIG_DIR = Path(__file__).parent / "train" / "configs"
_REQ = object()
DEFAULTS = {
    "name": _REQ,
    "task": "super_resolution",
    "model": {"name": _REQ, "options": {}},
    "data": {"train": _REQ, "source": "empm", "size": 256, "crop": 128, "val_count": 128,
             "complex_input": False, "num_workers": 2, "sr_model": "",
             "sweep_training": 0.0, "verify": True},
    "train": {"batch_size": 8, "steps": 20000, "lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0,
              "betas": [0.9, 0.999], "schedule": "cosine", "milestones": [], "gamma": 0.5,
              "warmup_steps": 0, "loss": "l1", "seed": 0, "checkpoint_every": 250, "val_every": 1000,
              "log_every": 25, "amp": True, "grad_clip": 0.0, "init": "", "compile": False,
              "select": ""},
}
_CHOICES = {"task": ("super_resolution", "classification", "segmentation"), "train.optimizer": ("adam", "adamw"), "train.schedule": ("cosine", "multistep", "constant"),
            "train.loss": ("l1", "charbonnier", "mse", "l1_peak"), "data.source": ("empm", "backprojection", "rma", "input")}


class ConfigError(ValueError):
    pass


def _merge(defaults, given, prefix, source):
    out = {}
    for k, v in given.items():
        full = f"{prefix}{k}"
        if k not in defaults:
            raise ConfigError(f"{source}: unknown key '{full}' (valid: {', '.join(sorted(defaults))})")
        d = defaults[k]
        if isinstance(d, dict) and k != "options":
            if not isinstance(v, dict):
                raise ConfigError(f"{source}: '{full}' must be a table")
            out[k] = _merge(d, v, full + ".", source)
            continue
        if d is not _REQ and d is not None and not isinstance(d, dict):
            ok = isinstance(v, type(d)) or (isinstance(d, float) and isinstance(v, int))
            if isinstance(d, bool) != isinstance(v, bool) or not ok:
                raise ConfigError(f"{source}: {full}: expected {type(d).__name__}, got {v!r}")
        if full in _CHOICES and v not in _CHOICES[full]:
            raise ConfigError(f"{source}: {full}: {v!r} not in {_CHOICES[full]}")
        out[k] = v
    for k, d in defaults.items():
        if k not in out:
            if d is _REQ:
                raise ConfigError(f"{source}: missing required key '{prefix}{k}'")
            out[k] = copy.deepcopy(d) if not isinstance(d, dict) or k == "options" else _merge(d, {}, f"{prefix}{k}.", source)
    return out


def load_config(path_or_name, overrides: dict | None = None) -> dict:
    """Load and validate a training config: a path, or a name in ``sarsr/train/configs``.
    ``overrides`` maps dotted keys to values (``{"train.steps": 10}``)."""
    p = Path(str(path_or_name)).expanduser()
    if not p.exists() and not p.suffix:
        p = CONFIG_DIR / f"{path_or_name}.toml"
    if not p.exists():
        have = ", ".join(sorted(q.stem for q in CONFIG_DIR.glob("*.toml")))
        raise FileNotFoundError(f"no training config {str(path_or_name)!r} (shipped: {have})")
    try:
        raw = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    for key, val in (overrides or {}).items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = val
    cfg = _merge(DEFAULTS, raw, "", str(p))
    if cfg["train"]["steps"] < 1 or cfg["train"]["batch_size"] < 1:
        raise ConfigError(f"{p}: train.steps and train.batch_size must be >= 1")
    cfg["data"]["train"] = str(Path(cfg["data"]["train"]).expanduser())
    if cfg["train"]["init"]:
        cfg["train"]["init"] = str(Path(cfg["train"]["init"]).expanduser())
    cfg["_source"] = str(p)
    cfg["_overrides"] = {k: v for k, v in (overrides or {}).items()}
    return cfg


def parse_sets(items) -> dict:
    """``key=value`` strings (the CLI's ``--set``, for training configs and scenarios alike) as
    a dict of dotted key -> value. The value is read as a TOML value (number, bool, list,
    quoted string); anything that is not valid TOML is taken as a plain string. ValueError
    names a malformed item."""
    out = {}
    for item in items or []:
        k, eq, v = str(item).partition("=")
        if not eq or not k.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        try:
            out[k.strip()] = tomllib.loads(f"v = {v}")["v"]
        except tomllib.TOMLDecodeError:
            out[k.strip()] = v
    return out
