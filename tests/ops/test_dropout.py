"""dropout: statistics of the mask, the backward reuses it, seeding, eval mode, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops.dropout import dropout
from tests.helpers import check_finite_differences
from tests.strategies import arrays, shapes


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_a_fraction_close_to_one_minus_p(p):
    minigrad.manual_seed(0)
    y = dropout(minigrad.ones(200_000), p=p)
    kept = y.data != 0
    # binomial standard deviation of the kept fraction is ~0.001 here; allow 5 of them
    assert abs(kept.mean() - (1 - p)) < 0.005
    np.testing.assert_allclose(y.data[kept], 1 / (1 - p), rtol=1e-6)


def test_dropout_keeps_the_mean_in_expectation():
    minigrad.manual_seed(1)
    y = dropout(minigrad.full((100_000,), 3.0), p=0.3)
    assert abs(float(y.data.mean()) - 3.0) < 0.05


@given(arrays(shapes(1, 3)), st.floats(0.05, 0.95))
def test_dropout_backward_uses_the_forward_mask(x, p):
    x = x + np.where(x >= 0, 1.0, -1.0)  # no zeros, so output / x recovers the mask·scale
    xt = minigrad.tensor(x, requires_grad=True)
    y = dropout(xt, p=p)
    g = np.random.default_rng(0).standard_normal(x.shape)
    y.backward(g)
    np.testing.assert_allclose(xt.grad.data, g * (y.data / x), rtol=1e-12)


@given(arrays(shapes(1, 3)), st.floats(0.05, 0.95), st.integers(0, 2**31))
def test_dropout_backward_matches_finite_differences(x, p, seed):
    def fn(t):
        minigrad.manual_seed(seed)  # the same mask at every evaluation
        return dropout(t, p=p)

    check_finite_differences(fn, [x])


def test_dropout_repeats_under_manual_seed():
    x = minigrad.randn(64, 32)
    minigrad.manual_seed(7)
    first = dropout(x, 0.5).data.copy()
    second_draw = dropout(x, 0.5).data
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(dropout(x, 0.5).data, first)
    assert not np.array_equal(first, second_draw)


@pytest.mark.parametrize("kwargs", [dict(p=0.5, training=False), dict(p=0.0)])
def test_dropout_is_identity_in_eval_mode_or_with_p_zero(kwargs):
    x = minigrad.randn(4, 5, requires_grad=True)
    assert dropout(x, **kwargs) is x


def test_dropout_with_p_one_zeroes_output_and_gradient():
    x = minigrad.randn(4, 5, requires_grad=True)
    y = dropout(x, p=1.0)
    y.backward(np.ones(y.shape, np.float32))
    assert not y.data.any() and not x.grad.data.any()
    assert not np.isnan(y.data).any()


def test_dropout_keeps_float32():
    x = minigrad.randn(8, 8, requires_grad=True)
    y = dropout(x, 0.5)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_dropout_inplace_writes_into_x_and_backpropagates():
    leaf = minigrad.randn(6, 7, dtype=np.float64, requires_grad=True)
    x = leaf * 2.0
    minigrad.manual_seed(3)
    y = dropout(x, p=0.4, inplace=True)
    assert y is x
    y.backward(np.ones(y.shape))
    minigrad.manual_seed(3)
    expected = dropout(minigrad.tensor(np.ones((6, 7))), p=0.4).data * 2.0
    np.testing.assert_allclose(leaf.grad.data, expected)


def test_dropout_inplace_through_a_view_is_recorded_on_the_base():
    leaf = minigrad.randn(4, 5, dtype=np.float64, requires_grad=True)
    base = leaf * 2.0
    view = base[1:]
    dropout(view, p=0.5, inplace=True)
    upstream = np.random.default_rng(0).standard_normal((4, 5))
    (base * minigrad.tensor(upstream)).sum().backward()
    kept = (base.data[1:] != 0) / 0.5  # the mask, scaled
    np.testing.assert_allclose(leaf.grad.data[0], 2.0 * upstream[0])
    np.testing.assert_allclose(leaf.grad.data[1:], 2.0 * upstream[1:] * kept)


def test_dropout_inplace_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = minigrad.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf tensor"):
        dropout(x[1:], inplace=True)


def test_dropout_inplace_on_a_leaf_that_requires_grad_raises():
    x = minigrad.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^dropout: "):
        dropout(x, inplace=True)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=rf"^dropout: .*p={p}"):
        dropout(minigrad.randn(3), p=p)


@pytest.mark.parametrize("x, error", [
    (np.ones(3), TypeError), (minigrad.tensor(np.arange(3)), TypeError),
])
def test_dropout_rejects_bad_input_types(x, error):
    with pytest.raises(error, match="^dropout: "):
        dropout(x)
