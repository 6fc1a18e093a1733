"""Top-level function forms (`minigrad.sum`, `softmax`, ...) against torch's, values and
gradients with a random upstream gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from tests.helpers import check_backward_matches_torch, check_forward_matches_torch

_CALLS = [
    ("sum", (), {}), ("sum", (1,), {"keepdim": True}), ("sum", ((0, 2),), {}),
    ("mean", (), {}), ("mean", (-1,), {}),
    ("var", (), {}), ("var", (1,), {"correction": 0}), ("var", (0,), {"unbiased": False}),
    ("max", (), {}), ("min", (), {}),
    ("softmax", (1,), {}), ("log_softmax", (-1,), {}), ("softmax", (), {"dim": 0}),
    ("reshape", ((6, 4),), {}), ("flatten", (1,), {}), ("permute", ((2, 0, 1),), {}),
    ("transpose", (0, 2), {}), ("unsqueeze", (1,), {}), ("neg", (), {}),
]


@pytest.mark.parametrize("name, args, kwargs", _CALLS,
                         ids=[f"{c[0]}{c[1]}{c[2]}" for c in _CALLS])
def test_function_forms_match_torch(rng, name, args, kwargs):
    x = rng.standard_normal((2, 3, 4))
    ours = lambda t: getattr(minigrad, name)(t, *args, **kwargs)  # noqa: E731
    theirs = lambda t: getattr(torch, name)(t, *args, **kwargs)  # noqa: E731
    check_forward_matches_torch(ours, theirs, [x])
    check_backward_matches_torch(ours, theirs, [x])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_have_torch_three_forms(rng, name):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    values, indices = getattr(minigrad, name)(minigrad.tensor(x), 1, keepdim=True)
    expected = getattr(torch, name)(torch.tensor(x), 1, keepdim=True)
    np.testing.assert_array_equal(values.data, expected.values.numpy())
    np.testing.assert_array_equal(indices.data, expected.indices.numpy())
    check_backward_matches_torch(lambda a, b: getattr(minigrad, name)(a, b),
                                 lambda a, b: getattr(torch, name)(a, b), [x, y])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_function_forms_match_torch(rng, name):
    x, y = rng.random((3, 4)) + 0.5, rng.standard_normal((4,))
    check_backward_matches_torch(lambda a, b: getattr(minigrad, name)(a, b),
                                 lambda a, b: getattr(torch, name)(a, b), [x, y])


def test_add_and_sub_take_alpha(rng):
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    check_forward_matches_torch(lambda a, b: minigrad.sub(a, b, alpha=2.5),
                                lambda a, b: torch.sub(a, b, alpha=2.5), [x, y])
    check_forward_matches_torch(lambda a, b: minigrad.add(a, b, alpha=-2),
                                lambda a, b: torch.add(a, b, alpha=-2), [x, y])


@pytest.mark.parametrize("name", ["concat", "concatenate", "cat"])
def test_concat_is_cat(rng, name):
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    check_backward_matches_torch(lambda a, b: getattr(minigrad, name)([a, b], dim=1),
                                 lambda a, b: getattr(torch, name)([a, b], dim=1), [x, y])


def test_small_helpers_answer_as_torch(rng):
    x = minigrad.tensor(rng.standard_normal((2, 5)))
    assert minigrad.numel(x) == 10 and minigrad.is_tensor(x) and not minigrad.is_tensor(x.data)
    np.testing.assert_array_equal(minigrad.argmax(x, 1).data, x.data.argmax(1))
    np.testing.assert_array_equal(minigrad.argmin(x).data, x.data.argmin())
    assert minigrad.squeeze(minigrad.zeros(1, 3, 1)).shape == (3,)
    assert minigrad.dropout(x, 0.5, False) is x
    assert minigrad.softmax(x, 1, dtype=minigrad.float32).dtype == np.float32


@pytest.mark.parametrize("name", ["sum", "mean", "softmax", "max", "var", "reshape"])
def test_function_forms_reject_a_non_tensor(name):
    with pytest.raises(TypeError, match=f"^{name}: argument 'input' must be a Tensor, got list"):
        getattr(minigrad, name)([1.0, 2.0], 0)
