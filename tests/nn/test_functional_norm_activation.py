"""`F.batch_norm`, `F.relu`, `F.relu6`, `F.hardsigmoid`, `F.hardswish`: torch's signatures,
their argument checks, and `inplace=`. (Their values are tested in tests/ops/test_norm.py and
tests/ops/test_activation.py, on both kernel sets.)"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch.nn.functional as TF

import minigrad
import minigrad.nn.functional as F

NAMES = ["batch_norm", "relu", "relu6", "hardsigmoid", "hardswish"]
ACTIVATIONS = ["relu", "relu6", "hardsigmoid", "hardswish"]


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_torchs(name):
    def described(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    assert described(getattr(F, name)) == described(getattr(TF, name))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_inplace_writes_into_the_input_and_returns_it(name, rng):
    x = (rng.standard_normal((3, 4)) * 5).astype(np.float32)
    t = minigrad.tensor(x.copy())
    version = t._version.value
    out = getattr(F, name)(t, inplace=True)
    assert out is t and t._version.value > version
    np.testing.assert_array_equal(t.data, getattr(F, name)(minigrad.tensor(x)).data)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_inplace_on_a_leaf_that_requires_grad_raises_and_changes_nothing(name):
    t = minigrad.tensor([-1.0, 2.0, 7.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=f"^{name}: inplace=True on a leaf tensor"):
        getattr(F, name)(t, inplace=True)
    np.testing.assert_array_equal(t.data, [-1.0, 2.0, 7.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_inplace_under_no_grad_is_allowed_on_a_tensor_that_requires_grad(name):
    t = minigrad.tensor([-4.0, 2.0, 7.0], requires_grad=True)
    expected = getattr(F, name)(minigrad.tensor([-4.0, 2.0, 7.0])).data
    with minigrad.no_grad():
        assert getattr(F, name)(t, inplace=True) is t
    np.testing.assert_array_equal(t.data, expected)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("inplace", [None, 1, "yes"])
def test_inplace_must_be_a_bool(name, inplace):
    with pytest.raises(TypeError, match=f"^{name}: inplace must be a bool"):
        getattr(F, name)(minigrad.zeros(3), inplace=inplace)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_rejects_a_non_tensor(name):
    with pytest.raises(TypeError, match=f"^{name}: expected a Tensor, got list"):
        getattr(F, name)([1.0, 2.0])


@pytest.mark.parametrize("value", [None, "0.1", True])
def test_batch_norm_rejects_a_momentum_that_is_not_a_number(value):
    stats = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    with pytest.raises(TypeError, match="^batch_norm: momentum must be a number"):
        F.batch_norm(minigrad.randn(4, 3), *stats, training=True, momentum=value)
    np.testing.assert_array_equal(stats[0], 0.0)
