"""Every fast conv kernel equals its reference kernel: forward and the three gradients with a
random upstream gradient, float32 and float64, on hypothesis-drawn cases of each fast path
(phase planes, channels-last small planes, pointwise, im2col) and on fixed edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.fast import conv_depthwise, conv_depthwise_small, conv_general, conv_pointwise
from minigrad.ops.conv import conv_kind, output_size, select_kernel
from minigrad.reference import conv as reference
from tests.strategies import CONV_PATHS, conv_kernel_cases

# path -> (reference kernel, fast kernel)
PAIRS = {
    "depthwise-planes": (reference.DepthwiseConv2d, conv_depthwise.DepthwiseConv2d),
    "depthwise-small": (reference.DepthwiseConv2d, conv_depthwise_small.DepthwiseConv2d),
    "pointwise": (reference.PointwiseConv2d, conv_pointwise.PointwiseConv2d),
    "general": (reference.GeneralConv2d, conv_general.GeneralConv2d),
}
# float64 differs by the order of the sums only; float32 by that order's rounding
TOLERANCE = {"float64": 1e-12, "float32": 2e-5}
seeds = st.integers(0, 2**32 - 1)
bias_and_layout = st.tuples(st.booleans(), st.booleans())


def _run(kernel, x, w, b, attrs, g, channels_last: bool) -> list[np.ndarray]:
    """The kernel's output and the gradients of x, w (and b) for upstream g; with
    `channels_last`, x reaches the kernel as a non-contiguous view of an NHWC array."""
    dtype = g.dtype
    data = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if channels_last else x
    x_leaf = minigrad.tensor(data, dtype=dtype, requires_grad=True)
    x_in = x_leaf.permute(0, 3, 1, 2) if channels_last else x_leaf
    if channels_last and x.shape[1] > 1 and x.shape[2] * x.shape[3] > 1:
        assert not x_in.data.flags.c_contiguous
    w_t = minigrad.tensor(w, dtype=dtype, requires_grad=True)
    b_t = None if b is None else minigrad.tensor(b, dtype=dtype, requires_grad=True)
    y = kernel.apply(x_in, w_t, b_t, **attrs)
    y.backward(g)
    dx = x_leaf.grad.numpy()
    results = [y.data, dx.transpose(0, 3, 1, 2) if channels_last else dx, w_t.grad.numpy()]
    return results + ([] if b is None else [b_t.grad.numpy()])


def _check_fast_equals_reference(path: str, x_shape, w_shape, attrs, dtype: str, seed: int,
                                 bias: bool = True, channels_last: bool = False) -> None:
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    out_hw = output_size(x_shape[2:], w_shape[2:], attrs.get("stride", (1, 1)),
                         attrs.get("padding", (0, 0, 0, 0)), attrs.get("dilation", (1, 1)))
    g = rng.standard_normal((x_shape[0], w_shape[0], *out_hw)).astype(dtype)
    expected_kernel, fast_kernel = PAIRS[path]
    expected = _run(expected_kernel, x, w, b, attrs, g, channels_last)
    actual = _run(fast_kernel, x, w, b, attrs, g, channels_last)
    for name, a, e in zip(("y", "dx", "dw", "db"), actual, expected):
        assert a.dtype == e.dtype == np.dtype(dtype), name
        scale = max(1.0, float(np.abs(e).max(initial=0.0)))
        np.testing.assert_allclose(a, e, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale,
                                   err_msg=f"{path} {name}")


def _assert_dispatched(path: str, x_shape, w_shape, attrs) -> None:
    """conv2d sends this case to the fast kernel under test (when it is a depthwise or
    pointwise conv at all: one channel, 1×1, is also a pointwise one)."""
    groups = x_shape[1] if path.startswith("depthwise") else attrs.get("groups", 1)
    geometry = (attrs.get("stride", (1, 1)), attrs.get("padding", (0, 0, 0, 0)))
    if conv_kind(x_shape, w_shape, *geometry, groups) == path.split("-")[0]:
        kernel = select_kernel(x_shape, w_shape, *geometry, attrs.get("dilation", (1, 1)),
                               groups, "fast")
        assert kernel is PAIRS[path][1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", CONV_PATHS)
def test_fast_conv_kernel_equals_the_reference_on_drawn_cases(path, dtype):
    @given(case=conv_kernel_cases(path), seed=seeds, flags=bias_and_layout)
    def check(case, seed, flags):
        x_shape, w_shape, attrs = case
        bias, channels_last = flags
        _assert_dispatched(path, x_shape, w_shape, attrs)
        _check_fast_equals_reference(path, x_shape, w_shape, attrs, dtype, seed, bias,
                                     channels_last)

    check()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path, x_shape, w_shape, attrs", [
    # 1×1 planes
    ("depthwise-small", (1, 3, 1, 1), (6, 1, 1, 1), {}),
    ("depthwise-small", (2, 2, 1, 1), (2, 1, 3, 3), {"padding": (1, 1, 1, 1)}),
    ("pointwise", (1, 4, 1, 1), (3, 4, 1, 1), {}),
    ("general", (2, 4, 1, 1), (6, 2, 3, 3), {"padding": (1, 1, 1, 1), "groups": 2}),
    # stride 2 and 3 on odd sizes, on both depthwise paths
    ("depthwise-planes", (2, 3, 21, 19), (3, 1, 3, 3), {"stride": (2, 2), "padding": (1,) * 4}),
    ("depthwise-planes", (1, 2, 31, 29), (4, 1, 5, 5), {"stride": (3, 3), "padding": (2,) * 4}),
    ("depthwise-small", (3, 4, 9, 9), (4, 1, 3, 3), {"stride": (3, 3), "padding": (1,) * 4}),
    ("depthwise-small", (2, 4, 7, 7), (8, 1, 3, 3), {"stride": (2, 2), "padding": (1,) * 4}),
    # inputs of 8×8 pixels (the matrix forward) and 9×8 (channels-last taps)
    ("depthwise-small", (2, 3, 8, 8), (3, 1, 5, 5), {"padding": (2,) * 4}),
    ("depthwise-small", (2, 3, 8, 8), (6, 1, 3, 3), {"stride": (2, 2), "padding": (1,) * 4}),
    ("depthwise-small", (2, 3, 9, 8), (3, 1, 5, 5), {"padding": (1,) * 4}),
    # dilation, 'same' padding with its odd extra pixel after, channel multiplier
    ("depthwise-planes", (2, 2, 12, 11), (6, 1, 4, 3),
     {"padding": (1, 2, 1, 1), "dilation": (1, 1)}),
    ("depthwise-small", (1, 3, 7, 6), (3, 1, 3, 2), {"padding": (2, 2, 0, 1), "dilation": (2, 1)}),
    ("general", (2, 6, 11, 9), (6, 2, 3, 3), {"stride": (2, 2), "dilation": (2, 2),
                                               "padding": (1,) * 4, "groups": 3}),
])
def test_fast_conv_kernel_equals_the_reference_on_edge_cases(path, x_shape, w_shape, attrs,
                                                             dtype):
    _assert_dispatched(path, x_shape, w_shape, attrs)
    for channels_last in (False, True):
        _check_fast_equals_reference(path, x_shape, w_shape, attrs, dtype, seed=7,
                                     channels_last=channels_last)


@pytest.mark.parametrize("threads", [2], indirect=True)
@pytest.mark.parametrize("path", ["depthwise-planes", "depthwise-small", "pointwise"])
def test_fast_conv_kernel_on_two_threads_equals_the_reference(monkeypatch, threads, path):
    # however small the work, the tiles, batch chunks and passes are shared over the threads
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(minigrad.fast.threads, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", 20000)
    x_shape, w_shape, attrs = {
        "depthwise-planes": ((3, 5, 17, 17), (10, 1, 3, 3), {"stride": (2, 2),
                                                            "padding": (1,) * 4}),
        "depthwise-small": ((5, 4, 7, 7), (8, 1, 3, 3), {"padding": (1,) * 4}),
        "pointwise": ((5, 4, 6, 6), (6, 4, 1, 1), {}),
    }[path]
    _check_fast_equals_reference(path, x_shape, w_shape, attrs, "float64", seed=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", ["depthwise-planes", "depthwise-small"])
def test_fast_depthwise_forward_without_grad_equals_the_recorded_one(path, dtype):
    # without grad the phase planes go to a per-thread buffer zeroed once, not saved
    @given(case=conv_kernel_cases(path), seed=seeds, bias=st.booleans())
    def check(case, seed, bias):
        x_shape, w_shape, attrs = case
        rng = np.random.default_rng(seed)
        x, w = (minigrad.tensor(rng.standard_normal(s), dtype=dtype) for s in (x_shape, w_shape))
        b = minigrad.tensor(rng.standard_normal(w_shape[0]), dtype=dtype) if bias else None
        expected_kernel, fast_kernel = PAIRS[path]
        w.requires_grad = True
        recorded = fast_kernel.apply(x, w, b, **attrs)
        with minigrad.no_grad():
            unrecorded = fast_kernel.apply(x, w, b, **attrs)
            expected = expected_kernel.apply(x, w, b, **attrs)
        assert unrecorded.grad_fn is None and unrecorded.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(unrecorded.numpy(), recorded.detach().numpy())
        scale = max(1.0, float(np.abs(expected.numpy()).max(initial=0.0)))
        np.testing.assert_allclose(unrecorded.numpy(), expected.numpy(), rtol=TOLERANCE[dtype],
                                   atol=TOLERANCE[dtype] * scale)

    check()


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_fast_depthwise_forward_without_grad_on_two_threads(monkeypatch, threads):
    # many tiles per thread: each thread's buffer, zeroed once, must stay zero-padded
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", 20000)
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 9, 17, 15)), rng.standard_normal((9, 1, 3, 3))
    attrs = {"stride": (2, 2), "padding": (1,) * 4}
    with minigrad.no_grad():
        y = conv_depthwise.DepthwiseConv2d.apply(minigrad.tensor(x), minigrad.tensor(w), None,
                                                 **attrs).numpy()
        expected = reference.DepthwiseConv2d.apply(minigrad.tensor(x), minigrad.tensor(w), None,
                                                   **attrs).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
