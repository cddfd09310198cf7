"""Configuration files (TOML): one typed schema engine (:class:`Field`, :func:`validate`,
:func:`set_dotted`, :func:`parse_sets`) behind both kinds of file, with one ``--set key=value``
override syntax and errors naming the key:

- training configs (the shipped ones in ``sarsr/train/configs``): :func:`load_config`, schema
  :data:`TRAIN_SCHEMA` below;
- scenario presets (``simulators/``): :func:`sarsr.data.load_scenario`, schema
  :data:`sarsr.data.scenario.SCHEMA`.

Training-config schema (defaults in brackets); unknown keys are rejected naming the key::

    name = "srvit_hsm_paper"                  # run name (required)
    task = "super_resolution"                 # or "point_detection" (sarsr.train.detect_task),
                                              # "classification" / "segmentation" (sarsr.vision)
    [model]      name (required), options = {..}  # create_model(name, **options)
    [data]       train (required: dataset folder), source ["empm"], size [256], crop [128],
                 val_count [128] (first records held out for validation), complex_input [false],
                 num_workers [2], sr_model [""] (classification: super-resolve inputs first),
                 sweep_training [0.0] (classification with a token ViT: fraction of batches
                 trained on a partial sweep through token recycling, single process),
                 verify [true] (check the shards' CRC32 checksums when the run starts),
                 label ["render"|"stored"] (SR labels rendered on the working grid from the
                 stored scene, every point at its true amplitude; "stored": resized stored label),
                 preload [false] (read and preprocess every training record once, in threads,
                 and keep them on the training device: no DataLoader workers, no pinned
                 memory, crops and flips on the device; same batches as without)
    [train]      batch_size [8], steps [20000], lr [1e-3], optimizer ["adam"|"adamw"],
                 weight_decay [0], betas [[0.9, 0.999]], schedule ["cosine"|"multistep"|"constant"],
                 milestones [[]], gamma [0.5], warmup_steps [0], loss ["l1"|any name of LOSS_NAMES],
                 time_limit_s [0 = none] (stop at the first step after this many seconds of
                 training, checkpointed and resumable; a GPU lease's wall-clock budget),
                 loss_options [{}] (keyword options of the loss, e.g. {kernel = 9} for
                 l1_peak: :func:`sarsr.train.losses.get_loss`), point_loss [{}] (networks
                 with a point head: weights heat / offset / amplitude and heat_sigma / reach of
                 :func:`sarsr.train.losses.point_head_loss`), samples [0] (> 0: the schedule's
                 length in training images instead of steps: steps = samples / batch_size),
                 cpu_bf16 [false] (bfloat16 autocast of the forward pass on CPUs with
                 AVX512-BF16 / AMX; ignored elsewhere), seed [0], checkpoint_every [250], val_every [1000], log_every [25],
                 amp [true] (CUDA only), grad_clip [0 = off], compile [false] (torch.compile
                 the training forward/backward, single process: ~1.6x faster steps on CPU,
                 `sarsr bench train`), channels_last [false] (NHWC memory for the model and
                 its batches: ~1.4x faster CPU steps for srvit_hsm, whose depthwise
                 convolutions are NHWC-fast), init [""] (fine-tune: start
                 from the model weights of a checkpoint, e.g. another run's best.pt, with a
                 fresh optimizer and schedule; ignored when resuming), init_grow [false] (the
                 init weights are a smaller network of the same width: load them and
                 append the extra blocks near the identity, or add the log input view with
                 zero weights, ``EfficientSR.grow_from``),
                 select [""] (the
                 validation metric that picks best.pt, higher is better; "" = the task's primary,
                 e.g. "val_score" for super-resolution), ema_decay [0 = off] (validate and save
                 an exponential moving average of the weights, e.g. 0.999; does not change
                 the training trajectory, :mod:`sarsr.train.ema`)
"""

from __future__ import annotations

import math
import copy
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ._files import read_input_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_config", "parse_sets", "set_dotted", "validate", "defaults", "Field", "REQUIRED",
           "CONFIG_DIR", "DEFAULTS", "TRAIN_SCHEMA", "WORKING_SIZE", "ConfigError"]

CONFIG_DIR = Path(__file__).parent / "train" / "configs"
#: Side (pixels) of the square grid images are resampled to for the networks (the paper: 200 -> 256).
WORKING_SIZE = 256


class ConfigError(ValueError):
    pass


class _Required:
    def __repr__(self):
        return "REQUIRED"


#: Default of a key that must be given.
REQUIRED = _Required()


class Field(NamedTuple):
    """One typed key of a schema.

    ``kind``: "int", "float", "bool", "str", "table" (a free-form TOML table), "list[str]",
    "list[float]", "list[int]" (lists may be empty only for "list[int]" / "list[float]" keys
    whose default is empty), "range" ([lo, hi] floats, lo <= hi), "irange" (integers),
    "frange" (a float or a range), "irange_or_int" (an int or an integer range).
    ``default``: the value when the key is absent (:data:`REQUIRED`: must be given).
    ``check``: predicate on the parsed value (a range: both ends), else "value out of range".
    ``choices``: the allowed values.
    """

    kind: str
    default: Any = REQUIRED
    check: Callable | None = None
    choices: tuple | None = None


def _parse(key: str, kind: str, v, error, empty_ok: bool = False):
    """The value ``v`` of ``key`` as ``kind`` (tuples for lists and ranges); ``error`` names the key."""
    def bad(what):
        return error(f"{key}: expected {what}, got {v!r}")

    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad("an integer")
        return v
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad("a number")
        if not math.isfinite(float(v)):
            raise bad("a finite number")
        return float(v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if kind == "str":
        if not isinstance(v, str):
            raise bad("a string")
        return v
    if kind == "table":
        if not isinstance(v, dict):
            raise bad("a table")
        return dict(v)
    if kind == "frange":  # a number, or [low, high] drawn uniformly per record
        return _parse(key, "range", v, error) if isinstance(v, list) else _parse(key, "float", v, error)
    if kind == "irange_or_int":
        return _parse(key, "irange", v, error) if isinstance(v, list) else _parse(key, "int", v, error)
    if kind in ("list[float]", "list[int]"):
        num = int if kind == "list[int]" else (int, float)
        if (not isinstance(v, list) or (not v and not empty_ok)
                or any(isinstance(x, bool) or not isinstance(x, num) or not math.isfinite(x) for x in v)):
            raise bad(("a list of " if empty_ok else "a non-empty list of ") +
                      ("integers" if kind == "list[int]" else "numbers"))
        return tuple(int(x) if kind == "list[int]" else float(x) for x in v)
    if kind in ("range", "irange"):
        num = int if kind == "irange" else (int, float)
        if (not isinstance(v, list) or len(v) != 2
                or any(isinstance(x, bool) or not isinstance(x, num) or not math.isfinite(x) for x in v)
                or v[0] > v[1]):
            raise bad("[low, high] with low <= high" + (" (integers)" if kind == "irange" else ""))
        return tuple(int(x) if kind == "irange" else float(x) for x in v)
    if kind == "list[str]":
        if not isinstance(v, list) or (not v and not empty_ok) or not all(isinstance(x, str) for x in v):
            raise bad("a list of strings" if empty_ok else "a non-empty list of strings")
        return tuple(v)
    raise AssertionError(kind)


def _passes(field: Field, v) -> bool:
    if field.check is None:
        return True
    if field.kind in ("frange", "irange_or_int") and isinstance(v, tuple):
        return all(field.check(x) for x in v)
    return bool(field.check(v))


def validate(raw: dict, schema: dict, source: str, error=ConfigError, prefix: str = "") -> dict:
    """``raw`` (a parsed TOML table) checked against ``schema`` (key -> :class:`Field`, or a
    nested schema for a sub-table) with defaults filled in. Unknown keys, wrong types, values
    out of range and missing required keys raise ``error`` naming the dotted key."""
    if not isinstance(raw, dict):
        raise error(f"{source}: '{prefix.rstrip('.')}' must be a table")
    out = {}
    for k, v in raw.items():
        full = f"{prefix}{k}"
        if k not in schema:
            raise error(f"{source}: unknown key '{full}' (valid: {', '.join(sorted(schema))})")
        f = schema[k]
        if isinstance(f, dict):
            if not isinstance(v, dict):
                raise error(f"{source}: '{full}' must be a table ([{full}])")
            out[k] = validate(v, f, source, error, full + ".")
            continue
        empty_ok = f.kind.startswith("list[") and f.default == ()
        val = _parse(full, f.kind, v, error, empty_ok)
        if f.choices is not None and val not in f.choices:
            raise error(f"{source}: {full}: {v!r} not in {f.choices}")
        if not _passes(f, val):
            raise error(f"{source}: {full}: value {v!r} out of range")
        out[k] = val
    for k, f in schema.items():
        if k in out:
            continue
        if isinstance(f, dict):
            out[k] = validate({}, f, source, error, f"{prefix}{k}.")
        elif f.default is REQUIRED:
            raise error(f"{source}: missing required key '{prefix}{k}'")
        else:
            out[k] = copy.deepcopy(f.default)
    return out


def defaults(schema: dict) -> dict:
    """The defaults of a schema as a nested dict (:data:`REQUIRED` where a key must be given)."""
    return {k: defaults(f) if isinstance(f, dict) else f.default for k, f in schema.items()}


def set_dotted(raw: dict, key: str, value) -> None:
    """In place: ``raw["a"]["b"] = value`` for ``key = "a.b"`` (tables created as needed;
    validation afterwards names an unknown key)."""
    node = raw
    *parents, leaf = key.split(".")
    for part in parents:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}: '{part}' is a value, not a table")
        node = nxt
    node[leaf] = value


_POS = lambda v: v > 0  # noqa: E731
#: A run name is one folder name (it names the run folder under ~/.cache/sarsr/runs).
_RUN_NAME = __import__("re").compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_NONNEG = lambda v: v >= 0  # noqa: E731


def _is_source(name) -> bool:
    """``data.source``: a stored image, i.e. a registered imager's name or ``"input"`` (imported
    here, not at the top: sarsr.config sits below sarsr.radar, and the models load it without
    the physics)."""
    from .radar.imaging.imagers import IMAGERS  # lazy: sarsr.config sits below radar (sr reads configs without radar)

    return name in IMAGERS or name == "input"

#: Names of the training losses: the keys of :data:`sarsr.train.losses.LOSSES`, the registry (its
#: functions need torch, which this module does not import; a test keeps the two equal).
LOSS_NAMES = ("l1", "charbonnier", "mse", "mse_sparse", "l1_peak", "l1_peak_clean", "l1_peak_keep", "point_bce")

#: The training-config schema (``sarsr train``; see the module docstring of :mod:`sarsr.config`).
TRAIN_SCHEMA = {
    "name": Field("str"),
    "task": Field("str", "super_resolution", choices=("super_resolution", "point_detection", "classification",
                                                      "segmentation")),
    "model": {"name": Field("str"), "options": Field("table", {})},
    "data": {"train": Field("str"), "source": Field("str", "empm", _is_source),
             "size": Field("int", 256, lambda v: 1 <= v <= 4096),  # working grid side (pixels)
             "crop": Field("int", 128, lambda v: 0 <= v <= 4096),  # 0: full image
             "val_count": Field("int", 128), "complex_input": Field("bool", False),
             "num_workers": Field("int", 2, _NONNEG), "sr_model": Field("str", ""),
             "sweep_training": Field("float", 0.0, lambda v: 0 <= v <= 1), "verify": Field("bool", True),
             "label": Field("str", "render", choices=("render", "stored")), "preload": Field("bool", False),
             # further dataset folders whose every record trains (validation stays the first
             # val_count records of data.train, so curves stay comparable as data is added)
             "extra_train": Field("list[str]", ())},
    "train": {"batch_size": Field("int", 8), "steps": Field("int", 20000), "lr": Field("float", 1e-3, _NONNEG),
              "optimizer": Field("str", "adam", choices=("adam", "adamw")),
              "weight_decay": Field("float", 0.0, _NONNEG), "betas": Field("list[float]", (0.9, 0.999)),
              "schedule": Field("str", "cosine", choices=("cosine", "multistep", "constant")),
              "milestones": Field("list[int]", ()), "gamma": Field("float", 0.5, _POS),
              "warmup_steps": Field("int", 0, _NONNEG),
              "loss": Field("str", "l1", choices=LOSS_NAMES),
              "loss_options": Field("table", {}),
              "point_loss": Field("table", {}), "samples": Field("int", 0, _NONNEG), "cpu_bf16": Field("bool", False),
              "ema_decay": Field("float", 0.0, lambda v: 0 <= v < 1),
              "seed": Field("int", 0, _NONNEG), "checkpoint_every": Field("int", 250, _POS),
              "val_every": Field("int", 1000, _POS), "log_every": Field("int", 25, _POS),
              "amp": Field("bool", True), "grad_clip": Field("float", 0.0, _NONNEG), "init": Field("str", ""),
              "init_grow": Field("bool", False),
              "compile": Field("bool", False), "channels_last": Field("bool", False),
              "select": Field("str", ""), "time_limit_s": Field("float", 0.0, _NONNEG)},
}


def _plain(v):
    """Tuples back to lists (a run config is kept as plain TOML-like values)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


#: Training-config defaults as a nested dict (``REQUIRED`` where a key must be given).
DEFAULTS = _plain(defaults(TRAIN_SCHEMA))


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
        raw = tomllib.loads(read_input_text(p, "training config"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid TOML: nested too deeply") from None
    for key, val in (overrides or {}).items():
        set_dotted(raw, key, val)
    cfg = _plain(validate(raw, TRAIN_SCHEMA, str(p)))
    if cfg["train"]["samples"] and cfg["train"]["batch_size"] >= 1:
        cfg["train"]["steps"] = max(1, cfg["train"]["samples"] // cfg["train"]["batch_size"])
    if cfg["train"]["steps"] < 1 or cfg["train"]["batch_size"] < 1:
        raise ConfigError(f"{p}: train.steps and train.batch_size must be >= 1")
    if _RUN_NAME.fullmatch(cfg["name"]) is None:
        raise ConfigError(f"{p}: name: {cfg['name']!r} must be one folder name (letters, digits, '.', '_', '+', '-'; "
                          f"no '/' or '..'): it names the run folder")
    if cfg["task"] == "super_resolution" and 0 < cfg["data"]["crop"] < 8:
        raise ConfigError(f"{p}: data.crop: {cfg['data']['crop']} px is too small a training crop (>= 8, or 0 for "
                          f"the full {cfg['data']['size']} px image)")
    cfg["data"]["train"] = str(Path(cfg["data"]["train"]).expanduser())
    cfg["data"]["extra_train"] = tuple(str(Path(x).expanduser()) for x in cfg["data"]["extra_train"])
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
