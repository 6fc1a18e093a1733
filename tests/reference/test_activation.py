"""The reference activation kernels against torch 2.13 in float64 with random cotangents,
within 1e-10 (relative), at kinks, infinities and NaN too. Hard-sigmoid's gradient is checked
against the exact g/6: torch multiplies by a float32 1/6 even in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.reference import activation as R

RTOL, ATOL = 1e-10, 1e-300
SPECIAL = [0.0, -0.0, 6.0, -3.0, 3.0, np.inf, -np.inf]
values = st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10, width=64))
# NaN only for ReLU: torch's ReLU6 and hard-swish give the last few elements of an array another
# gradient at NaN than the rest (tests/ops/test_activation.py checks the rest's)
with_nan = st.one_of(values, st.just(np.nan))
OPS = [("relu", R.ReLUFunction, TF.relu, with_nan), ("relu6", R.ReLU6Function, TF.relu6, values),
       ("hardswish", R.HardSwishFunction, TF.hardswish, values)]


def _minigrad(function, x, upstream):
    t = minigrad.tensor(x, requires_grad=True)
    y = function.apply(t)
    y.backward(upstream)
    return y.data, t.grad.data


def _torch(op, x, upstream):
    t = torch.tensor(x, requires_grad=True)
    y = op(t)
    y.backward(torch.tensor(upstream))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("name, function, torch_op, elements", OPS, ids=[row[0] for row in OPS])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_reference_activation_matches_torch_within_1e_10(name, function, torch_op, elements,
                                                         data, seed):
    x = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3),
                             elements=elements))
    upstream = np.random.default_rng(seed).standard_normal(x.shape)
    for mine, theirs, what in zip(_minigrad(function, x, upstream), _torch(torch_op, x, upstream),
                                  ("output", "gradient")):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3), elements=with_nan),
       seed=st.integers(0, 2**32 - 1))
def test_reference_hardsigmoid_matches_torch_and_the_exact_sixth(x, seed):
    upstream = np.random.default_rng(seed).standard_normal(x.shape)
    y, dx = _minigrad(R.HardSigmoidFunction, x, upstream)
    torch_y, _ = _torch(TF.hardsigmoid, x, upstream)
    np.testing.assert_allclose(y, torch_y, rtol=RTOL, atol=ATOL, err_msg="output")
    inside = (x > -3) & (x < 3)
    np.testing.assert_allclose(dx, np.where(inside, upstream / 6, 0.0), rtol=RTOL, atol=ATOL)
