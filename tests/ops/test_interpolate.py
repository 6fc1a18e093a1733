"""interpolate (nearest, nearest-exact, linear/bilinear/trilinear) against torch and finite
differences, with size or scale_factor, align_corners and recompute_scale_factor; Upsample."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.ops.interpolate import interpolate
from tests.helpers import (
    assert_close,
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import arrays

_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


@st.composite
def interpolate_cases(draw, max_side: int = 6):
    """(x, kwargs): a 3-D, 4-D or 5-D input and a valid torch call, shrinking or growing."""
    spatial = draw(st.integers(1, 3))
    sides = draw(st.lists(st.integers(1, max_side), min_size=spatial, max_size=spatial))
    x = draw(arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sides)))
    mode = draw(st.sampled_from(["nearest", "nearest-exact", _LINEAR[spatial + 2]]))
    kwargs: dict = {"mode": mode}
    if mode in _LINEAR.values():
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        kwargs["size"] = tuple(draw(st.lists(st.integers(1, 2 * max_side), min_size=spatial,
                                             max_size=spatial)))
    else:
        factor = st.sampled_from([0.5, 0.75, 1.0, 1.1, 1.5, 2.0, 2.3, 3.0, 1 / 3])
        factors = draw(st.lists(factor, min_size=spatial, max_size=spatial))
        factors = [max(f, 1 / s) for f, s in zip(factors, sides)]  # no empty output
        kwargs["scale_factor"] = factors[0] if len(set(factors)) == 1 else tuple(factors)
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
    return x, kwargs


def _pair(kwargs):
    return (lambda x: interpolate(x, **kwargs), lambda x: TF.interpolate(x, **kwargs))


@given(interpolate_cases())
def test_interpolate_forward_matches_torch(case):
    x, kwargs = case
    check_forward_matches_torch(*_pair(kwargs), [x])


@given(interpolate_cases())
def test_interpolate_backward_matches_torch(case):
    x, kwargs = case
    check_backward_matches_torch(*_pair(kwargs), [x])


@given(interpolate_cases(max_side=4))
def test_interpolate_backward_matches_finite_differences(case):
    x, kwargs = case
    check_finite_differences(_pair(kwargs)[0], [x])


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("bilinear", False),
                                                 ("bilinear", True)])
@pytest.mark.parametrize("call", [dict(scale_factor=2), dict(scale_factor=0.6),
                                  dict(size=(17, 9)), dict(scale_factor=(2.3, 1.1))])
def test_interpolate_float32_matches_torch(rng, mode, align_corners, call):
    """float32 positions are computed in float32 as torch does, so nearest indices agree."""
    x = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
    ours = minigrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out = interpolate(ours, mode=mode, align_corners=align_corners, **call)
    expected = TF.interpolate(theirs, mode=mode, align_corners=align_corners, **call)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert out.dtype == np.float32 and ours.grad.dtype == np.float32
    assert_close(out, expected, atol=1e-5, rtol=1e-5, name="forward")
    assert_close(ours.grad, theirs.grad, atol=1e-5, rtol=1e-5, name="gradient")


@pytest.mark.parametrize("call", [dict(size=(3, 2)), dict(scale_factor=0.5),
                                  dict(scale_factor=(0.7, 1.5)), dict(size=5)])
def test_area_mode_matches_torch(rng, call):
    x = rng.standard_normal((2, 3, 6, 4))
    check_backward_matches_torch(lambda t: interpolate(t, mode="area", **call),
                                 lambda t: TF.interpolate(t, mode="area", **call), [x])
    check_forward_matches_torch(lambda t: interpolate(t, mode="area", **call),
                                lambda t: TF.interpolate(t, mode="area", **call), [x])


def test_nearest_upsampling_by_two_repeats_each_pixel_and_sums_gradients():
    x = minigrad.tensor(np.arange(4.0).reshape(1, 1, 2, 2), requires_grad=True)
    out = interpolate(x, scale_factor=2)
    np.testing.assert_array_equal(out.data[0, 0], [[0, 0, 1, 1], [0, 0, 1, 1],
                                                   [2, 2, 3, 3], [2, 2, 3, 3]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((1, 1, 2, 2), 4.0))


@pytest.mark.parametrize("kwargs", [
    dict(scale_factor=2), dict(size=(5, 3), mode="bilinear"),
    dict(scale_factor=(1.5, 2.0), mode="bilinear", align_corners=True),
    dict(size=4, mode="nearest-exact"),
])
def test_upsample_layer_matches_torch(rng, kwargs):
    x = rng.standard_normal((2, 3, 4, 4))
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    check_backward_matches_torch(ours, theirs, [x])


@pytest.mark.parametrize("name", ["UpsamplingNearest2d", "UpsamplingBilinear2d"])
def test_fixed_mode_upsampling_layers_match_torch(rng, name):
    ours, theirs = getattr(nn, name)(scale_factor=2), getattr(torch.nn, name)(scale_factor=2)
    assert repr(ours) == repr(theirs)
    check_backward_matches_torch(ours, theirs, [rng.standard_normal((1, 2, 3, 5))])


_X = minigrad.zeros(1, 2, 4, 4)


@pytest.mark.parametrize("call, error, message", [
    (lambda: interpolate(_X), ValueError, r"^interpolate: give exactly one of size and "),
    (lambda: interpolate(_X, size=3, scale_factor=2), ValueError, r"^interpolate: give exactly"),
    (lambda: interpolate(minigrad.zeros(1, 2, 4), scale_factor=2, mode="area"), ValueError,
     r"^interpolate: got 3-D input, but area mode needs 4-D input"),
    (lambda: interpolate(_X, scale_factor=2, mode="bicubic"), ValueError,
     r"^interpolate: mode must be one of nearest, .*'bicubic'"),
    (lambda: interpolate(_X, scale_factor=2, align_corners=True), ValueError,
     r"^interpolate: align_corners option can only be set with the interpolating modes"),
    (lambda: interpolate(_X, scale_factor=2, mode="trilinear"), ValueError,
     r"^interpolate: got 4-D input, but trilinear mode needs 5-D input"),
    (lambda: interpolate(minigrad.zeros(2, 3), scale_factor=2), ValueError,
     r"^interpolate: input must be 3-D, 4-D or 5-D .*\(2, 3\)"),
    (lambda: interpolate(_X, size=(3, 3, 3)), ValueError,
     r"^interpolate: size shape must match input's spatial dimensions \(2\)"),
    (lambda: interpolate(_X, size=0), ValueError, r"^interpolate: size must be positive"),
    (lambda: interpolate(_X, scale_factor=-1.0), ValueError,
     r"^interpolate: scale_factor must be positive"),
    (lambda: interpolate(_X, scale_factor=0.1), ValueError, r"^interpolate: .*empty output"),
    (lambda: interpolate(_X.data, scale_factor=2), TypeError, r"^interpolate: input must be a "),
    (lambda: interpolate(minigrad.zeros(1, 1, 2, 2, dtype="int64"), scale_factor=2),
     TypeError, r"^interpolate: input must be floating point"),
    (lambda: interpolate(_X, scale_factor=2, antialias=True), ValueError,
     r"^interpolate: antialias=True is not supported"),
])
def test_interpolate_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
