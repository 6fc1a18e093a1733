"""Reductions against torch (forward, backward) and finite differences; ties and bad dims."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.ops import reduce
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)


@st.composite
def distinct_values(draw, min_side=2):
    """A float64 array whose values are at least 0.4 apart (no ties: max/min are smooth)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    size = int(np.prod(shape))
    ranks = rng.permutation(size) - size / 2
    return (ranks * 0.5 + rng.uniform(0, 0.1, size)).reshape(shape)


@st.composite
def reduce_case(draw):
    """An array, a `dim` (None, an int or a tuple, negatives included) and `keepdim`."""
    x = draw(distinct_values())
    axes = draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1, max_size=x.ndim))
    dims = tuple(a - x.ndim if draw(st.booleans()) else a for a in axes)
    dim = draw(st.sampled_from([None, dims, dims[0]]))
    return x, dim, draw(st.booleans())


REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, k), lambda t, d, k: t.sum(dim=d, keepdim=k)),
    "mean": (lambda x, d, k: x.mean(d, k), lambda t, d, k: t.mean(dim=d, keepdim=k)),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda t, d, k: t.var(dim=d, keepdim=k)),
    "var_biased": (lambda x, d, k: reduce.var(x, d, correction=0, keepdim=k),
                   lambda t, d, k: t.var(dim=d, correction=0, keepdim=k)),
}


def _bind(name, dim, keepdim):
    mg_fn, torch_fn = REDUCTIONS[name]
    return (lambda x: mg_fn(x, dim, keepdim)), (lambda t: torch_fn(t, dim, keepdim))


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduce_case())
def test_reduction_forward_matches_torch(name, case):
    x, dim, keepdim = case
    check_forward_matches_torch(*_bind(name, dim, keepdim), [x])


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduce_case())
def test_reduction_backward_matches_torch(name, case):
    x, dim, keepdim = case
    check_backward_matches_torch(*_bind(name, dim, keepdim), [x])


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduce_case())
def test_reduction_backward_matches_finite_differences(name, case):
    x, dim, keepdim = case
    check_finite_differences(_bind(name, dim, keepdim)[0], [x])


@pytest.mark.parametrize("op", ["max", "min"])
@given(x=distinct_values(min_side=1))
def test_full_max_min_match_torch_and_finite_differences(op, x):
    mg_fn, torch_fn = (lambda t: getattr(t, op)()), (lambda t: getattr(t, op)())
    check_forward_matches_torch(mg_fn, torch_fn, [x])
    check_backward_matches_torch(mg_fn, torch_fn, [x])
    check_finite_differences(mg_fn, [x])


@pytest.mark.parametrize("op", ["max", "min"])
@given(x=distinct_values(min_side=1), data=st.data())
def test_max_min_along_dim_match_torch_and_finite_differences(op, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    mg_fn = lambda t: getattr(t, op)(dim, keepdim).values  # noqa: E731
    torch_fn = lambda t: getattr(t, op)(dim, keepdim).values  # noqa: E731
    check_forward_matches_torch(mg_fn, torch_fn, [x])
    check_backward_matches_torch(mg_fn, torch_fn, [x])
    check_finite_differences(mg_fn, [x])
    indices = getattr(minigrad.tensor(x), op)(dim, keepdim).indices
    np.testing.assert_array_equal(indices.data, getattr(torch.tensor(x), op)(dim, keepdim).indices)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(x=distinct_values(min_side=1), data=st.data())
def test_argmax_argmin_match_torch(op, x, data):
    dim = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    out = getattr(minigrad.tensor(x), op)(dim, keepdim)
    expected = getattr(torch.tensor(x), op)(dim=dim, keepdim=keepdim)
    assert out.dtype == np.int64 and out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.data, expected.numpy())


def _grad(fn, values):
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    fn(t).backward()
    return x.grad.data, t.grad.numpy()


def test_full_max_splits_gradient_evenly_among_ties_like_torch():
    mine, theirs = _grad(lambda t: t.max(), [[1.0, 3.0], [3.0, 3.0]])
    np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(mine, [[0.0, 1 / 3], [1 / 3, 1 / 3]])


def test_full_min_splits_gradient_evenly_among_ties_like_torch():
    mine, theirs = _grad(lambda t: t.min(), [-1.0, 2.0, -1.0])
    np.testing.assert_array_equal(mine, theirs)


def test_max_along_dim_sends_gradient_to_the_returned_index_on_ties():
    mine, theirs = _grad(lambda t: t.max(1).values.sum(), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(mine, [[0, 1, 0], [1, 0, 0]])


def test_max_along_dim_returns_named_values_and_int64_indices():
    x = minigrad.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    result = x.max(dim=0)
    values, indices = result
    assert values is result.values and indices is result.indices
    np.testing.assert_array_equal(values.data, [7.0, 5.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert indices.dtype == np.int64 and not indices.requires_grad and values.requires_grad


def test_max_of_a_0d_tensor_along_dim_zero_matches_torch():
    result = minigrad.tensor(2.5).max(0)
    expected = torch.tensor(2.5).max(0)
    assert result.values.shape == () and result.values.item() == expected.values.item()
    assert result.indices.item() == 0


def test_sum_over_dim_zero_of_a_0d_tensor_matches_torch():
    assert minigrad.tensor(3.0).sum(0).shape == torch.tensor(3.0).sum(0).shape == ()


@pytest.mark.filterwarnings(r"ignore:var\(\)")
def test_var_with_one_element_per_output_is_nan_like_torch():
    out = minigrad.tensor([[1.0, 2.0]]).var(0)
    assert np.isnan(out.data).all() and torch.tensor([[1.0, 2.0]]).var(0).isnan().all()


@pytest.mark.parametrize("fn", [
    lambda x: x.sum(), lambda x: x.mean(1), lambda x: x.var((0, 1)), lambda x: x.max(),
    lambda x: x.min(1).values.sum(),
])
def test_reductions_keep_float32(fn):
    x = minigrad.randn(3, 4, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("op, call", [
    ("sum", lambda x: x.sum(2)), ("mean", lambda x: x.mean((0, -3))),
    ("var", lambda x: x.var(5)), ("max", lambda x: x.max(2)), ("min", lambda x: x.min(-3)),
    ("argmax", lambda x: x.argmax(2)), ("argmin", lambda x: x.argmin(-4)),
])
def test_dim_out_of_range_raises_value_error_naming_op(op, call):
    with pytest.raises(ValueError, match=rf"^{op}: dim .* out of range .*2 dims"):
        call(minigrad.zeros(2, 3))


def test_repeated_dim_raises_value_error():
    with pytest.raises(ValueError, match=r"^sum: dim \(0, -2\) names the same dim twice"):
        minigrad.zeros(2, 3).sum((0, -2))


@pytest.mark.parametrize("op", ["max", "min", "argmax"])
def test_reducing_an_empty_tensor_raises_value_error(op):
    with pytest.raises(ValueError, match=rf"^{op}: .*no elements.*\(0, 3\)"):
        getattr(minigrad.zeros(0, 3), op)()


def test_non_int_dim_raises_type_error():
    with pytest.raises(TypeError, match="^sum: dim must be an int"):
        minigrad.zeros(2).sum(0.5)


def test_mean_of_an_integer_tensor_raises_type_error():
    with pytest.raises(TypeError, match="^mean: .*int64"):
        minigrad.arange(4).mean()


NAN = float("nan")
WITH_NANS = np.array([[1.0, NAN, 3.0, NAN], [1.0, 5.0, 2.0, 2.0], [NAN, -1.0, -1.0, 0.0]])


@pytest.mark.parametrize("op", ["max", "min"])
def test_full_max_min_over_nans_split_the_gradient_among_the_nans_like_torch(op):
    x = minigrad.tensor(WITH_NANS, requires_grad=True)
    t = torch.tensor(WITH_NANS, requires_grad=True)
    y, ty = getattr(x, op)(), getattr(t, op)()
    assert np.isnan(y.item()) and np.isnan(ty.item())
    (y * 3.0).backward()
    (ty * 3.0).backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    np.testing.assert_array_equal(x.grad.data, np.isnan(WITH_NANS) * 1.0)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_along_dim_over_nans_match_torch(op, dim):
    check_forward_matches_torch(lambda x: getattr(x, op)(dim).values,
                                lambda t: getattr(t, op)(dim).values, [WITH_NANS])
    check_backward_matches_torch(lambda x: getattr(x, op)(dim).values,
                                 lambda t: getattr(t, op)(dim).values, [WITH_NANS])
    ours = getattr(minigrad.tensor(WITH_NANS), op)(dim).indices
    np.testing.assert_array_equal(ours.data, getattr(torch.tensor(WITH_NANS), op)(dim).indices)


FLOAT32_REDUCTIONS = {
    "sum": (lambda x: x.sum(1), None), "mean": (lambda x: x.mean((0, 2)), None),
    "var": (lambda x: x.var(2), None), "max": (lambda x: x.max(), None),
    "min_dim": (lambda x: x.min(1).values, lambda t: t.min(1).values),
    "max_dim_keepdim": (lambda x: x.max(0, keepdim=True).values,
                        lambda t: t.max(0, keepdim=True).values),
}


@pytest.mark.parametrize("name", FLOAT32_REDUCTIONS)
@given(seed=st.integers(0, 2**32 - 1))
def test_reduction_float32_gradients_match_torch(name, seed):
    mg_fn, torch_fn = FLOAT32_REDUCTIONS[name]
    x = np.random.default_rng(seed).standard_normal((3, 4, 5)).astype(np.float32)
    check_backward_matches_torch(mg_fn, torch_fn or mg_fn, [x], atol=1e-6, rtol=1e-5,
                                 seed=seed)
