"""The suite's own set-up: under pytest-xdist (`make test`) each worker's numba and torch
kernels use its share of the cores (tests/conftest.py), so workers do not spin against each
other."""

import pytest


def test_parallel_workers_share_the_cores(worker_threads):
    if worker_threads is None:
        pytest.skip("not running under pytest-xdist with several workers")
    import numba
    import torch

    assert worker_threads >= 1
    assert numba.get_num_threads() == worker_threads
    assert torch.get_num_threads() == worker_threads
