"""Training configs: the loader lives in :mod:`sarsr.config` (low in the dependency graph, so
:mod:`sarsr.sr` can read a run's config without importing the trainer); re-exported here."""

from ..checkpoint import run_config
from ..config import CONFIG_DIR, DEFAULTS, ConfigError, load_config

__all__ = ["load_config", "run_config", "CONFIG_DIR", "DEFAULTS", "ConfigError"]
