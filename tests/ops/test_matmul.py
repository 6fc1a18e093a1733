"""matmul and linear against torch (forward, backward) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.ops.matmul import linear, matmul
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import arrays


def _check_all(mg_fn, torch_fn, inputs):
    check_forward_matches_torch(mg_fn, torch_fn, inputs)
    check_backward_matches_torch(mg_fn, torch_fn, inputs)
    check_finite_differences(mg_fn, inputs)


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((2, 3), (2, 3, 4)),
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul_matches_torch_and_finite_differences(a_shape, b_shape):
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    _check_all(matmul, torch.matmul, [rng.standard_normal(a_shape), rng.standard_normal(b_shape)])


@st.composite
def matmul_operands(draw):
    """Two arrays that torch.matmul accepts: vectors, matrices or broadcast batches."""
    a_batch, b_batch = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=2, max_side=3)).input_shapes
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    a_shape = (k,) if draw(st.booleans()) and not a_batch else a_batch + (m, k)
    b_shape = (k,) if draw(st.booleans()) and not b_batch else b_batch + (k, n)
    return draw(arrays(a_shape)), draw(arrays(b_shape))


@given(operands=matmul_operands())
def test_matmul_with_broadcast_batches_matches_torch(operands):
    check_forward_matches_torch(matmul, torch.matmul, operands, atol=1e-9)
    check_backward_matches_torch(matmul, torch.matmul, operands, atol=1e-9)


@given(operands=matmul_operands())
def test_matmul_backward_matches_finite_differences(operands):
    check_finite_differences(matmul, operands)


@st.composite
def linear_operands(draw):
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return draw(arrays(lead + (n_in,))), draw(arrays((n_out, n_in))), draw(arrays((n_out,)))


@given(operands=linear_operands(), with_bias=st.booleans())
def test_linear_matches_torch_and_finite_differences(operands, with_bias):
    inputs = operands if with_bias else operands[:2]
    check_forward_matches_torch(linear, torch_F.linear, inputs, atol=1e-9)
    check_backward_matches_torch(linear, torch_F.linear, inputs, atol=1e-9)
    check_finite_differences(linear, inputs)


def test_linear_is_one_graph_node():
    x, w, b = (minigrad.randn(*s, requires_grad=True) for s in ((2, 3), (4, 3), (4,)))
    y = linear(x, w, b)
    assert y.grad_fn.function.__name__ == "Linear"
    assert all(parent is not None for parent in y.grad_fn.parents)


def test_matmul_operator_and_python_operands():
    a = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    np.testing.assert_allclose((a @ [1.0, 1.0]).data, [3.0, 7.0])
    np.testing.assert_allclose(([1.0, 0.0] @ a).data, [1.0, 2.0])
    np.testing.assert_allclose(matmul(a, np.eye(2)).data, a.data)
    assert (a @ [1.0, 1.0]).dtype == np.float32


def test_matmul_and_linear_keep_float32():
    a, b = minigrad.randn(2, 3, requires_grad=True), minigrad.randn(3, 4, requires_grad=True)
    (a @ b).sum().backward()
    assert (a @ b).dtype == a.grad.dtype == b.grad.dtype == np.float32
    w = minigrad.randn(4, 3, requires_grad=True)
    linear(a, w, minigrad.zeros(4)).sum().backward()
    assert w.grad.dtype == np.float32


def test_needs_input_grad_skips_gradients_of_constants():
    a, b = minigrad.randn(2, 3, requires_grad=True), minigrad.randn(3, 4)
    (a @ b).sum().backward()
    assert a.grad is not None and b.grad is None


@pytest.mark.parametrize("a_shape, b_shape", [
    ((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((2, 2, 3), (3, 3, 4)),
])
def test_matmul_mismatched_shapes_raise_value_error_naming_both(a_shape, b_shape):
    pattern = rf"^matmul: shapes {a_shape} and {b_shape}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=pattern):
        matmul(minigrad.zeros(*a_shape), minigrad.zeros(*b_shape))


def test_matmul_of_a_scalar_raises_value_error():
    with pytest.raises(ValueError, match="^matmul: .*at least 1-D"):
        matmul(minigrad.zeros(2), 3.0)


def test_matmul_of_mixed_dtypes_raises_type_error():
    with pytest.raises(TypeError, match="^matmul: expected one dtype, got float32, float64"):
        matmul(minigrad.zeros(2, 2), minigrad.zeros(2, 2, dtype="float64"))


@pytest.mark.parametrize("x_shape, w_shape, b_shape, pattern", [
    ((2, 3), (4, 5), None, r"^linear: x of shape \(2, 3\) and weight of shape \(4, 5\)"),
    ((2, 3), (3,), None, r"^linear: x of shape \(2, 3\) and weight of shape \(3,\)"),
    ((2, 3), (4, 3), (3,), r"^linear: bias has shape \(3,\), expected \(4,\)"),
])
def test_linear_bad_shapes_raise_value_error(x_shape, w_shape, b_shape, pattern):
    bias = None if b_shape is None else minigrad.zeros(*b_shape)
    with pytest.raises(ValueError, match=pattern):
        linear(minigrad.zeros(*x_shape), minigrad.zeros(*w_shape), bias)


def test_linear_with_non_tensor_weight_raises_type_error():
    with pytest.raises(TypeError, match="^linear: weight must be a Tensor"):
        linear(minigrad.zeros(2, 3), np.zeros((4, 3)))
