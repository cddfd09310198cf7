"""Ship a trained run as package weights: ``sarsr/models/weights/<name>.pt`` (state dict)
plus ``<name>.json`` (builder options, training config, final log rows, evaluation)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch

from .._files import atomic_write_text, home_relative, temp_beside
from ..checkpoint import load_checkpoint, model_state, run_config
from ..models.registry import WEIGHTS_DIR, model_entry
from ..models import names_shipped_weights, weights_path

__all__ = ["export_weights"]

MAX_BYTES = 5 * 1024 * 1024




def _reproduce(cfg) -> str:
    """The ``sarsr train`` command line that produced a run (with its ``--set`` overrides)."""
    sets = "".join(f" --set {k}={v}" for k, v in (cfg.get("_overrides") or {}).items())
    cmd = f"sarsr train {cfg['name']}{sets}  # config: sarsr/train/configs/{cfg['name']}.toml"
    if cfg["train"].get("init"):
        cmd += f"; starts from the weights of an earlier run: {home_relative(cfg['train']['init'])}"
    return home_relative(cmd)


def _stage(run: Path, cfg: dict, checkpoint: str) -> dict:
    """One training stage of a shipped network: its config, command, steps and validation."""
    rows = list(csv.DictReader((run / "log.csv").read_text().splitlines())) if (run / "log.csv").exists() else []
    val = [r for r in rows if any(k.startswith("val_") and v for k, v in r.items())]
    key = cfg["train"].get("select") or next((k for k in ("val_psnr", "val_acc", "val_miou", "val_score")
                                               if any(r.get(k) for r in val)), "val_psnr")
    step = int(rows[-1]["step"]) if rows else None
    if checkpoint == "best.pt" and any(r.get(key) for r in val):  # best.pt holds the weights of the best validation row
        step = int(max((r for r in val if r.get(key)), key=lambda r: float(r[key]))["step"])
    loss_rows = [r for r in rows if r.get("loss")]
    fields = ["step"] + [k for k in (rows[0] if rows else {}) if k.startswith("val_")]
    batch = cfg["train"]["batch_size"]
    crop = cfg["data"].get("crop") or cfg["data"].get("size")
    steps_run = int(loss_rows[-1]["step"]) if loss_rows else None
    return {"run": run.name, "config_name": cfg["name"], "checkpoint": checkpoint, "weights_step": step,
            "steps_run": steps_run, "batch_size": batch, "crop": crop,
            "samples_seen": steps_run * batch if steps_run else None,
            "train_seconds": float(rows[-1]["elapsed_s"]) if rows and rows[-1].get("elapsed_s") else None,
            "config_toml": (run / "config.toml").read_text() if (run / "config.toml").exists() else None,
            "reproduce": _reproduce(cfg),
            "validation": [{k: r[k] for k in fields if r.get(k)} for r in val]}


def _chain(run: Path, cfg: dict, checkpoint: str) -> list[dict]:
    """The stages behind a run, oldest first, following ``train.init`` back through earlier runs."""

    stages = [_stage(run, cfg, checkpoint)]
    seen = {run.resolve()}
    while cfg["train"].get("init"):
        name = cfg["train"]["init"]
        if names_shipped_weights(name):  # the shipped weights of a registered model
            meta = weights_path(name).with_suffix(".json")
            earlier = json.loads(meta.read_text()).get("stages", []) if meta.is_file() else []
            stages.append({"init_weights": f"shipped {name} weights", "note": f"{len(earlier)} earlier stages below"})
            return earlier + stages[::-1]
        init = Path(cfg["train"]["init"]).expanduser()
        prev = init.parent
        if prev.resolve() in seen or not ((prev / "last.pt").exists() or (prev / "config.toml").exists()):
            stages.append({"init_weights": home_relative(str(init)), "note": "run folder not found; not followed"})
            break
        seen.add(prev.resolve())
        cfg = run_config(prev)
        stages.append(_stage(prev, cfg, init.name))
    return stages[::-1]


def export_weights(run_dir, checkpoint: str = "best.pt", evaluation: dict | None = None,
                   dest=WEIGHTS_DIR, force: bool = False) -> Path:
    """Copy ``run_dir/checkpoint`` into the package as the shipped weights of the run's model.

    The JSON beside the weights records every training stage behind them (``stages``: the
    chain of runs linked by ``train.init``, each with its config, command, steps, samples and
    validation curve) so the chain can be reproduced with the project's own commands.
    Returns the written ``.pt`` path. Refuses files over 5 MB, and to replace weights already
    shipped for the model unless ``force``."""
    run = Path(run_dir)
    cfg = run_config(run)  # effective config: --set overrides (e.g. train.init) included
    name = cfg["model"]["name"]
    model_entry(name)
    state = model_state(load_checkpoint(run / checkpoint))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pt = dest / f"{name}.pt"
    if pt.exists() and not force:
        raise ValueError(f"{pt} exists: the package already ships weights for {name}; pass --force (force=True) "
                         f"to replace them")

    fd, tmp = temp_beside(pt)
    with os.fdopen(fd, "wb") as fh:
        torch.save({k: v.contiguous() for k, v in state.items()}, fh)
    if tmp.stat().st_size > MAX_BYTES:
        tmp.unlink()
        raise ValueError(f"{name}: weights exceed 5 MB")
    stages = _chain(run, cfg, checkpoint)
    last = stages[-1]
    meta = {"model": name, "options": cfg["model"]["options"],
            "in_chans": 2 if cfg["data"]["complex_input"] else 1, "checkpoint": checkpoint,
            "trained_steps": last.get("weights_step"),
            "samples_seen_total": sum(s.get("samples_seen") or 0 for s in stages),
            "validation": last.get("validation"), "config_toml": last.get("config_toml"),
            "evaluation": evaluation, "reproduce": [s["reproduce"] for s in stages if "reproduce" in s],
            "stages": stages}
    os.replace(tmp, pt)
    atomic_write_text(pt.with_suffix(".json"), home_relative(json.dumps(meta, indent=2)))
    return pt
