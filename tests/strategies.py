"""Hypothesis strategies shared by the tests: shapes, broadcastable pairs, float64 arrays,
values kept away from kinks."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def shapes(min_dims: int = 0, max_dims: int = 4, max_side: int = 5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape, elements=finite):
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def broadcastable_pair(draw, min_dims: int = 0, max_dims: int = 4):
    """Two float64 arrays whose shapes broadcast together (sizes of 1 and missing axes)."""
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, max_side=4)).input_shapes
    return draw(arrays(a_shape)), draw(arrays(b_shape))


def away_from(kinks, margin: float = 1e-3, low: float = -10, high: float = 10):
    """Floats in [low, high] at least `margin` from every kink (finite differences need it)."""
    return st.floats(low, high, allow_nan=False, width=64).filter(
        lambda v: all(abs(v - k) > margin for k in kinks))


def positive(low: float = 0.1, high: float = 10):
    return st.floats(low, high, allow_nan=False, width=64)


CONV_KINDS = ("depthwise", "pointwise", "general", "any")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _conv_channels(draw, kind: str) -> tuple[int, int, int]:
    """(C_in, C_out, groups) that `conv2d` dispatches to `kind`'s kernel."""
    if kind == "any":
        kind = draw(st.sampled_from(("depthwise", "pointwise", "general")))
    # one input channel would make a depthwise 1×1 conv also a pointwise one
    c_in = draw(st.integers(1 if kind == "pointwise" else 2, 4))
    if kind == "depthwise":
        return c_in, c_in * draw(st.integers(1, 3)), c_in
    if kind == "pointwise":
        return c_in, draw(st.integers(1, 4)), 1
    groups = draw(st.sampled_from([d for d in _divisors(c_in) if d != c_in]))
    return c_in, groups * draw(st.integers(1, 3)), groups


def _conv_geometry(draw, kind: str, groups: int, stride2_odd: bool) -> dict:
    """Kernel, stride, padding, dilation and an input size whose output is at least 1×1."""
    if kind == "pointwise":
        return {"kernel": (1, 1), "stride": 1, "padding": 0, "dilation": draw(st.integers(1, 2)),
                "hw": (draw(st.integers(1, 9)), draw(st.integers(1, 9)))}
    # a 1×1 one-group conv could dispatch to pointwise; 'general' cases must not
    kernel = (draw(st.integers(2 if kind == "general" and groups == 1 else 1, 5)),
              draw(st.integers(1, 5)))
    dilation = draw(st.sampled_from([1, 2, (1, 2), (2, 1)]))
    stride = 2 if stride2_odd else draw(st.sampled_from([1, 2, 3, (1, 2), (3, 1)]))
    paddings = [0, 1, 2, (0, 2), (2, 1), "valid"] + (["same"] if stride == 1 else [])
    padding = draw(st.sampled_from(paddings))
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    p = (0, 0) if isinstance(padding, str) else (
        (padding, padding) if isinstance(padding, int) else padding)
    # the smallest side whose padded size holds the dilated kernel ('same' fits any size)
    least = [1 if padding == "same" else max(1, d[i] * (kernel[i] - 1) + 1 - 2 * p[i])
             for i in range(2)]
    sides = [st.integers(least[i], 9) for i in range(2)]
    if stride2_odd:
        sides = [side.map(lambda v: v if v % 2 else v + 1 if v < 9 else v) for side in sides]
    return {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "hw": (draw(sides[0]), draw(sides[1]))}


@st.composite
def conv_cases(draw, kind: str = "any", stride2_odd: bool = False):
    """A conv2d problem for one kernel ('depthwise', 'pointwise', 'general' or 'any').

    Returns (arrays, kwargs): float64 [x, weight] or [x, weight, bias] and conv2d's keyword
    arguments. `stride2_odd` forces stride 2 on odd H and W (the case where the last row and
    column of the input are read by one tap only).
    """
    c_in, c_out, groups = _conv_channels(draw, kind)
    geometry = _conv_geometry(draw, kind, groups, stride2_odd)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((draw(st.integers(1, 2)), c_in, *geometry["hw"]))
    weight = rng.standard_normal((c_out, c_in // groups, *geometry["kernel"]))
    arrays = [x, weight] + ([rng.standard_normal(c_out)] if draw(st.booleans()) else [])
    kwargs = {k: geometry[k] for k in ("stride", "padding", "dilation")}
    return arrays, {**kwargs, "groups": groups}


CONV_PATHS = ("depthwise-planes", "depthwise-small", "pointwise", "general")


def _input_side(draw, out: int, kernel: int, stride: int, dilation: int, pads: int) -> int:
    """An input side giving `out` outputs: the least one, plus up to stride − 1 unread pixels
    (odd sides at stride 2, and so on)."""
    least = (out - 1) * stride + dilation * (kernel - 1) + 1 - pads
    return least + draw(st.integers(0, stride - 1))


@st.composite
def conv_kernel_cases(draw, path: str):
    """Arguments of one conv kernel `Function`, for one path of the fast kernels (CONV_PATHS):
    (x_shape, w_shape, attrs), attrs the Function's keywords with padding as (T, B, L, R).

    Depthwise cases are drawn from the output size back: 'planes' outputs are 9×9 to 14×14
    (the phase-plane kernel), 'small' ones 1×1 to 8×8 (the channels-last kernel); strides 1, 2
    and 3, dilations 1 and 2, symmetric or 'same' padding, channel multipliers 1 to 3.
    """
    n = draw(st.integers(1, 3))
    if path == "pointwise":  # planes of 1×1 to 12×12: both sides of SMALL_PLANE
        c_in, c_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        side = st.integers(1, 12)
        return (n, c_in, draw(side), draw(side)), (c_out, c_in, 1, 1), {}
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = draw(st.sampled_from([(1, 1), (2, 2), (3, 3), (1, 2), (3, 1)]))
    dilation = draw(st.sampled_from([(1, 1), (2, 2), (1, 2), (2, 1)]))
    if stride == (1, 1) and draw(st.booleans()):  # 'same': the odd extra pixel after
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        padding = (totals[0] // 2, totals[0] - totals[0] // 2,
                   totals[1] // 2, totals[1] - totals[1] // 2)
    else:
        ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        padding = (ph, ph, pw, pw)
    sides = st.integers(9, 14) if path == "depthwise-planes" else st.integers(1, 8)
    out_hw = (draw(sides), draw(sides))
    in_hw = tuple(_input_side(draw, out_hw[i], kernel[i], stride[i], dilation[i],
                              padding[2 * i] + padding[2 * i + 1]) for i in range(2))
    assume(min(in_hw) >= 1)
    if path == "general":
        groups, cg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        c_in, c_out, w_in = groups * cg, groups * draw(st.integers(1, 3)), cg
    else:
        c_in = draw(st.integers(1, 4))
        c_out, w_in, groups = c_in * draw(st.integers(1, 3)), 1, c_in
    attrs = {"stride": stride, "padding": padding, "dilation": dilation}
    if path == "general":
        attrs["groups"] = groups
    return (n, c_in, *in_hw), (c_out, w_in, *kernel), attrs
