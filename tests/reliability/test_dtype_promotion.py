"""No silent float64: integer and bool operands meeting float32 ones, Python floats meeting
integer tensors, true division of integers and float ops on integers give torch's dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad

CASES = {
    "int + float32": lambda m, i, f: i + f,
    "float32 * int": lambda m, i, f: f * i,
    "bool + float32": lambda m, i, f: (i > 1) + f,
    "float32 ** int": lambda m, i, f: f ** i,
    "maximum(int, float32)": lambda m, i, f: m.maximum(i, f),
    "where(c, int, float32)": lambda m, i, f: m.where(i > 1, i, f),
    "int / Python int": lambda m, i, f: i / 2,
    "int / int": lambda m, i, f: i / i,
    "int + Python float": lambda m, i, f: i + 0.5,
    "Python float ** int": lambda m, i, f: 2.0 ** i,
    "int * Python int": lambda m, i, f: i * 3,
    "int < Python float": lambda m, i, f: i < 1.5,
    "log(int)": lambda m, i, f: m.log(i),
    "exp(bool)": lambda m, i, f: m.exp(i > 1),
    "sqrt(int)": lambda m, i, f: m.sqrt(i),
}


@pytest.mark.parametrize("name", list(CASES))
def test_result_dtype_and_values_match_torch(name):
    expression = CASES[name]
    ints, floats = np.array([1, 2, 3]), np.array([0.5, -1.5, 2.0], dtype=np.float32)
    actual = expression(minigrad, minigrad.tensor(ints), minigrad.tensor(floats))
    expected = expression(torch, torch.tensor(ints), torch.tensor(floats))
    assert actual.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_allclose(actual.data, expected.numpy(), rtol=1e-6)


def test_an_integer_mask_keeps_a_float32_graph_float32():
    x = minigrad.randn(2, 3, requires_grad=True)
    mask = minigrad.tensor(np.array([[1, 0, 1], [0, 1, 1]]))
    y = (x * mask).sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, mask.data)
