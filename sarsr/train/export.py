"""Ship a trained run as package weights: ``sarsr/models/weights/<name>.pt`` (state dict)
plus ``<name>.json`` (builder options, training config, final log rows, evaluation)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch

from ..checkpoint import load_checkpoint, model_state
from ..models.registry import WEIGHTS_DIR, model_entry

__all__ = ["export_weights"]

MAX_BYTES = 5 * 1024 * 1024


def _reproduce(cfg) -> str:
    """The ``sarsr train`` command line that produced a run (with its ``--set`` overrides)."""
    sets = "".join(f" --set {k}={v}" for k, v in (cfg.get("_overrides") or {}).items())
    cmd = f"sarsr train {cfg['name']}{sets}  # config: sarsr/train/configs/{cfg['name']}.toml"
    if cfg["train"].get("init"):
        cmd += f"; starts from the weights of an earlier run: {cfg['train']['init']}"
    return cmd


def export_weights(run_dir, checkpoint: str = "best.pt", evaluation: dict | None = None,
                   dest=WEIGHTS_DIR) -> Path:
    """Copy ``run_dir/checkpoint`` into the package as the shipped weights of the run's model.
    Returns the written ``.pt`` path. Refuses files over 5 MB."""
    run = Path(run_dir)
    cfg_text = (run / "config.toml").read_text()
    from .config import run_config

    cfg = run_config(run)  # effective config: --set overrides (e.g. train.init) included
    name = cfg["model"]["name"]
    model_entry(name)
    state = model_state(load_checkpoint(run / checkpoint))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pt = dest / f"{name}.pt"
    torch.save({k: v.contiguous() for k, v in state.items()}, pt)
    if pt.stat().st_size > MAX_BYTES:
        pt.unlink()
        raise ValueError(f"{name}: weights exceed 5 MB")
    rows = list(csv.DictReader((run / "log.csv").open())) if (run / "log.csv").exists() else []
    val = [r for r in rows if r.get("val_psnr") or r.get("val_acc")]
    key = "val_psnr" if any(r.get("val_psnr") for r in val) else "val_acc"
    step = int(rows[-1]["step"]) if rows else None
    if checkpoint == "best.pt" and val:  # best.pt holds the weights of the best validation row
        step = int(max(val, key=lambda r: float(r[key]))["step"])
    meta = {"model": name, "options": cfg["model"]["options"],
            "in_chans": 2 if cfg["data"]["complex_input"] else 1, "checkpoint": checkpoint,
            "trained_steps": step,
            "validation": [{k: r[k] for k in ("step", "val_psnr", "val_ssim", "val_acc") if r.get(k)} for r in val],
            "config_toml": cfg_text, "evaluation": evaluation,
            "reproduce": _reproduce(cfg)}
    pt.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return pt
