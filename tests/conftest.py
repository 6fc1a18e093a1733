"""Hypothesis profiles: `ci` (what CI runs, the default) and `dev` (more examples, locally).

Select one with HYPOTHESIS_PROFILE=dev.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from minigrad.fast.threads import get_num_threads, set_num_threads

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The reference computations are small; one torch thread avoids fighting pytest for the cores.
torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def threads(request):
    """minigrad on `request.param` threads for one test (parametrize with indirect=True)."""
    previous = get_num_threads()
    set_num_threads(request.param)
    yield request.param
    set_num_threads(previous)


@pytest.fixture(scope="module", params=["reference", "fast"])
def kernels(request):
    """Every test of a module that uses it runs once on each kernel set (`use_kernels`)."""
    import minigrad

    with minigrad.use_kernels(request.param):
        yield request.param
