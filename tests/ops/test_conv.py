"""conv2d and its kernels (depthwise, pointwise, general; reference and fast) vs torch and
finite differences: every torch test runs in both kernel modes (the `kernels` fixture)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given

import minigrad
from minigrad.fast import conv_depthwise, conv_depthwise_small, conv_general, conv_pointwise
from minigrad.fast.conv_depthwise_small import MAX_SMALL_PLANE
from minigrad.fast.conv_pointwise import SMALL_PLANE
from minigrad.nn.functional import conv2d
from minigrad.ops.conv import select_kernel
from minigrad.reference import conv as reference
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import conv_cases

# torch warns that it copies the input for an even 'same' kernel; the values are what we test
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

KERNELS = {
    "reference": {"depthwise": (reference.DepthwiseConv2d,),
                  "pointwise": (reference.PointwiseConv2d,),
                  "general": (reference.GeneralConv2d,)},
    "fast": {"depthwise": (conv_depthwise.DepthwiseConv2d, conv_depthwise_small.DepthwiseConv2d),
             "pointwise": (conv_pointwise.PointwiseConv2d,),
             "general": (conv_general.GeneralConv2d,)},
}
# one case per kernel, each with stride 2 on odd sizes where the kernel allows a stride
ODD_STRIDE_2 = {
    "depthwise": ((2, 3, 7, 5), (6, 1, 3, 3), {"stride": 2, "padding": 1, "groups": 3}),
    "pointwise": ((2, 3, 5, 7), (4, 3, 1, 1), {}),
    "general": ((2, 4, 7, 9), (6, 2, 3, 2), {"stride": 2, "padding": (1, 0), "groups": 2}),
    "any": ((1, 2, 9, 7), (3, 2, 4, 4), {"stride": 2, "dilation": (2, 1)}),
}


@pytest.fixture(params=["reference", "fast"])
def kernels(request):
    """The test runs on the reference kernels, then on the fast ones."""
    with minigrad.use_kernels(request.param):
        yield request.param


def _fns(kwargs: dict):
    return (lambda *t: conv2d(*t, **kwargs)), (lambda *t: TF.conv2d(*t, **kwargs))


def _arrays(x_shape, w_shape, kwargs, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    return arrays + [rng.standard_normal(w_shape[0])] if bias else arrays, kwargs


def _assert_dispatch(kind: str, arrays, kwargs) -> None:
    if kind == "any":
        return
    x, weight = (minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays[:2])
    out = conv2d(x, weight, **kwargs)
    assert out.grad_fn.function in KERNELS[minigrad.get_kernels()][kind]


@pytest.mark.parametrize("x_shape, w_shape, kwargs, expected", [
    ((1, 4, 5, 5), (8, 4, 1, 1), {}, "pointwise"),
    ((1, 4, 5, 5), (8, 4, 1, 1), {"stride": 2}, "general"),
    ((1, 4, 5, 5), (8, 4, 1, 1), {"padding": 1}, "general"),
    ((1, 4, 5, 5), (8, 2, 1, 1), {"groups": 2}, "general"),
    ((1, 4, 5, 5), (4, 1, 1, 1), {"groups": 4}, "depthwise"),
    ((1, 4, 5, 5), (8, 1, 3, 3), {"groups": 4, "stride": 2}, "depthwise"),
    ((1, 4, 5, 5), (8, 4, 3, 3), {"padding": "same"}, "general"),
])
def test_conv2d_picks_pointwise_depthwise_or_general_in_either_mode(kernels, x_shape, w_shape,
                                                                   kwargs, expected):
    x, w = minigrad.zeros(*x_shape), minigrad.zeros(*w_shape, requires_grad=True)
    assert conv2d(x, w, **kwargs).grad_fn.function in KERNELS[kernels][expected]


@pytest.mark.parametrize("w_shape, kwargs", [
    ((6, 1, 3, 3), {"groups": 3, "stride": 2, "padding": 1}),
    ((5, 3, 1, 1), {}),
    ((4, 3, 3, 3), {"padding": "same"}),
])
def test_conv2d_of_an_unbatched_input_matches_torch(kernels, w_shape, kwargs):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 7, 7)), rng.standard_normal(w_shape)]
    check_backward_matches_torch(*_fns(kwargs), arrays)
    check_forward_matches_torch(*_fns(kwargs), arrays)


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general", "any"])
def test_conv2d_forward_matches_torch(kernels, kind):
    @given(case=conv_cases(kind))
    @example(case=_arrays(*ODD_STRIDE_2[kind]))
    def check(case):
        arrays, kwargs = case
        _assert_dispatch(kind, arrays, kwargs)
        check_forward_matches_torch(*_fns(kwargs), arrays)

    check()


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general", "any"])
def test_conv2d_backward_matches_torch(kernels, kind):
    @given(case=conv_cases(kind))
    @example(case=_arrays(*ODD_STRIDE_2[kind]))
    def check(case):
        arrays, kwargs = case
        _assert_dispatch(kind, arrays, kwargs)
        check_backward_matches_torch(*_fns(kwargs), arrays)

    check()


@pytest.mark.parametrize("kind", ["depthwise", "general", "any"])
def test_conv2d_stride_2_on_odd_sizes_matches_torch(kernels, kind):
    @given(case=conv_cases(kind, stride2_odd=True))
    def check(case):
        arrays, kwargs = case
        assert kwargs["stride"] == 2 and arrays[0].shape[2] % 2 and arrays[0].shape[3] % 2
        _assert_dispatch(kind, arrays, kwargs)
        check_forward_matches_torch(*_fns(kwargs), arrays)
        check_backward_matches_torch(*_fns(kwargs), arrays)

    check()


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general", "any"])
def test_conv2d_backward_matches_finite_differences_along_random_directions(kernels, kind):
    @given(case=conv_cases(kind))
    def check(case):
        arrays, kwargs = case
        check_finite_differences(_fns(kwargs)[0], arrays, fast_mode=True)

    check()


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general", "any"])
def test_conv2d_backward_matches_finite_differences_elementwise(kernels, kind):
    arrays, kwargs = _arrays(*ODD_STRIDE_2[kind])
    check_finite_differences(_fns(kwargs)[0], arrays)


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 2, 6, 5), (2, 2, 4, 2), {"padding": "same"}),
    ((1, 2, 6, 5), (4, 1, 2, 4), {"padding": "same", "groups": 2, "dilation": (1, 1)}),
    ((1, 2, 6, 5), (2, 1, 2, 3), {"padding": "same", "groups": 2, "dilation": (3, 1)}),
    ((2, 3, 5, 4), (3, 3, 5, 4), {"padding": "valid"}),
])
def test_conv2d_same_and_valid_padding_match_torch(kernels, x_shape, w_shape, kwargs):
    arrays, kwargs = _arrays(x_shape, w_shape, kwargs)
    check_forward_matches_torch(*_fns(kwargs), arrays)
    check_backward_matches_torch(*_fns(kwargs), arrays)


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general"])
def test_conv2d_keeps_float32(kernels, kind):
    arrays, kwargs = _arrays(*ODD_STRIDE_2[kind])
    tensors = [minigrad.tensor(a, dtype="float32", requires_grad=True) for a in arrays]
    out = conv2d(*tensors, **kwargs)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert out.dtype == np.float32
    assert all(t.grad.dtype == np.float32 for t in tensors)
    expected = TF.conv2d(*(torch.tensor(a, dtype=torch.float32) for a in arrays), **kwargs)
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general"])
@pytest.mark.parametrize("wanted", [0, 1, 2])
def test_conv2d_gradient_of_one_input_alone_matches_torch(kernels, kind, wanted):
    arrays, kwargs = _arrays(*ODD_STRIDE_2[kind])
    tensors = [minigrad.tensor(a, dtype="float64", requires_grad=i == wanted)
               for i, a in enumerate(arrays)]
    torch_tensors = [torch.tensor(a, requires_grad=i == wanted) for i, a in enumerate(arrays)]
    upstream = np.random.default_rng(3).standard_normal(conv2d(*tensors, **kwargs).shape)
    conv2d(*tensors, **kwargs).backward(upstream)
    TF.conv2d(*torch_tensors, **kwargs).backward(torch.tensor(upstream))
    np.testing.assert_allclose(tensors[wanted].grad.data, torch_tensors[wanted].grad.numpy(),
                               atol=1e-10, rtol=1e-7)
    assert all(t.grad is None for i, t in enumerate(tensors) if i != wanted)


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general"])
def test_conv2d_of_a_non_contiguous_input_matches_torch(kernels, kind):
    arrays, kwargs = _arrays(*ODD_STRIDE_2[kind])
    # (N, C, H, W) stored as (N, W, H, C) and viewed back: same values, other strides
    arrays[0] = np.ascontiguousarray(arrays[0].transpose(0, 3, 2, 1)).transpose(0, 3, 2, 1)
    check_forward_matches_torch(*_fns(kwargs), arrays)
    check_backward_matches_torch(*_fns(kwargs), arrays)


def _bad(x_shape=(1, 4, 5, 5), w_shape=(8, 4, 3, 3), b_shape=None, dtype="float32", **kwargs):
    x = minigrad.zeros(*x_shape, dtype=dtype)
    w = minigrad.zeros(*w_shape, dtype=dtype)
    b = None if b_shape is None else minigrad.zeros(*b_shape, dtype=dtype)
    return lambda: conv2d(x, w, b, **kwargs)


@pytest.mark.parametrize("call, error, words", [
    (_bad(x_shape=(4, 5)), ValueError, ["x", "(4, 5)", "4-D"]),
    (_bad(w_shape=(8, 4, 3)), ValueError, ["weight", "(8, 4, 3)", "4-D"]),
    (_bad(w_shape=(8, 3, 3, 3)), ValueError, ["(8, 3, 3, 3)", "(1, 4, 5, 5)"]),
    (_bad(w_shape=(8, 2, 3, 3), groups=3), ValueError, ["groups=3", "(1, 4, 5, 5)"]),
    (_bad(w_shape=(6, 1, 3, 3), groups=4), ValueError, ["groups=4", "(6, 1, 3, 3)"]),
    (_bad(w_shape=(8, 4, 3, 3), groups=0), ValueError, ["groups=0"]),
    (_bad(w_shape=(8, 4, 7, 3)), ValueError, ["(7, 3)", "(5, 5)", "larger"]),
    (_bad(w_shape=(8, 4, 3, 3), dilation=3), ValueError, ["(7, 7)", "(5, 5)", "larger"]),
    (_bad(padding=-1), ValueError, ["padding", "-1"]),
    (_bad(padding=(1, -2)), ValueError, ["padding", "-2"]),
    (_bad(padding="full"), ValueError, ["padding", "full"]),
    (_bad(stride=0), ValueError, ["stride", "0"]),
    (_bad(stride=(1, 2, 3)), ValueError, ["stride", "(1, 2, 3)"]),
    (_bad(dilation=0), ValueError, ["dilation", "0"]),
    (_bad(b_shape=(4,)), ValueError, ["bias", "(8,)", "(4,)"]),
    (_bad(padding="same", stride=2), ValueError, ["same", "stride"]),
    (_bad(dtype="int64"), TypeError, ["x", "int64"]),
    (_bad(stride=1.5), TypeError, ["stride", "1.5"]),
    (_bad(groups=2.0), TypeError, ["groups", "2.0"]),
])
def test_conv2d_rejects_bad_input_naming_conv2d_and_the_values(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert message.startswith("conv2d:")
    for word in words:
        assert word in message


def test_conv2d_rejects_mixed_dtypes_and_arrays():
    x = minigrad.zeros(1, 2, 4, 4, dtype="float64")
    with pytest.raises(TypeError, match="conv2d: weight is float32 but x is float64"):
        conv2d(x, minigrad.zeros(2, 2, 3, 3))
    with pytest.raises(TypeError, match="conv2d: weight must be a Tensor, got ndarray"):
        conv2d(x, np.zeros((2, 2, 3, 3)))


@pytest.mark.parametrize("mode", ["reference", "fast"])
def test_select_kernel_is_driven_by_shapes_and_the_mode_alone(mode):
    one, pad1, pad0 = (1, 1), (1, 1, 1, 1), (0, 0, 0, 0)
    depthwise, pointwise, general = (KERNELS[mode][k][0] for k in
                                     ("depthwise", "pointwise", "general"))
    if mode == "fast":  # 4×4 outputs take the channels-last kernel, 9×9 the phase planes
        assert select_kernel((2, 8, 4, 4), (8, 1, 3, 3), one, pad1, one, 8, mode) is \
            conv_depthwise_small.DepthwiseConv2d
    assert select_kernel((2, 8, 9, 9), (8, 1, 3, 3), one, pad1, one, 8, mode) is depthwise
    assert select_kernel((2, 8, 4, 4), (16, 8, 1, 1), one, pad0, one, 1, mode) is pointwise
    assert select_kernel((2, 8, 4, 4), (16, 4, 3, 3), one, pad1, one, 2, mode) is general
    with minigrad.use_kernels(mode):
        assert select_kernel((2, 8, 4, 4), (16, 8, 1, 1), one, pad0, one, 1) is pointwise


@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "general"])
def test_conv2d_of_an_empty_batch_has_torch_shapes_and_zero_weight_gradient(kernels, kind):
    x_shape, w_shape, kwargs = ODD_STRIDE_2[kind]
    arrays, kwargs = _arrays((0, *x_shape[1:]), w_shape, kwargs)
    x, w, b = (minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays)
    out = conv2d(x, w, b, **kwargs)
    out.backward(np.zeros(out.shape))
    assert out.shape == tuple(TF.conv2d(*(torch.tensor(a) for a in arrays), **kwargs).shape)
    assert x.grad.shape == x.shape and not w.grad.data.any() and not b.grad.data.any()


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("tile_bytes", [1, 20000, 30000])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_conv2d_tiled_over_channels_matches_torch(monkeypatch, threads, tile_bytes,
                                                            stride):
    # small tiles: one to five of the five channels per tile, often with the last one partial;
    # with two threads, each takes a run of tiles however small the work
    monkeypatch.setattr(conv_depthwise, "TILE_BYTES", tile_bytes)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    arrays, kwargs = _arrays((2, 5, 17, 17), (5, 1, 3, 3), {"stride": stride, "padding": 1,
                                                            "groups": 5})
    out_side = (17 + 2 * 1 - 3) // stride + 1
    assert out_side**2 > MAX_SMALL_PLANE  # the phase-plane kernel, not the small-plane one
    check_forward_matches_torch(*_fns(kwargs), arrays)
    check_backward_matches_torch(*_fns(kwargs), arrays)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_conv2d_on_small_planes_in_batch_chunks_matches_torch(monkeypatch, threads,
                                                                        stride):
    # one sample per chunk, the chunks shared out over the threads however small the work
    monkeypatch.setattr(minigrad.fast.threads, "CHUNK_BYTES", 1)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    arrays, kwargs = _arrays((5, 4, 7, 7), (8, 1, 3, 3), {"stride": stride, "padding": 1,
                                                          "groups": 4})
    out_side = (7 + 2 * 1 - 3) // stride + 1
    assert out_side**2 <= MAX_SMALL_PLANE  # the small-plane kernel
    check_forward_matches_torch(*_fns(kwargs), arrays)
    check_backward_matches_torch(*_fns(kwargs), arrays)


@pytest.mark.parametrize("threads", [1, 2, 4], indirect=True)
@pytest.mark.parametrize("side", [5, 6])  # planes below and above SMALL_PLANE pixels
def test_pointwise_conv2d_in_batch_slices_matches_torch(monkeypatch, threads, side):
    # however small the work, each thread takes a slice of the batch in forward; in backward
    # the two passes share the threads (2: a whole pass each; 4: two batch slices each)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    assert 5**2 < SMALL_PLANE <= 6**2
    arrays, kwargs = _arrays((5, 4, side, side), (6, 4, 1, 1), {})
    check_forward_matches_torch(*_fns(kwargs), arrays)
    check_backward_matches_torch(*_fns(kwargs), arrays)


@pytest.mark.parametrize("threads", [2, 4], indirect=True)
@pytest.mark.parametrize("frozen", ["x", "weight"])
def test_pointwise_conv2d_one_gradient_pass_on_threads_matches_torch(monkeypatch, threads,
                                                                      frozen):
    # one pass alone takes every thread, a batch slice each
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 4, 6, 6)), rng.standard_normal((6, 4, 1, 1))
    upstream = rng.standard_normal((5, 6, 6, 6))
    mx = minigrad.tensor(x, requires_grad=frozen != "x")
    mw = minigrad.tensor(w, requires_grad=frozen != "weight")
    tx = torch.tensor(x, requires_grad=frozen != "x")
    tw = torch.tensor(w, requires_grad=frozen != "weight")
    conv2d(mx, mw).backward(upstream)
    torch.nn.functional.conv2d(tx, tw).backward(torch.tensor(upstream))
    for mine, theirs in ((mx, tx), (mw, tw)):
        assert (mine.grad is None) == (theirs.grad is None)
        if theirs.grad is not None:
            np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-7,
                                       atol=1e-10)


def test_pointwise_weight_gradient_is_the_same_on_one_and_two_threads(monkeypatch):
    """On two threads dW is one thread's whole-batch pass, so its rounding is one thread's."""
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 8, 6, 6)).astype(np.float32)
    w = rng.standard_normal((16, 8, 1, 1)).astype(np.float32)
    upstream = rng.standard_normal((9, 16, 6, 6)).astype(np.float32)
    grads = []
    previous = minigrad.fast.threads.get_num_threads()
    try:
        for n in (1, 2):
            minigrad.fast.threads.set_num_threads(n)
            mx, mw = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
            conv2d(mx, mw).backward(upstream)
            grads.append((mx.grad.numpy(), mw.grad.numpy()))
    finally:
        minigrad.fast.threads.set_num_threads(previous)
    for one, two in zip(*grads):
        assert np.array_equal(one, two)
