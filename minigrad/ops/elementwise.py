"""Elementwise ops with NumPy broadcasting; each gradient is summed back to its input's shape.

Symbols: `g` is the incoming gradient (the broadcast shape), `a`, `b` the inputs, `y` the
output. Backward of every binary op is `unbroadcast(partial * g, input.shape)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.tensor import Tensor


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `g` over the axes that broadcasting added or stretched, so it has `shape`."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    # (extra leading axes) + (axes where the input had size 1 but g does not)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    return g.sum(axis=axes).reshape(shape) if axes else g.reshape(shape)


def _operands(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    """Tensors or arrays of one float dtype, after checking that their shapes broadcast."""
    like = a if isinstance(a, Tensor) else b
    a, b = _promote(op, *(_constant(op, x, like) for x in (a, b)))
    try:
        np.broadcast_shapes(np.shape(_data(a)), np.shape(_data(b)))
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(np.shape(_data(a)))} and "
                         f"{tuple(np.shape(_data(b)))} do not broadcast") from None
    return a, b


def _promote(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    """torch's type promotion where NumPy's differs: an integer or bool operand meeting a
    float one takes the float's dtype (NumPy would widen int64 with float32 to float64), and
    true division of integers gives float32. Integer tensors never require grad, so casting
    their arrays loses no gradient."""
    kind_a, kind_b = np.asarray(_data(a)).dtype.kind, np.asarray(_data(b)).dtype.kind
    if kind_a == "f" and kind_b in "biu":
        return a, _cast_array(b, _data(a).dtype)
    if kind_b == "f" and kind_a in "biu":
        return _cast_array(a, _data(b).dtype), b
    if op == "div" and kind_a in "biu" and kind_b in "biu":
        return _cast_array(a, np.float32), _cast_array(b, np.float32)
    return a, b


def _cast_array(x: Any, dtype: Any) -> Any:
    if isinstance(x, Tensor):
        return Tensor._wrap(x.data.astype(dtype))
    return np.asarray(x, dtype=dtype)


def _data(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else x


def _constant(op: str, x: Any, like: Tensor) -> Any:
    """A Python number or array-like becomes an array of `like`'s float dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    if x is None or np.asarray(x).dtype.kind not in "biuf":
        raise TypeError(f"{op}: the other operand must be a Tensor, a number or a numeric "
                        f"array, got {type(x).__name__} {x!r}")
    dtype = like.dtype if like.dtype.kind == "f" else np.result_type(like.dtype, np.asarray(x))
    if isinstance(x, bool) or (isinstance(x, (int, float)) and like.dtype.kind == "f"):
        dtype = like.dtype
    elif isinstance(x, float):  # an integer tensor and a Python float: float32, as torch
        dtype = np.float32
    return np.asarray(x, dtype=dtype)


class Add(Function):
    """y = a + b.  Backward: da = g, db = g (each unbroadcast)."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    """y = a - b.  Backward: da = g, db = -g."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        sa, sb = ctx.shapes
        db = unbroadcast(-g, sb) if ctx.needs_input_grad[1] else None
        return unbroadcast(g, sa), db


class Mul(Function):
    """y = a * b.  Backward: da = g * b, db = g * a.  Saved: a, b."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        da = unbroadcast(g * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(g * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b.  Backward: da = g / b, db = -g * a / b²."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        da = unbroadcast(g / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-g * a / (b * b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """y = a ** b.  Backward: da = g * b * a^(b-1), db = g * y * log(a).

    Kinks: db is taken as 0 where a = 0 (torch's value; log(0) would give NaN), and da as 0
    where b = 0 (torch's value; 0 * a^(-1) is NaN at a = 0).
    """

    @staticmethod
    def forward(ctx: Context, a, b):
        if np.result_type(a, b).kind in "iu" and np.any(np.asarray(b) < 0):
            raise ValueError(f"pow: integers to negative integer powers are not allowed "
                             f"(exponent {np.min(b)}); use a float base")
        y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        a, b, y = ctx.saved_tensors
        da = db = None
        if ctx.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                # b = 0 gives da = 0 even at a = 0, where a^(b-1) is inf (torch's value)
                da = unbroadcast(np.where(b == 0, 0, g * b * np.power(a, b - 1)), np.shape(a))
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            db = unbroadcast(g * y * log_a, np.shape(b))
        return da, db


class Neg(Function):
    """y = -x.  Backward: dx = -g."""

    @staticmethod
    def forward(ctx: Context, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx: Context, g):
        return (-g,)


class Exp(Function):
    """y = eˣ.  Backward: dx = g * y.  Saved: y."""

    @staticmethod
    def forward(ctx: Context, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (g * y,)


class Log(Function):
    """y = ln x.  Backward: dx = g / x.  Saved: x."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (g / x,)


class Sqrt(Function):
    """y = √x.  Backward: dx = g / (2y).  Saved: y."""

    @staticmethod
    def forward(ctx: Context, x):
        with np.errstate(invalid="ignore"):
            y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):
            return (g / (2 * y),)


class Abs(Function):
    """y = |x|.  Backward: dx = g * sign(x).  Kink: 0 at x = 0 (torch).  Saved: x."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (g * np.sign(x),)


class Maximum(Function):
    """y = max(a, b).  Backward: g goes to the larger input; at ties each gets g/2 (torch)."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        share_a = (a > b) + 0.5 * (a == b)
        da = unbroadcast(g * share_a, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(g * (1 - share_a), np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Minimum(Function):
    """y = min(a, b).  Backward: g goes to the smaller input; at ties each gets g/2 (torch)."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        share_a = (a < b) + 0.5 * (a == b)
        da = unbroadcast(g * share_a, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(g * (1 - share_a), np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Clip(Function):
    """y = min(max(x, lo), hi).  Backward: dx = g * [lo <= x <= hi] (torch: g passes at bounds)."""

    @staticmethod
    def forward(ctx: Context, x, lo=None, hi=None):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        return (g * inside,)


class Where(Function):
    """y = a where cond else b.  Backward: da = g * cond, db = g * ¬cond (unbroadcast)."""

    @staticmethod
    def forward(ctx: Context, a, b, cond=None):
        ctx.cond = cond
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, g):
        sa, sb = ctx.shapes
        da = unbroadcast(np.where(ctx.cond, g, 0), sa) if ctx.needs_input_grad[0] else None
        db = unbroadcast(np.where(ctx.cond, 0, g), sb) if ctx.needs_input_grad[1] else None
        return da, db


class Cast(Function):
    """y = x converted to another dtype.  Backward: dx = g converted back."""

    @staticmethod
    def forward(ctx: Context, x, dtype=None):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, g):
        return (g.astype(ctx.dtype),)


class Clone(Function):
    """y = a copy of x.  Backward: dx = g."""

    @staticmethod
    def forward(ctx: Context, x):
        return x.copy()

    @staticmethod
    def backward(ctx: Context, g):
        return (g,)


def _binary(function: type[Function], op: str) -> Callable[[Any, Any], Tensor]:
    def apply(a: Any, b: Any) -> Tensor:
        return function.apply(*_operands(op, a, b))

    apply.__name__ = op
    apply.__doc__ = function.__doc__
    return apply


add = _binary(Add, "add")
sub = _binary(Sub, "sub")
mul = _binary(Mul, "mul")
div = _binary(Div, "div")
pow = _binary(Pow, "pow")
maximum = _binary(Maximum, "maximum")
minimum = _binary(Minimum, "minimum")


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(_as_float(x))


def log(x: Tensor) -> Tensor:
    return Log.apply(_as_float(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(_as_float(x))


def abs(x: Tensor) -> Tensor:
    return Abs.apply(_as_tensor(x))


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Clamp to [min, max]; either bound may be None (as torch.clamp)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and np.asarray(_data(bound)).dtype.kind not in "biuf":
            raise TypeError(f"clip: {name} must be a number or a numeric Tensor, got {bound!r}")
    return Clip.apply(_as_tensor(x), lo=min, hi=max)


clamp = clip


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elements of `a` where `condition` is true, else of `b` (broadcast together)."""
    cond = np.asarray(_data(condition))
    if cond.dtype.kind not in "biuf":
        raise TypeError(f"where: condition must be boolean or numeric, "
                        f"got {type(condition).__name__} of dtype {cond.dtype}")
    cond = cond.astype(bool, copy=False)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    a, b = _operands("where", a, b)
    try:
        np.broadcast_shapes(cond.shape, np.shape(_data(a)))
    except ValueError:
        raise ValueError(f"where: condition shape {cond.shape} does not broadcast with "
                         f"{tuple(np.shape(_data(a)))}") from None
    return Where.apply(a, b, cond=cond)


def cast(x: Tensor, dtype: np.dtype) -> Tensor:
    if x.dtype == dtype:
        return x
    return Cast.apply(x, dtype=dtype)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def compare(ufunc: np.ufunc, a: Any, b: Any) -> Tensor:
    """A boolean tensor (no gradient), e.g. `a < b`."""
    a, b = _operands(ufunc.__name__, a, b)
    return Tensor._wrap(ufunc(_data(a), _data(b)))


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _as_float(x: Any) -> Tensor:
    """A tensor for a float-valued op: integers and bools become float32, as in torch."""
    x = _as_tensor(x)
    return _cast_array(x, np.float32) if x.dtype.kind in "biu" else x
