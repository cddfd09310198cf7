"""Simulated datasets: scenario presets (TOML), record simulation, HDF5 shards, resumable
parallel / Dask generation, and a lazy PyTorch dataset with the paper's preprocessing."""

from .generate import MANIFEST, dataset_scenario, generate_dataset, iter_records, plan_shards, read_manifest, run_shard
from .scenario import SIMULATORS_DIR, Scenario, ScenarioError, list_scenarios, load_scenario
from .shards import verify_shard, write_shard
from .simulate import record_rng, simulate_record

__all__ = ["generate_dataset", "plan_shards", "read_manifest", "dataset_scenario", "iter_records", "run_shard",
           "MANIFEST", "Scenario",
           "ScenarioError", "list_scenarios", "load_scenario", "SIMULATORS_DIR", "verify_shard",
           "write_shard", "record_rng", "simulate_record", "SARDataset", "ConcatSARDataset", "preprocess_input", "WORKING_SIZE"]


def __getattr__(name):  # torch is imported only when the torch dataset is used
    if name in ("SARDataset", "ConcatSARDataset", "preprocess_input", "resize_image", "WORKING_SIZE"):
        from . import torch_dataset  # lazy: torch only with the torch dataset

        return getattr(torch_dataset, name)
    raise AttributeError(name)
