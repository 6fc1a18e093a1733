"""No silent float64: integer and bool operands meeting float32 ones, Python floats meeting
integer tensors, true division of integers, float ops on integers, 0-d tensors (which promote
only across categories: bool < integer < float) and cat/stack give torch's dtypes."""

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


ZERO_DIM = {
    "float32 + float64 0-d": lambda m, i, f: f + m.tensor(np.float64(2.5)),
    "float64 0-d * float32": lambda m, i, f: m.tensor(np.float64(2.5)) * f,
    "int64 + float64 0-d": lambda m, i, f: i + m.tensor(np.float64(2.5)),
    "int32 + int64 0-d": lambda m, i, f: i.int() + m.tensor(3),
    "int64 0-d + int32 0-d": lambda m, i, f: m.tensor(3) + m.tensor(np.int32(2)),
    "bool + int64 0-d": lambda m, i, f: (i > 1) + m.tensor(3),
    "uint8 + int64 0-d": lambda m, i, f: i.to(m.uint8) + m.tensor(3),
    "float16 + float32 0-d": lambda m, i, f: f.half() + m.tensor(np.float32(1.5)),
    "float16 + Python float": lambda m, i, f: f.half() * 1.5,
    "int32 + Python int": lambda m, i, f: i.int() * 7,
    "uint8 + Python int that wraps": lambda m, i, f: i.to(m.uint8) + 300,
    "int64 0-d + Python float": lambda m, i, f: m.tensor(3) + 0.5,
    "float32 0-d + float64 0-d":
        lambda m, i, f: m.tensor(np.float32(1.0)) + m.tensor(2.0, dtype=m.float64),
    "maximum(float32, float64 0-d)": lambda m, i, f: m.maximum(f, m.tensor(np.float64(0.0))),
    "where(c, float32, float64 0-d)":
        lambda m, i, f: m.where(i > 1, f, m.tensor(np.float64(7.0))),
    "cat(float32, int64)": lambda m, i, f: m.cat([f, i]),
    "cat(int64, float64)": lambda m, i, f: m.cat([i, f.double()]),
    "stack(int32, float32)": lambda m, i, f: m.stack([i.int(), f]),
    "float32 / int64 0-d": lambda m, i, f: f / m.tensor(2),
    "int64 / int64 0-d": lambda m, i, f: i / m.tensor(2),
    "clamp(float32, min=float64 0-d)": lambda m, i, f: f.clamp(min=m.tensor(np.float64(0.0))),
}
CASES.update(ZERO_DIM)


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


def test_a_float64_0d_tensor_that_requires_grad_gets_a_float64_gradient_through_float32():
    x = minigrad.randn(2, 3, requires_grad=True)
    scale = minigrad.tensor(np.float64(2.0), requires_grad=True)
    y = x * scale
    assert y.dtype == np.float32
    y.sum().backward()
    assert scale.grad.dtype == np.float64 and x.grad.dtype == np.float32
    np.testing.assert_allclose(scale.grad.item(), x.data.sum(), rtol=1e-6)


def test_cat_of_float32_and_int64_backpropagates_into_the_float_part():
    f = minigrad.randn(2, requires_grad=True)
    out = minigrad.cat([f, minigrad.tensor([1, 2])])
    assert out.dtype == np.float32
    (out * minigrad.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(f.grad.data, [1.0, 2.0])
