"""clip_grad_norm_ and clip_grad_value_ against torch on the same gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.nn import Parameter
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_
from tests.helpers import assert_close
from tests.strategies import arrays, shapes


def with_grads(grads: list[np.ndarray]) -> tuple[list[Parameter], list[torch.nn.Parameter]]:
    """Parameters in both libraries whose `.grad` are copies of `grads`."""
    ours, theirs = [], []
    for g in grads:
        p = Parameter(np.zeros_like(g))
        p.grad = minigrad.tensor(g.copy())
        t = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        t.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


gradient_lists = st.lists(arrays(shapes(0, 3, 4)), min_size=1, max_size=3)


@given(grads=gradient_lists, max_norm=st.floats(0.01, 50),
       norm_type=st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, "inf"]))
def test_clip_grad_norm_matches_torch(grads, max_norm, norm_type):
    ours, theirs = with_grads(grads)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, minigrad.Tensor) and total.shape == ()
    assert_close(total, expected, atol=1e-12, rtol=1e-10, name="total norm")
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad, atol=1e-12, rtol=1e-10, name="clipped gradient")


def test_clip_grad_norm_scales_into_the_ball_and_leaves_small_grads():
    ours, _ = with_grads([np.full(4, 3.0), np.full(9, 4.0)])  # norm √(36 + 144) = √180
    total = clip_grad_norm_(iter(ours), max_norm=1.0)
    assert total.item() == pytest.approx(math.sqrt(180))
    joint = math.sqrt(sum(float((p.grad.data**2).sum()) for p in ours))
    assert joint == pytest.approx(1.0, rel=1e-5)
    small, _ = with_grads([np.array([0.1, -0.2])])
    clip_grad_norm_(small[0], max_norm=10.0)  # a single tensor is accepted, as torch
    np.testing.assert_allclose(small[0].grad.data, [0.1, -0.2], rtol=1e-6)


def test_clip_grad_norm_skips_parameters_without_grad():
    ours, _ = with_grads([np.array([3.0, 4.0])])
    bare = Parameter(np.ones(3))
    total = clip_grad_norm_([bare, *ours], 1.0)
    assert total.item() == pytest.approx(5.0) and bare.grad is None
    assert clip_grad_norm_([bare], 1.0).item() == 0.0


def test_clip_grad_norm_keeps_float32():
    p = Parameter(np.zeros(3, dtype=np.float32))
    p.grad = minigrad.tensor(np.array([3.0, 0.0, 4.0], dtype=np.float32))
    total = clip_grad_norm_([p], 2.5)
    assert total.dtype == np.float32 and p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad.data, [1.5, 0.0, 2.0], rtol=1e-5)


def test_clip_grad_norm_errors():
    ours, _ = with_grads([np.array([np.inf, 1.0])])
    before = ours[0].grad.data.copy()
    with pytest.raises(RuntimeError, match="total norm of order 2.0"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[0].grad.data, before)
    with pytest.raises(ValueError, match="norm_type must be a number or 'inf'"):
        clip_grad_norm_(ours, 1.0, norm_type="max")
    with pytest.raises(TypeError, match="parameters must be Tensors"):
        clip_grad_norm_([np.zeros(2)], 1.0)


@given(grads=gradient_lists, clip=st.floats(0.0, 5.0))
def test_clip_grad_value_matches_torch(grads, clip):
    ours, theirs = with_grads(grads)
    assert clip_grad_value_(ours, clip) is None
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad, name="clamped gradient")
