"""Elementwise ops against torch (forward, backward) and finite differences, with broadcasting."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.ops import elementwise as ew
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import away_from, broadcastable_pair, finite, positive, shapes


@st.composite
def gaussian_pair(draw):
    """Broadcastable float64 arrays with continuous values: no ties, so no kinks."""
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, max_side=4)).input_shapes
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal(a_shape), rng.standard_normal(b_shape)


def _shift_away_from_zero(b):
    return np.where(np.abs(b) < 0.5, b + np.copysign(1.0, b), b)


BINARY = {
    "add": (ew.add, torch.add, lambda a, b: (a, b)),
    "sub": (ew.sub, torch.sub, lambda a, b: (a, b)),
    "mul": (ew.mul, torch.mul, lambda a, b: (a, b)),
    "div": (ew.div, torch.div, lambda a, b: (a, _shift_away_from_zero(b))),
    "pow": (ew.pow, torch.pow, lambda a, b: (np.abs(a) + 0.5, b)),
    "maximum": (ew.maximum, torch.maximum, lambda a, b: (a, b)),
    "minimum": (ew.minimum, torch.minimum, lambda a, b: (a, b)),
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=gaussian_pair())
def test_binary_op_forward_matches_torch(name, pair):
    mg_fn, torch_fn, domain = BINARY[name]
    check_forward_matches_torch(mg_fn, torch_fn, domain(*pair))


@pytest.mark.parametrize("name", BINARY)
@given(pair=gaussian_pair())
def test_binary_op_backward_matches_torch_with_broadcasting(name, pair):
    mg_fn, torch_fn, domain = BINARY[name]
    check_backward_matches_torch(mg_fn, torch_fn, domain(*pair))


@pytest.mark.parametrize("name", BINARY)
@given(pair=gaussian_pair())
def test_binary_op_backward_matches_finite_differences(name, pair):
    mg_fn, _, domain = BINARY[name]
    check_finite_differences(mg_fn, domain(*pair))


@given(pair=broadcastable_pair())
def test_add_and_mul_match_torch_on_hypothesis_values(pair):
    for mg_fn, torch_fn in ((ew.add, torch.add), (ew.mul, torch.mul)):
        check_forward_matches_torch(mg_fn, torch_fn, pair)
        check_backward_matches_torch(mg_fn, torch_fn, pair)


UNARY = {
    "neg": (ew.neg, torch.neg, hnp.arrays(np.float64, shapes(max_dims=3), elements=finite)),
    "exp": (ew.exp, torch.exp, hnp.arrays(np.float64, shapes(max_dims=3),
                                          elements=st.floats(-5, 5))),
    "log": (ew.log, torch.log, hnp.arrays(np.float64, shapes(max_dims=3), elements=positive())),
    "sqrt": (ew.sqrt, torch.sqrt, hnp.arrays(np.float64, shapes(max_dims=3),
                                             elements=positive())),
    "abs": (ew.abs, torch.abs, hnp.arrays(np.float64, shapes(max_dims=3),
                                          elements=away_from([0.0]))),
    "clip": (lambda x: ew.clip(x, -1.0, 2.0), lambda x: torch.clamp(x, -1.0, 2.0),
             hnp.arrays(np.float64, shapes(max_dims=3), elements=away_from([-1.0, 2.0]))),
    "clip_min_only": (lambda x: ew.clip(x, min=0.5), lambda x: torch.clamp(x, min=0.5),
                      hnp.arrays(np.float64, shapes(max_dims=3), elements=away_from([0.5]))),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_matches_torch_and_finite_differences(name, data):
    mg_fn, torch_fn, values = UNARY[name]
    x = data.draw(values)
    check_forward_matches_torch(mg_fn, torch_fn, [x])
    check_backward_matches_torch(mg_fn, torch_fn, [x])
    check_finite_differences(mg_fn, [x])


@given(pair=gaussian_pair(), data=st.data())
def test_where_matches_torch(pair, data):
    a, b = pair
    shape = np.broadcast_shapes(a.shape, b.shape)
    cond = data.draw(hnp.arrays(np.bool_, shape))
    mg_fn = lambda x, y: minigrad.where(minigrad.tensor(cond), x, y)  # noqa: E731
    torch_fn = lambda x, y: torch.where(torch.tensor(cond), x, y)  # noqa: E731
    check_forward_matches_torch(mg_fn, torch_fn, [a, b])
    check_backward_matches_torch(mg_fn, torch_fn, [a, b])
    check_finite_differences(mg_fn, [a, b])


COMPARISONS = ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]


@given(pair=broadcastable_pair())
def test_comparisons_match_torch_and_have_no_grad(pair):
    a, b = pair
    for method in COMPARISONS:
        out = getattr(minigrad.tensor(a, requires_grad=True), method)(minigrad.tensor(b))
        expected = getattr(torch.tensor(a), method)(torch.tensor(b))
        assert out.dtype == np.bool_ and not out.requires_grad, method
        np.testing.assert_array_equal(out.data, expected.numpy(), err_msg=method)


def _grads(mg_fn, torch_fn, *values):
    """minigrad's and torch's input gradients of sum(f(inputs)) at exact values."""
    mg = [minigrad.tensor(v, dtype="float64", requires_grad=True) for v in values]
    th = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    mg_fn(*mg).sum().backward()
    torch_fn(*th).sum().backward()
    return [m.grad.data for m in mg], [t.grad.numpy() for t in th]


@pytest.mark.parametrize("mg_fn, torch_fn", [(ew.maximum, torch.maximum),
                                             (ew.minimum, torch.minimum)])
def test_maximum_minimum_ties_split_gradient_like_torch(mg_fn, torch_fn):
    mine, theirs = _grads(mg_fn, torch_fn, [1.0, 2.0, 3.0], [1.0, 0.0, 3.0])
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)
    np.testing.assert_array_equal(mine[0], [0.5, 1.0 if mg_fn is ew.maximum else 0.0, 0.5])


def test_clip_gradient_at_the_bounds_is_one_like_torch():
    mine, theirs = _grads(lambda x: ew.clip(x, -1.0, 2.0), lambda x: x.clamp(-1.0, 2.0),
                          [-1.0, 2.0, -3.0, 5.0, 0.0])
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[0], [1.0, 1.0, 0.0, 0.0, 1.0])


def test_abs_gradient_at_zero_is_zero_like_torch():
    mine, theirs = _grads(ew.abs, torch.abs, [0.0, -2.0, 3.0])
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[0], [0.0, -1.0, 1.0])


def test_pow_gradients_at_zero_base_match_torch():
    mine, theirs = _grads(ew.pow, torch.pow, [0.0, 0.0, 2.0, 0.0], [2.0, 0.0, 0.0, 0.5])
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)


@pytest.mark.parametrize("make", [
    lambda x: x * 2.5, lambda x: 2.5 - x, lambda x: x / 3, lambda x: x ** 2,
    lambda x: 1.0 + x, lambda x: x * np.float64(2.0), lambda x: ew.maximum(x, 0.0),
    lambda x: ew.where(x > 0, x, 0.0), lambda x: ew.clip(x, 0.0, 1.0),
])
def test_scalar_operands_keep_float32(make):
    x = minigrad.tensor([1.0, -2.0], requires_grad=True)
    y = make(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_is_kept():
    x = minigrad.tensor(np.array([1.0, 2.0]))
    assert (x * 2).dtype == np.float64 and ew.exp(x).dtype == np.float64


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_mismatched_shapes_raise_value_error_naming_op_and_shapes(op):
    a, b = minigrad.zeros(2, 3), minigrad.zeros(4)
    with pytest.raises(ValueError, match=rf"^{op}: .*\(2, 3\).*\(4,\)"):
        getattr(ew, op)(a, b)


def test_where_with_mismatched_condition_raises_value_error():
    with pytest.raises(ValueError, match=r"^where: .*\(5,\)"):
        ew.where(np.ones(5, dtype=bool), minigrad.zeros(2, 3), 0.0)


def test_clip_without_bounds_raises_value_error():
    with pytest.raises(ValueError, match="^clip"):
        ew.clip(minigrad.zeros(2))


@given(pair=gaussian_pair())
def test_broadcast_gradient_is_summed_back_to_input_shape(pair):
    a, b = (minigrad.tensor(v, requires_grad=True) for v in pair)
    (a * b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    expected = np.broadcast_to(pair[1], np.broadcast_shapes(a.shape, b.shape))
    extra = expected.ndim - a.ndim
    summed = expected.sum(axis=tuple(range(extra)))
    summed = summed.sum(axis=tuple(i for i, n in enumerate(a.shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(a.grad.data, summed.reshape(a.shape))


NAN = float("nan")


@pytest.mark.parametrize("mg_fn, torch_fn", [(ew.maximum, torch.maximum),
                                             (ew.minimum, torch.minimum)])
def test_maximum_minimum_with_a_nan_side_give_both_sides_the_gradient_like_torch(mg_fn,
                                                                                 torch_fn):
    mine, theirs = _grads(mg_fn, torch_fn, [1.0, NAN, 2.0, NAN], [NAN, 1.0, 2.0, NAN])
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)
    np.testing.assert_array_equal(mine[0], [1.0, 1.0, 0.5, 1.0])


def test_pow_exponent_gradient_at_negative_base_and_zero_to_minus_one_matches_torch():
    """d/db a**b = a**b · log a: NaN for a < 0, −inf at a = 0, b = −1 (torch's values)."""
    mine, theirs = _grads(ew.pow, torch.pow, [-2.0, 0.0, 0.0, -1.5, 2.0],
                          [2.0, -1.0, 2.0, 0.5, 0.5])
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)
    assert np.isnan(mine[1][0]) and mine[1][1] == -np.inf and mine[1][2] == 0.0


@st.composite
def clamp_operands(draw):
    """x with tensor bounds that broadcast to its shape, some with min > max."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, lo, hi = (rng.standard_normal(s) for s in (shapes.result_shape, *shapes.input_shapes))
    return x, np.asarray(lo - 0.5), np.asarray(hi + 0.5)


@given(operands=clamp_operands())
def test_clamp_with_tensor_bounds_matches_torch_and_finite_differences(operands):
    check_forward_matches_torch(ew.clip, torch.clamp, operands)
    check_backward_matches_torch(ew.clip, torch.clamp, operands)
    check_finite_differences(ew.clip, operands)


@pytest.mark.parametrize("bounds", ["min", "max", "both"])
def test_clamp_with_tensor_bounds_at_ties_and_crossed_bounds_matches_torch(bounds):
    x = [-1.0, 2.0, 0.0, 5.0, -3.0, 0.5]
    lo = [-1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    hi = [0.0, 2.0, -1.0, 1.0, 1.0, 0.0]  # x at a bound, and lo > hi in the last entries
    values = {"x": x, "min": lo, "max": hi}
    names = ["x", "min", "max"] if bounds == "both" else ["x", bounds]
    mg = {n: minigrad.tensor(values[n], dtype="float64", requires_grad=True) for n in names}
    th = {n: torch.tensor(values[n], dtype=torch.float64, requires_grad=True) for n in names}
    ew.clip(**mg).sum().backward()
    torch.clamp(th.pop("x"), **th).sum().backward()
    for n in th:
        np.testing.assert_array_equal(mg[n].grad.data, th[n].grad.numpy(), err_msg=n)


def test_clamp_with_tensor_bounds_keeps_float32_and_gradients_reach_the_bounds():
    x = minigrad.randn(3, 4, requires_grad=True)
    lo = minigrad.tensor(np.float64(-0.5), requires_grad=True)  # a 0-d float64 bound
    y = ew.clip(x, lo, 0.5)
    assert y.dtype == np.float32  # (torch: a 0-d tensor does not promote a float32 tensor)
    y.sum().backward()
    assert lo.grad.dtype == np.float64 and lo.grad.shape == ()
    assert lo.grad.item() == (x.data < -0.5).sum()
