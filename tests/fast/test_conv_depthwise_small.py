"""The channels-last depthwise kernel for small planes, alone and inside conv2d, vs torch and
finite differences; and the phase-plane kernel and the per-channel matrices (forward and
backward), each forced onto the same small shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from minigrad.fast import conv_depthwise_matrix
from minigrad.fast import conv_depthwise_small as small
from minigrad.nn.functional import conv2d
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import conv_cases


@st.composite
def depthwise_problems(draw, gather=False):
    """x (N, C, H, W), w (C, 1, KH, KW), b, and stride, dilation, (top, bottom, left, right).

    gather: stride 1 and a padding of at most d·(K − 1) per side, the cases where dx is a
    correlation of g (`small.gather_padding`).
    """
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (1, 1) if gather else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    reach = [dilation[i // 2] * (kernel[i // 2] - 1) if gather else 3 for i in range(4)]
    padding = tuple(draw(st.integers(0, r)) for r in reach)
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


@given(problem=depthwise_problems(gather=True))
def test_small_plane_input_grad_by_gather_matches_torch(problem):
    x, w, _, stride, dilation, padding = problem
    c, _, kh, kw = w.shape
    _, g, dx_ref, _ = _torch_reference(*problem)
    border = small.gather_padding((kh, kw), stride, padding, dilation)
    assert border is not None
    gp = small.pad_channels_last(g, border)
    # (C, 1, KH, KW) -> (KH, KW, C)
    w_uvc = np.ascontiguousarray(w.reshape(c, kh, kw).transpose(1, 2, 0))
    dx = small.small_input_grad_by_gather(gp, w_uvc, x.shape[2:], dilation)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-10)


# (MAX_SMALL_PLANE, MAX_MATRIX_PLANE) that send every case to one depthwise kernel
KERNELS = {"phase_planes": (0, 0), "small_planes": (10**9, 0), "matrices": (10**9, 10**9)}


def _use_kernel(monkeypatch, name: str) -> None:
    max_small_plane, max_matrix_plane = KERNELS[name]
    monkeypatch.setattr(small, "MAX_SMALL_PLANE", max_small_plane)
    monkeypatch.setattr(conv_depthwise_matrix, "MAX_MATRIX_PLANE", max_matrix_plane)


@pytest.mark.parametrize(("stride", "padding"), [((2, 1), (1, 1)), ((1, 1), (1, 3))],
                         ids=["stride_2", "padding_past_the_kernel"])
def test_small_plane_input_grad_scatters_where_gather_cannot(stride, padding, monkeypatch):
    # the channels-last kernel, not the matrices that inputs this small take by default
    _use_kernel(monkeypatch, "small_planes")
    # 3×3 kernel, dilation 1: the gather needs stride 1 and a padding of at most 2 per side
    borders = (padding[0], padding[0], padding[1], padding[1])
    assert small.gather_padding((3, 3), stride, borders, (1, 1)) is None
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3, 4, 3)), rng.standard_normal((3, 1, 3, 3))]
    kwargs = {"stride": stride, "padding": padding, "groups": 3}
    mg = lambda *t: conv2d(*t, **kwargs)  # noqa: E731
    ref = lambda *t: TF.conv2d(*t, **kwargs)  # noqa: E731
    check_backward_matches_torch(mg, ref, arrays)


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


@pytest.mark.parametrize("kernel", KERNELS)
def test_depthwise_conv2d_matches_torch_on_every_kernel(monkeypatch, kernel):
    _use_kernel(monkeypatch, kernel)

    @given(case=conv_cases("depthwise"))
    def check(case):
        arrays, kwargs = case
        mg = lambda *t: conv2d(*t, **kwargs)  # noqa: E731
        ref = lambda *t: TF.conv2d(*t, **kwargs)  # noqa: E731
        check_forward_matches_torch(mg, ref, arrays)
        check_backward_matches_torch(mg, ref, arrays)

    check()


@pytest.mark.parametrize("kernel", KERNELS)
def test_depthwise_conv2d_backward_matches_finite_differences_on_every_kernel(
        monkeypatch, kernel):
    _use_kernel(monkeypatch, kernel)
    rng = np.random.default_rng(3)
    # channel multiplier 2, stride 2 on odd sizes, asymmetric dilation
    arrays = [rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((6, 1, 3, 2)),
              rng.standard_normal(6)]
    kwargs = {"stride": 2, "padding": 1, "dilation": (1, 2), "groups": 3}
    check_finite_differences(lambda *t: conv2d(*t, **kwargs), arrays)


@pytest.mark.parametrize("kernel", ["small_planes", "matrices"])
@pytest.mark.parametrize("padding", [(1, 2), "same"], ids=["stride_1", "stride_1_same"])
def test_small_plane_stride_1_backward_matches_finite_differences(padding, kernel, monkeypatch):
    # stride 1 takes the gather for dx; "same" with an even kernel pads unevenly
    _use_kernel(monkeypatch, kernel)
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((3, 1, 3, 4)),
              rng.standard_normal(3)]
    kwargs = {"padding": padding, "dilation": (1, 1), "groups": 3}
    check_finite_differences(lambda *t: conv2d(*t, **kwargs), arrays)
