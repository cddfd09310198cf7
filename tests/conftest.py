import os
import sys

import numpy as np
import pytest

# `make test` runs the suite in parallel worker processes (pytest-xdist, `-n auto`). Each worker
# gets an equal share of the cores for its numba and torch kernels; with their default (every
# core each) two workers on a 2-core machine spin against each other and every kernel runs
# slower than it would alone. Set before any test module imports numba or torch.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: threads per worker process under pytest-xdist with several workers, else None
WORKER_THREADS = max(1, _CORES // _WORKERS) if _WORKERS > 1 else None
if WORKER_THREADS is not None:
    for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(WORKER_THREADS))
    if "torch" in sys.modules:  # imported early by a plugin: set it directly
        sys.modules["torch"].set_num_threads(WORKER_THREADS)


@pytest.fixture
def worker_threads():
    """Threads each pytest-xdist worker's kernels use (None when not run in several workers)."""
    return WORKER_THREADS


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def dataset_and_config(tmp_path_factory, template: str, scenario: str = "smoke", count: int = 16, seed: int = 3,
                       shard_size: int = 8, name: str = "run.toml"):
    """A generated ``scenario`` dataset of ``count`` records and a training config written from
    ``template`` (a str.format template with ``{root}``); returns ``(dataset folder, config path)``.
    The module-scoped fixtures of the training tests build on it."""
    from sarsr.data import generate_dataset

    root = tmp_path_factory.mktemp("ds")
    generate_dataset(scenario, root, count, seed=seed, workers=1, shard_size=shard_size, progress=False)
    cfg = tmp_path_factory.mktemp("cfg") / name
    cfg.write_text(template.format(root=root))
    return root, cfg
