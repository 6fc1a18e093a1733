"""MobileNet V1, V2 and V3-small in float64 and train mode: the logits, every parameter's
gradient and the running statistics on the reference kernels equal the fast kernels' within
1e-10, relative to the largest value of all arrays of the same kind (all gradients, all running
means, ...): some are 0 but for rounding noise, such as the gradient of a BatchNorm bias that
another BatchNorm follows, or the running mean of a BatchNorm after a conv of normalised input."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import models


def _train_step(name: str, kernels: str) -> dict[str, np.ndarray]:
    minigrad.manual_seed(0)
    model = getattr(models, name)(num_classes=5, width_mult=0.25, small_input=True).double()
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((3, 3, 12, 12)))
    target = minigrad.tensor(rng.integers(0, 5, 3))
    with minigrad.use_kernels(kernels):
        logits = model(x)
        F.cross_entropy(logits, target).backward()
    results = {"logits": logits.data}
    results.update({f"grad of {k}": p.grad.data for k, p in model.named_parameters()})
    results.update({k: np.asarray(v) for k, v in model.state_dict().items()})
    return results


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small"])
def test_reference_and_fast_kernels_give_the_same_training_step(name):
    reference, fast = _train_step(name, "reference"), _train_step(name, "fast")
    assert list(reference) == list(fast)
    largest: dict[str, float] = {}
    for key, a in reference.items():
        largest[_kind(key)] = max(largest.get(_kind(key), 0.0), float(np.abs(a).max(initial=0)))
    for key, a in reference.items():
        np.testing.assert_allclose(a, fast[key], rtol=1e-10, atol=1e-10 * largest[_kind(key)],
                                   err_msg=key)


def _kind(key: str) -> str:
    """'grad', 'logits', or the last part of a state-dict key ('running_mean', 'weight', ...)."""
    return "grad" if key.startswith("grad") else key.rsplit(".", 1)[-1]
