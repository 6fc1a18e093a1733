"""avg_pool2d, max_pool2d and adaptive_avg_pool2d against torch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import arrays


@st.composite
def pool_cases(draw, max_pool: bool):
    """(x, kwargs): a 3-D or 4-D input and valid pooling arguments, including stride 2 on
    odd sizes, padding up to half the kernel and ceil_mode."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if max_pool else (1, 1)
    # dilated max-pool windows could lie wholly in the padding of a smaller input (torch then
    # returns -inf and an index outside the plane), so those inputs hold a whole window
    smallest = [d * (k - 1) + 1 - (0 if max_pool else 2 * p)
                for k, p, d in zip(kernel, padding, dilation)]
    sides = [max(side, 1) + draw(st.integers(0, 4)) for side in smallest]
    lead = draw(st.sampled_from([(1, 1), (2, 3), (3,)]))
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding,
                  ceil_mode=draw(st.booleans()))
    if max_pool:
        kwargs["dilation"] = dilation
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        kwargs["divisor_override"] = draw(st.sampled_from([None, None, 3]))
    return _distinct_values((*lead, *sides), draw(st.integers(0, 2**31))), kwargs


def _distinct_values(shape, seed: int) -> np.ndarray:
    """Values at least ~0.01 apart, so that max-pool's arg-max survives a finite difference."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size) * (4.0 / size) - 2.0).reshape(shape)


def _max_pool(**kwargs):
    return lambda x: max_pool2d(x, **kwargs)


def _torch_max_pool(**kwargs):
    return lambda x: TF.max_pool2d(x, **kwargs)


@given(pool_cases(max_pool=True))
def test_max_pool2d_forward_matches_torch(case):
    x, kwargs = case
    check_forward_matches_torch(_max_pool(**kwargs), _torch_max_pool(**kwargs), [x])


@given(pool_cases(max_pool=True))
def test_max_pool2d_indices_match_torch(case):
    x, kwargs = case
    _, indices = max_pool2d(minigrad.tensor(x), return_indices=True, **kwargs)
    _, expected = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, expected.numpy())


@given(pool_cases(max_pool=True))
def test_max_pool2d_backward_matches_torch(case):
    x, kwargs = case
    check_backward_matches_torch(_max_pool(**kwargs), _torch_max_pool(**kwargs), [x])


@given(pool_cases(max_pool=True))
def test_max_pool2d_backward_matches_finite_differences(case):
    x, kwargs = case
    check_finite_differences(_max_pool(**kwargs), [x])


def test_max_pool2d_ties_send_gradient_to_first_maximum():
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [2.0, 3.0, 3.0]]]])
    kwargs = dict(kernel_size=2, stride=1)
    check_backward_matches_torch(_max_pool(**kwargs), _torch_max_pool(**kwargs), [x])
    xt = minigrad.tensor(x, requires_grad=True)
    max_pool2d(xt, **kwargs).sum().backward()
    # first maxima of the four windows in row-major order: (0,1), (0,1), (1,0), (1,2)
    expected = np.array([[[[0.0, 2.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(xt.grad.data, expected)


def test_max_pool2d_ties_with_padding_never_pick_the_padding():
    x = np.full((1, 1, 3, 3), -5.0)
    kwargs = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    check_backward_matches_torch(_max_pool(**kwargs), _torch_max_pool(**kwargs), [x])
    _, indices = max_pool2d(minigrad.tensor(x), return_indices=True, **kwargs)
    _, expected = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(indices.data, expected.numpy())


def test_max_pool2d_nan_is_the_maximum_as_torch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    x[0, 0, 1, 1] = np.nan
    kwargs = dict(kernel_size=2)
    y, indices = max_pool2d(minigrad.tensor(x), return_indices=True, **kwargs)
    ty, expected = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(y.data, ty.numpy())
    np.testing.assert_array_equal(indices.data, expected.numpy())


@given(pool_cases(max_pool=False))
def test_avg_pool2d_forward_matches_torch(case):
    x, kwargs = case
    check_forward_matches_torch(lambda t: avg_pool2d(t, **kwargs),
                                lambda t: TF.avg_pool2d(t, **kwargs), [x])


@given(pool_cases(max_pool=False))
def test_avg_pool2d_backward_matches_torch(case):
    x, kwargs = case
    check_backward_matches_torch(lambda t: avg_pool2d(t, **kwargs),
                                 lambda t: TF.avg_pool2d(t, **kwargs), [x])


@given(pool_cases(max_pool=False))
def test_avg_pool2d_backward_matches_finite_differences(case):
    x, kwargs = case
    check_finite_differences(lambda t: avg_pool2d(t, **kwargs), [x])


@st.composite
def adaptive_cases(draw):
    """(x, output_size) with outputs that divide the input, do not, exceed it, or are None."""
    shape = draw(st.sampled_from([(1, 2), (2, 1), (3,)])) + (draw(st.integers(1, 7)),
                                                           draw(st.integers(1, 7)))
    size = tuple(draw(st.one_of(st.none(), st.integers(1, side + 1))) for side in shape[-2:])
    output_size = size[0] if size[0] == size[1] and size[0] is not None else size
    return draw(arrays(shape)), output_size


@given(adaptive_cases())
def test_adaptive_avg_pool2d_forward_matches_torch(case):
    x, size = case
    check_forward_matches_torch(lambda t: adaptive_avg_pool2d(t, size),
                                lambda t: TF.adaptive_avg_pool2d(t, size), [x], atol=1e-12)


@given(adaptive_cases())
def test_adaptive_avg_pool2d_backward_matches_torch(case):
    x, size = case
    check_backward_matches_torch(lambda t: adaptive_avg_pool2d(t, size),
                                 lambda t: TF.adaptive_avg_pool2d(t, size), [x], atol=1e-12)


@given(adaptive_cases())
def test_adaptive_avg_pool2d_backward_matches_finite_differences(case):
    x, size = case
    check_finite_differences(lambda t: adaptive_avg_pool2d(t, size), [x])


@pytest.mark.parametrize("size", [1, (2, 3), (3, 4)], ids=["global", "divides", "general"])
def test_adaptive_avg_pool2d_every_path_matches_torch(rng, size):
    x = rng.standard_normal((2, 3, 6, 9))
    check_backward_matches_torch(lambda t: adaptive_avg_pool2d(t, size),
                                 lambda t: TF.adaptive_avg_pool2d(t, size), [x], atol=1e-12)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_stride_two_on_odd_sizes_matches_torch(rng, name, ceil_mode):
    x = rng.standard_normal((2, 3, 7, 9))
    ours, theirs = {"max_pool2d": (max_pool2d, TF.max_pool2d),
                    "avg_pool2d": (avg_pool2d, TF.avg_pool2d)}[name]
    kwargs = dict(kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode)
    check_forward_matches_torch(lambda t: ours(t, **kwargs), lambda t: theirs(t, **kwargs), [x])
    check_backward_matches_torch(lambda t: ours(t, **kwargs), lambda t: theirs(t, **kwargs), [x])


@pytest.mark.parametrize("pool", [
    lambda t: max_pool2d(t, 3, 2, 1), lambda t: avg_pool2d(t, 3, 2, 1, ceil_mode=True),
    lambda t: adaptive_avg_pool2d(t, 1), lambda t: adaptive_avg_pool2d(t, (2, 3)),
], ids=["max", "avg", "adaptive_global", "adaptive_general"])
def test_pooling_keeps_float32(rng, pool):
    x = minigrad.tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32), requires_grad=True)
    y = pool(x)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


_X = np.zeros((2, 3, 5, 5))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: max_pool2d(x, 2), ValueError, r"^max_pool2d: .*\(5, 5\)"),
    (lambda x: avg_pool2d(x, 2), ValueError, r"^avg_pool2d: .*\(5, 5\)"),
    (lambda x: adaptive_avg_pool2d(x, 2), ValueError, r"^adaptive_avg_pool2d: .*\(5, 5\)"),
])
def test_pooling_rejects_2d_input(call, error, message):
    with pytest.raises(error, match=message):
        call(minigrad.tensor(_X[0, 0]))


def test_pooling_rejects_5d_input():
    with pytest.raises(ValueError, match=r"^avg_pool2d: .*\(1, 2, 3, 5, 5\)"):
        avg_pool2d(minigrad.tensor(_X[None]), 2)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: max_pool2d(x, 3, padding=2), ValueError, r"^max_pool2d: padding .*\(2, 2\)"),
    (lambda x: avg_pool2d(x, (2, 3), padding=(1, 2)), ValueError, r"^avg_pool2d: padding"),
    (lambda x: max_pool2d(x, 6), ValueError, r"^max_pool2d: kernel_size=\(6, 6\).* \(5, 5\)"),
    (lambda x: avg_pool2d(x, (2, 8), padding=1), ValueError, r"^avg_pool2d: kernel_size"),
    (lambda x: max_pool2d(x, 3, dilation=3), ValueError, r"^max_pool2d: kernel_size"),
    (lambda x: max_pool2d(x, 2, stride=0), ValueError, r"^max_pool2d: stride"),
    (lambda x: avg_pool2d(x, 2, divisor_override=0), ValueError, r"^avg_pool2d: divisor"),
    (lambda x: max_pool2d(x, 2.5), TypeError, r"^max_pool2d: kernel_size"),
    (lambda x: avg_pool2d(x.data, 2), TypeError, r"^avg_pool2d: input must be a Tensor"),
    (lambda x: max_pool2d(minigrad.tensor(x.data.astype(np.int64)), 2), TypeError,
     r"^max_pool2d: .*int64"),
    (lambda x: adaptive_avg_pool2d(x, (0, 2)), ValueError, r"^adaptive_avg_pool2d: .*\(0, 2\)"),
    (lambda x: adaptive_avg_pool2d(x, (1, 2, 3)), TypeError, r"^adaptive_avg_pool2d: "),
])
def test_pooling_rejects_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(minigrad.tensor(_X))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=(2, 3), stride=2, padding=(1, 1), ceil_mode=True),
])
def test_max_pool2d_all_minus_inf_windows_send_the_gradient_to_the_first_real_element(kwargs):
    """torch starts each window's search at its first element inside the input; where every
    real element is −inf, that element keeps the gradient (padding would lose it)."""
    x = np.arange(50.0).reshape(1, 2, 5, 5)
    x[0, 0] = -np.inf
    x[0, 1, :2, :3] = -np.inf
    check_backward_matches_torch(_max_pool(**kwargs), _torch_max_pool(**kwargs), [x])
    _, indices = max_pool2d(minigrad.tensor(x), return_indices=True, **kwargs)
    _, expected = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(indices.data, expected.numpy())


@pytest.mark.parametrize("pool", ["max", "avg", "adaptive"])
@given(seed=st.integers(0, 2**31))
def test_pooling_float32_gradients_match_torch(pool, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, 7, 6)).astype(np.float32)
    mg_fn, torch_fn = {
        "max": (_max_pool(kernel_size=3, stride=2, padding=1),
                _torch_max_pool(kernel_size=3, stride=2, padding=1)),
        "avg": (lambda t: avg_pool2d(t, 3, stride=2, padding=1),
                lambda t: TF.avg_pool2d(t, 3, stride=2, padding=1)),
        "adaptive": (lambda t: adaptive_avg_pool2d(t, (3, 4)),
                     lambda t: TF.adaptive_avg_pool2d(t, (3, 4))),
    }[pool]
    check_backward_matches_torch(mg_fn, torch_fn, [x], atol=1e-6, rtol=1e-5, seed=seed)
