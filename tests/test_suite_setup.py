"""The suite's own set-up: under pytest-xdist (`make test`) each worker's numba and torch
kernels use its share of the cores (tests/conftest.py), so workers do not spin against each
other."""

import os

import pytest


def test_parallel_workers_share_the_cores():
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers <= 1:
        pytest.skip("not running under pytest-xdist with several workers")
    import numba
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // workers)
    assert numba.get_num_threads() == share
    assert torch.get_num_threads() == share
