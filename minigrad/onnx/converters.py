"""One converter per `Function` class: the ONNX nodes that compute what the function computed.

A converter takes the `GraphBuilder` and the recorded call (`Op`: value names of the inputs,
their shapes, the keyword attributes given to `Function.apply`) and returns the name of the
value holding the function's output. `CONVERTERS` at the bottom maps each class to one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.fast import activation as fast_activation
from minigrad.fast import conv_depthwise, conv_depthwise_small, conv_general, conv_pointwise
from minigrad.fast import norm as fast_norm
from minigrad.onnx.graph import GraphBuilder
from minigrad.ops import activation, elementwise, matmul, pool, reduce, shape
from minigrad.reference import activation as reference_activation
from minigrad.reference import conv as reference_conv
from minigrad.reference import norm as reference_norm


@dataclass
class Op:
    """One recorded `Function` call.

    Attributes:
        function: the `Function` subclass.
        inputs: the value name of each positional input (None where the input was None).
        shapes: each input's shape (None where it was None).
        attrs: the keyword arguments given to `Function.apply`.
    """

    function: type
    inputs: list[Any]  # str | None
    shapes: list[Any]  # tuple[int, ...] | None
    attrs: dict[str, Any]


Converter = Callable[[GraphBuilder, Op], str]


def _unary(op_type: str, **attributes: Any) -> Converter:
    def convert(g: GraphBuilder, op: Op) -> str:
        return g.node(op_type, op.inputs[:1], **attributes)

    return convert


def _binary(op_type: str) -> Converter:
    def convert(g: GraphBuilder, op: Op) -> str:
        return g.node(op_type, op.inputs[:2])

    return convert


def _clip(g: GraphBuilder, x: str, lo: float | None, hi: float | None) -> str:
    bounds = [None if b is None else g.scalar(b, like=x) for b in (lo, hi)]
    return g.node("Clip", [x, *bounds])


def convert_conv(g: GraphBuilder, op: Op) -> str:
    """Any conv kernel: the group count follows from the shapes (C_in / weight's C_in)."""
    x_shape, w_shape = op.shapes[0], op.shapes[1]
    top, bottom, left, right = op.attrs.get("padding", (0, 0, 0, 0))
    return g.node("Conv", [name for name in op.inputs[:3] if name is not None],
                  kernel_shape=list(w_shape[2:]), strides=list(op.attrs.get("stride", (1, 1))),
                  pads=[top, left, bottom, right],
                  dilations=list(op.attrs.get("dilation", (1, 1))),
                  group=x_shape[1] // w_shape[1])


def convert_batch_norm(g: GraphBuilder, op: Op) -> str:
    """Eval-mode BatchNorm with the running statistics."""
    if op.attrs.get("training", False):
        raise ValueError(f"onnx.export: {op.function.__name__} normalises with batch "
                         "statistics in eval mode (a BatchNorm without running statistics); "
                         "ONNX's BatchNormalization needs running ones")
    x, weight, bias = op.inputs[:3]
    channels = op.shapes[0][1]
    dtype = g.dtypes[x]
    weight = weight or g.constant(np.ones(channels, dtype=dtype))
    bias = bias or g.constant(np.zeros(channels, dtype=dtype))
    stats = [g.constant(op.attrs[key]) for key in ("running_mean", "running_var")]
    return g.node("BatchNormalization", [x, weight, bias, *stats],
                  epsilon=float(op.attrs.get("eps", 1e-5)))


def convert_silu(g: GraphBuilder, op: Op) -> str:
    return g.node("Mul", [op.inputs[0], g.node("Sigmoid", op.inputs[:1])])


def convert_softmax(op_type: str) -> Converter:
    def convert(g: GraphBuilder, op: Op) -> str:
        return g.node(op_type, op.inputs[:1], axis=int(op.attrs.get("dim", -1)))

    return convert


def convert_clip(g: GraphBuilder, op: Op) -> str:
    """min(max(x, lo), hi) with the bounds as (broadcast) inputs, either one may be absent."""
    y, lo, hi = (list(op.inputs) + [None, None])[:3]
    if lo is not None:
        y = g.node("Max", [y, lo])
    if hi is not None:
        y = g.node("Min", [y, hi])
    return y


def convert_where(g: GraphBuilder, op: Op) -> str:
    cond = g.constant(np.asarray(op.attrs["cond"], dtype=bool))
    return g.node("Where", [cond, *op.inputs[:2]], dtype=g.dtypes[op.inputs[0]])


def convert_cast(g: GraphBuilder, op: Op) -> str:
    dtype = np.dtype(op.attrs["dtype"])
    return g.node("Cast", op.inputs[:1], dtype=dtype,
                  to=g.helper.np_dtype_to_tensor_dtype(dtype))


def convert_linear(g: GraphBuilder, op: Op) -> str:
    """y = x·Wᵀ + b: one Gemm for 2-D x, else MatMul with Wᵀ (and Add)."""
    x, weight, bias = (op.inputs + [None])[:3]
    if len(op.shapes[0]) == 2:
        return g.node("Gemm", [x, weight] + ([bias] if bias else []), transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [weight], perm=[1, 0])])
    return g.node("Add", [y, bias]) if bias else y


def convert_reshape(g: GraphBuilder, op: Op) -> str:
    target = list(op.attrs["shape"])
    if g.dynamic_batch:
        # copy the batch axis from the input (ONNX's 0); a reshape that merges it cannot
        # follow another batch size
        if not (target and op.shapes[0] and target[0] == op.shapes[0][0] == g.batch):
            raise ValueError(f"onnx.export: a reshape from {op.shapes[0]} to "
                             f"{tuple(target)} moves the batch axis, so it cannot have a "
                             "dynamic batch size; export with dynamic_batch=False")
        target[0] = 0
    return g.node("Reshape", [op.inputs[0], g.ints(target)])


def convert_permute(g: GraphBuilder, op: Op) -> str:
    return g.node("Transpose", op.inputs[:1], perm=list(op.attrs["dims"]))


def convert_expand(g: GraphBuilder, op: Op) -> str:
    target = list(op.attrs["shape"])
    if g.dynamic_batch and op.shapes[0] and len(op.shapes[0]) == len(target) \
            and target[0] == op.shapes[0][0]:
        target[0] = 1  # broadcasting keeps the input's own batch axis
    return g.node("Expand", [op.inputs[0], g.ints(target)])


def convert_cat(g: GraphBuilder, op: Op) -> str:
    return g.node("Concat", list(op.inputs), axis=int(op.attrs.get("axis", 0)))


def convert_stack(g: GraphBuilder, op: Op) -> str:
    axis = int(op.attrs.get("axis", 0))
    axes = g.ints([axis])
    return g.node("Concat", [g.node("Unsqueeze", [x, axes]) for x in op.inputs], axis=axis)


_ONNX_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}


def convert_pad(g: GraphBuilder, op: Op) -> str:
    """ONNX pads list every axis' start, then every axis' end."""
    mode = op.attrs.get("mode", "constant")
    if mode == "circular" and g.opset < 19:
        raise ValueError(f"onnx.export: circular padding needs opset 19 or later "
                         f"(ONNX's Pad mode 'wrap'), got opset={g.opset}")
    widths = op.attrs["widths"]
    pads = g.ints([b for b, _ in widths] + [a for _, a in widths])
    inputs = [op.inputs[0], pads]
    if mode == "constant":
        inputs.append(g.scalar(op.attrs.get("value", 0.0), like=op.inputs[0]))
    return g.node("Pad", inputs, mode=_ONNX_PAD_MODES[mode])


def _reduce(op_type: str) -> Converter:
    """Sum/Mean over `axes` (all of them when empty)."""

    def convert(g: GraphBuilder, op: Op) -> str:
        axes = list(op.attrs.get("axes", ())) or list(range(len(op.shapes[0])))
        keepdims = int(bool(op.attrs.get("keepdim", False)))
        if op_type == "ReduceSum" or g.opset >= 18:
            return g.node(op_type, [op.inputs[0], g.ints(axes)], keepdims=keepdims)
        return g.node(op_type, op.inputs[:1], axes=axes, keepdims=keepdims)

    return convert


def _window_geometry(windows: Any) -> dict[str, list[int]]:
    """Kernel, strides, dilations and pads of a pooling; the end pads reach the last window,
    which torch's ceil_mode may start beyond the input (ONNX then runs in floor mode)."""
    wh, ww = windows
    ends = [(w.out - 1) * w.stride + w.dilation * (w.kernel - 1) + 1 - w.size - w.padding
            for w in (wh, ww)]
    return {"kernel_shape": [wh.kernel, ww.kernel], "strides": [wh.stride, ww.stride],
            "pads": [wh.padding, ww.padding, max(ends[0], 0), max(ends[1], 0)],
            "dilations": [wh.dilation, ww.dilation]}


def convert_max_pool(g: GraphBuilder, op: Op) -> str:
    if op.attrs.get("indices") is not None:
        raise ValueError("onnx.export: max_pool2d with return_indices=True cannot be exported")
    return g.node("MaxPool", op.inputs[:1], **_window_geometry(op.attrs["windows"]))


def convert_avg_pool(g: GraphBuilder, op: Op) -> str:
    """AveragePool dividing by the whole window, then a rescale where torch's divisor is
    another (padding not counted, windows cut by the end, divisor_override)."""
    geometry = _window_geometry(op.attrs["windows"])
    del geometry["dilations"]
    y = g.node("AveragePool", op.inputs[:1], count_include_pad=1, **geometry)
    wh, ww = op.attrs["windows"]
    divisor = pool._divisor(wh, ww, op.attrs.get("count_include_pad", True),
                            op.attrs.get("divisor_override"), g.dtypes[op.inputs[0]])
    window = wh.kernel * ww.kernel
    if np.all(divisor == window):
        return y
    return g.node("Mul", [y, g.constant((window / divisor).astype(divisor.dtype))])


def convert_adaptive_avg_pool(g: GraphBuilder, op: Op) -> str:
    """Uneven adaptive windows: y = A_h · x · A_wᵀ with the averaging matrices, as minigrad."""
    (h, w), (oh, ow) = op.shapes[0][-2:], op.attrs["output_size"]
    dtype = g.dtypes[op.inputs[0]]
    a_h = pool._adaptive_matrix(h, oh, dtype)
    a_w_t = np.ascontiguousarray(pool._adaptive_matrix(w, ow, dtype).T)
    # (..., H, W) @ (W, OW) -> (..., H, OW); (OH, H) @ (..., H, OW) -> (..., OH, OW)
    y = g.node("MatMul", [op.inputs[0], g.constant(a_w_t)])
    return g.node("MatMul", [g.constant(a_h), y], dtype=dtype)


def convert_global_avg_pool(g: GraphBuilder, op: Op) -> str:
    if len(op.shapes[0]) != 4:
        raise ValueError(f"onnx.export: global average pooling of a {len(op.shapes[0])}-D "
                         "input; only (N, C, H, W) is exported")
    return g.node("GlobalAveragePool", op.inputs[:1])


# To export a new Function class, add one line: the class and its converter. A converter
# reads the inputs' value names and shapes and the keyword attributes the class's `apply`
# was called with (see `Op`) and returns the name of its output value, adding nodes through
# the GraphBuilder; a class with the same inputs and attributes as one below reuses its
# converter (e.g. a second conv kernel: `NewConv2d: convert_conv`).
CONVERTERS: dict[type, Converter] = {
    # each hand-derived op has a reference and a fast kernel class (minigrad/reference, /fast)
    reference_conv.PointwiseConv2d: convert_conv,
    reference_conv.DepthwiseConv2d: convert_conv,
    reference_conv.GeneralConv2d: convert_conv,
    conv_pointwise.PointwiseConv2d: convert_conv,
    conv_depthwise.DepthwiseConv2d: convert_conv,
    conv_depthwise_small.DepthwiseConv2d: convert_conv,
    conv_general.GeneralConv2d: convert_conv,
    reference_norm.BatchNormFunction: convert_batch_norm,
    fast_norm.BatchNormFunction: convert_batch_norm,
    **{getattr(kernels, name): convert
       for kernels in (reference_activation, fast_activation)
       for name, convert in (("ReLUFunction", _unary("Relu")),
                             ("ReLU6Function", lambda g, op: _clip(g, op.inputs[0], 0.0, 6.0)),
                             ("HardSigmoidFunction", _unary("HardSigmoid", alpha=1 / 6, beta=0.5)),
                             ("HardSwishFunction", _unary("HardSwish")))},
    activation.SigmoidFunction: _unary("Sigmoid"),
    activation.TanhFunction: _unary("Tanh"),
    activation.SiLUFunction: convert_silu,
    activation.SoftmaxFunction: convert_softmax("Softmax"),
    activation.LogSoftmaxFunction: convert_softmax("LogSoftmax"),
    elementwise.Add: _binary("Add"),
    elementwise.Sub: _binary("Sub"),
    elementwise.Mul: _binary("Mul"),
    elementwise.Div: _binary("Div"),
    elementwise.Pow: _binary("Pow"),
    elementwise.Maximum: _binary("Max"),
    elementwise.Minimum: _binary("Min"),
    elementwise.Neg: _unary("Neg"),
    elementwise.Exp: _unary("Exp"),
    elementwise.Log: _unary("Log"),
    elementwise.Sqrt: _unary("Sqrt"),
    elementwise.Abs: _unary("Abs"),
    elementwise.Clip: convert_clip,
    elementwise.Where: convert_where,
    elementwise.Cast: convert_cast,
    elementwise.Clone: _unary("Identity"),
    matmul.MatMul: _binary("MatMul"),
    matmul.Linear: convert_linear,
    shape.Reshape: convert_reshape,
    shape.Permute: convert_permute,
    shape.Expand: convert_expand,
    shape.Cat: convert_cat,
    shape.Stack: convert_stack,
    shape.Pad: convert_pad,
    reduce.Sum: _reduce("ReduceSum"),
    reduce.Mean: _reduce("ReduceMean"),
    pool.MaxPool2d: convert_max_pool,
    pool.AvgPool2d: convert_avg_pool,
    pool.AdaptiveAvgPool2d: convert_adaptive_avg_pool,
    pool.GlobalAvgPool2d: convert_global_avg_pool,
}
