"""Loading and saving checkpoint files safely (one place for every ``.pt`` the package reads).

Every load uses ``torch.load(..., weights_only=True)``: tensors, numbers, strings, lists,
tuples and dicts only, so a crafted file (a pickle with ``__reduce__``) cannot run code. A file
that is not a valid checkpoint, or that asks for anything else, raises
:class:`CheckpointError` with a one-line message naming the file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
import warnings

import torch

from .config import load_config
from ._files import temp_beside

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint", "model_state", "run_config"]


class CheckpointError(ValueError):
    """A checkpoint / weights file is missing, corrupt, or not plain weights."""


def load_checkpoint(path, map_location="cpu"):
    """Load a ``.pt`` file with ``weights_only=True``.

    Parameters
    ----------
    path : str or Path
    map_location : torch device for the tensors (default CPU)

    Raises
    ------
    FileNotFoundError : no such file.
    CheckpointError : empty, truncated or corrupt file, or one holding anything but weights
        (such a file is refused before any of its code can run).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no checkpoint file {p}")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: empty file (an interrupted write?)")

    try:
        with warnings.catch_warnings():  # a refused file gets one line from us, not torch's warnings first
            warnings.simplefilter("ignore")
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc).strip()
        # torch's message is a paragraph of advice; the reason is what follows "WeightsUnpickler error:"
        _, found, reason = text.partition("WeightsUnpickler error:")
        reason = (reason.strip().split("\n\n")[0] if found else text.splitlines()[0] if text else "")
        reason = " ".join(reason.split()) or type(exc).__name__
        raise CheckpointError(f"{p}: refused: not a plain weights file ({reason[:200]})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{p}: not a readable checkpoint ({first[:200]})") from None


def save_checkpoint(obj, path) -> None:
    """``torch.save`` to a temporary name in the same folder, then rename: a reader never sees
    a partial file, whatever kills the writer."""

    p = Path(path)
    fd, tmp = temp_beside(p)  # exclusive creation: a planted symlink is never written through
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        msg = " ".join(str(exc).split())[:160]
        raise OSError(f"{p}: could not write the checkpoint ({msg}); is the disk full? The previous "
                      f"checkpoint is untouched") from None
    except RuntimeError as exc:  # torch reports a failed write (e.g. disk full) as a RuntimeError
        msg = " ".join(str(exc).split())[:160]
        raise OSError(f"{p}: could not write the checkpoint ({msg}); is the disk full? The previous "
                      f"checkpoint is untouched") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def model_state(checkpoint) -> dict:
    """The model state dict in a loaded checkpoint: a training checkpoint (``last.pt``, whose
    ``"model"`` entry holds it) or a plain state dict (``best.pt``, ``model.pt``, shipped weights)."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict):
        return checkpoint["model"]
    return checkpoint


def run_config(run_dir) -> dict:
    """The effective config of a training run folder: the one stored in its ``last.pt``
    checkpoint (``--set`` overrides included), else its ``config.toml`` (overrides there are
    comments only)."""
    run = Path(run_dir)
    if (run / "last.pt").exists():
        ck = load_checkpoint(run / "last.pt")
        if isinstance(ck, dict) and "config" in ck:
            return ck["config"]
    if not (run / "config.toml").exists():
        raise FileNotFoundError(f"{run}: not a training run (no last.pt or config.toml)")
    return load_config(run / "config.toml")
