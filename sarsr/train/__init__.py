"""Training and evaluation of the super-resolution networks (BasicSR-style split: configs,
losses, trainer; architectures live in :mod:`sarsr.models`, metrics in :mod:`sarsr.metrics`)."""

from ..checkpoint import run_config
from ..config import CONFIG_DIR, ConfigError, load_config  # the one config home (sarsr.config), re-exported for users
from .export import export_weights
from .losses import LOSSES, get_loss
from .trainer import StepBatchSampler, TrainingDiverged, lr_factor, train, validate
from .sr_task import SRTask
from .tasks import TASKS, get_task, list_tasks, register_task

__all__ = ["CONFIG_DIR", "ConfigError", "load_config", "run_config", "LOSSES", "get_loss", "StepBatchSampler",
           "lr_factor", "train", "validate", "export_weights", "SRTask", "TASKS", "get_task", "list_tasks",
           "register_task"]
