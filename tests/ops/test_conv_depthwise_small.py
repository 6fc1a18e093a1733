"""The channels-last depthwise kernel for small planes, alone and inside conv2d, vs torch and
finite differences; and the phase-plane kernel, forced onto the same small shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from minigrad.ops import conv_depthwise_small as small
from minigrad.ops.conv import conv2d
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import conv_cases


@st.composite
def depthwise_problems(draw):
    """x (N, C, H, W), w (C, 1, KH, KW), b, and stride, dilation, (top, bottom, left, right)."""
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(4))
    least = [max(1, dilation[i] * (kernel[i] - 1) + 1 - padding[2 * i] - padding[2 * i + 1])
             for i in range(2)]
    hw = (draw(st.integers(least[0], 9)), draw(st.integers(least[1], 9)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c = draw(st.integers(1, 4))
    x = rng.standard_normal((draw(st.integers(1, 3)), c, *hw))
    w, b = rng.standard_normal((c, 1, *kernel)), rng.standard_normal(c)
    return x, w, b, stride, dilation, padding


def _torch_reference(x, w, b, stride, dilation, padding, g_seed=1):
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    # (left, right, top, bottom), torch's order for the last two axes
    padded = TF.pad(xt, (padding[2], padding[3], padding[0], padding[1]))
    y = TF.conv2d(padded, wt, torch.tensor(b), stride=stride, dilation=dilation, groups=x.shape[1])
    g = np.random.default_rng(g_seed).standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    return y.detach().numpy(), g, xt.grad.numpy(), wt.grad.numpy()


@given(problem=depthwise_problems())
def test_small_plane_kernel_matches_torch(problem):
    x, w, b, stride, dilation, padding = problem
    y_ref, g, dx_ref, dw_ref = _torch_reference(*problem)
    c, _, kh, kw = w.shape
    xp = small.pad_channels_last(x, padding)
    # (C, 1, KH, KW) -> (KH, KW, C); (N, C, OH, OW) -> (N, OH, OW, C)
    w_uvc = np.ascontiguousarray(w.reshape(c, kh, kw).transpose(1, 2, 0))
    g_nhwc = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    y = small.small_forward(xp, w_uvc, b, y_ref.shape[2:], stride, dilation)
    dw = small.small_weight_grad(g_nhwc, xp, (kh, kw), stride, dilation)
    dx = small.small_input_grad(g_nhwc, w_uvc, x.shape[2:], padding, stride, dilation)
    np.testing.assert_allclose(y, y_ref, atol=1e-10)
    np.testing.assert_allclose(dw.transpose(2, 0, 1).reshape(w.shape), dw_ref, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-10)


def test_small_plane_kernel_keeps_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    w_uvc = np.ones((3, 3, 3), dtype=np.float32)
    xp = small.pad_channels_last(x, (1, 1, 1, 1))
    y = small.small_forward(xp, w_uvc, np.zeros(3, np.float32), (4, 4), (1, 1), (1, 1))
    g = np.ones((2, 4, 4, 3), dtype=np.float32)
    assert y.dtype == np.float32
    assert small.small_weight_grad(g, xp, (3, 3), (1, 1), (1, 1)).dtype == np.float32
    assert small.small_input_grad(g, w_uvc, (4, 4), (1, 1, 1, 1), (1, 1), (1, 1)).dtype == \
        np.float32


@pytest.mark.parametrize("max_small_plane", [0, 10**9], ids=["phase_planes", "small_planes"])
def test_depthwise_conv2d_matches_torch_on_either_kernel(monkeypatch, max_small_plane):
    monkeypatch.setattr(small, "MAX_SMALL_PLANE", max_small_plane)

    @given(case=conv_cases("depthwise"))
    def check(case):
        arrays, kwargs = case
        mg = lambda *t: conv2d(*t, **kwargs)  # noqa: E731
        ref = lambda *t: TF.conv2d(*t, **kwargs)  # noqa: E731
        check_forward_matches_torch(mg, ref, arrays)
        check_backward_matches_torch(mg, ref, arrays)

    check()


@pytest.mark.parametrize("max_small_plane", [0, 10**9], ids=["phase_planes", "small_planes"])
def test_depthwise_conv2d_backward_matches_finite_differences_on_either_kernel(
        monkeypatch, max_small_plane):
    monkeypatch.setattr(small, "MAX_SMALL_PLANE", max_small_plane)
    rng = np.random.default_rng(3)
    # channel multiplier 2, stride 2 on odd sizes, asymmetric dilation
    arrays = [rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((6, 1, 3, 2)),
              rng.standard_normal(6)]
    kwargs = {"stride": 2, "padding": 1, "dilation": (1, 2), "groups": 3}
    check_finite_differences(lambda *t: conv2d(*t, **kwargs), arrays)
