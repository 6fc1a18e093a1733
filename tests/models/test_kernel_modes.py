"""MobileNet V1, V2 and V3-small in float64, train mode: the reference kernels and the fast
ones give the same logits and the same gradient of every parameter (within 1e-10 relative),
and each mode runs only its own kernels."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import models
from minigrad.autograd import Context

BUILDERS = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small"]


def _functions(out: minigrad.Tensor) -> set[type]:
    """Every Function class recorded in the graph of `out`."""
    seen, stack, found = set(), [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if isinstance(node, Context) and id(node) not in seen:
            seen.add(id(node))
            found.add(node.function)
            stack.extend(node.parents)
    return found


def _train_step(name: str, kernels: str, x: np.ndarray, target: np.ndarray):
    """Logits, the parameter gradients and the Function classes of one training step."""
    minigrad.manual_seed(0)
    model = getattr(models, name)(num_classes=10, width_mult=0.5, small_input=True).double()
    model.train()
    with minigrad.use_kernels(kernels):
        minigrad.manual_seed(1)  # the same dropout mask in both modes
        logits = model(minigrad.tensor(x))
        loss = minigrad.nn.functional.cross_entropy(logits, minigrad.tensor(target))
        functions = _functions(loss)
        loss.backward()
    grads = {k: p.grad.data for k, p in model.named_parameters()}
    return logits.data, grads, functions


def _assert_relative(actual: np.ndarray, expected: np.ndarray, name: str,
                     floor: float = 0.0) -> None:
    """max |actual − expected| ≤ 1e-10 · max(max |expected|, floor)."""
    scale = max(np.abs(expected).max(initial=0.0), floor)
    error = np.abs(actual - expected).max(initial=0.0)
    assert error <= 1e-10 * scale, f"{name}: max error {error:.3g}, max value {scale:.3g}"


@pytest.mark.parametrize("name", BUILDERS)
def test_reference_and_fast_kernels_train_mobilenet_the_same(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 32, 32))
    target = rng.integers(0, 10, size=4)
    logits_ref, grads_ref, used_ref = _train_step(name, "reference", x, target)
    logits_fast, grads_fast, used_fast = _train_step(name, "fast", x, target)
    assert logits_ref.dtype == np.float64
    _assert_relative(logits_ref, logits_fast, "logits")
    assert list(grads_ref) == list(grads_fast)
    # some gradients are 0 in exact arithmetic and rounding noise here (~1e-18: the bias of a
    # BatchNorm that reaches the loss only through a 1×1 conv and another BatchNorm, which
    # removes any per-channel shift); they are measured on the scale of the model's gradients
    floor = 1e-4 * max(np.abs(g).max() for g in grads_fast.values())
    for key in grads_ref:
        _assert_relative(grads_ref[key], grads_fast[key], key, floor)
    assert not any(f.__module__.startswith("minigrad.fast") for f in used_ref)
    assert any(f.__module__.startswith("minigrad.reference") for f in used_ref)
    assert not any(f.__module__.startswith("minigrad.reference") for f in used_fast)
