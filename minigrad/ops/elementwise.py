"""Elementwise ops with NumPy broadcasting; each gradient is summed back to its input's shape.

Symbols: `g` is the incoming gradient (the broadcast shape), `a`, `b` the inputs, `y` the
output. Backward of every binary op is `unbroadcast(partial * g, input.shape)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.dtypes import as_array
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


def operands(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    """Tensors or arrays of torch's result dtype, after checking types and that the shapes
    broadcast (a TypeError or ValueError naming `op` otherwise)."""
    for x in (a, b):
        _check_operand(op, x)
    dtype = result_type(a, b)
    if op in ("div", "div_") and dtype.kind in "biu":
        dtype = np.dtype(np.float32)  # true division of integers, as torch
    a, b = to_dtype(a, dtype), to_dtype(b, dtype)
    try:
        np.broadcast_shapes(np.shape(_data(a)), np.shape(_data(b)))
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(np.shape(_data(a)))} and "
                         f"{tuple(np.shape(_data(b)))} do not broadcast") from None
    return a, b


_operands = operands


def _check_operand(op: str, x: Any) -> None:
    if isinstance(x, Tensor):
        return
    kind = None if x is None or isinstance(x, (str, bytes)) else _array_or_none(x)
    if kind is None or kind.dtype.kind not in "biuf":
        raise TypeError(f"{op}: the other operand must be a Tensor, a number or a numeric "
                        f"array, got {type(x).__name__} {x!r}")


def _array_or_none(x: Any) -> np.ndarray | None:
    try:
        return np.asarray(x)
    except ValueError:  # ragged nested lists
        return None


def result_type(*values: Any) -> np.dtype:
    """torch's type promotion. Operands form three tiers: tensors with dims, 0-d tensors, and
    Python numbers (a Python float counts as float32). A lower tier changes the result only
    when its category (bool < integer < float) is higher, so `float32 tensor + float64 0-d
    tensor` is float32 and `int64 tensor + 2.5` is float32."""
    tiers: list[np.dtype | None] = [None, None, None]
    for x in values:
        tier, dtype = _tier(x)
        so_far = tiers[tier]
        tiers[tier] = dtype if so_far is None else _promote_pair(so_far, dtype)
    dims, zero_dim, numbers = tiers
    result = _combine_categories(dims, _combine_categories(zero_dim, numbers))
    assert result is not None, "result_type needs at least one operand"
    return result


def _tier(x: Any) -> tuple[int, np.dtype]:
    """(0 tensor or array with dims | 1 zero-dim tensor or array | 2 Python number, dtype)."""
    if isinstance(x, (Tensor, np.ndarray)):
        return (0 if x.ndim else 1), x.dtype
    if isinstance(x, (bool, np.bool_)):
        return 2, np.dtype(np.bool_)
    if isinstance(x, (int, np.integer)):
        return 2, np.dtype(np.int64)
    if isinstance(x, (float, np.floating)):
        return 2, np.dtype(np.float32)
    return 0, as_array(x).dtype  # a (nested) list, as a tensor made from it


def _promote_pair(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch's promote_types: a float meeting an integer or bool keeps the float's dtype
    (NumPy would widen int64 with float32 to float64)."""
    if a.kind == "f" and b.kind != "f":
        return a
    if b.kind == "f" and a.kind != "f":
        return b
    return np.promote_types(a, b)


def _combine_categories(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The higher tier's dtype, unless the lower tier is of a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote_pair(higher, lower)
    return higher


def to_dtype(x: Any, dtype: np.dtype) -> Any:
    """`x` in `dtype`: a Tensor through `cast` (so a gradient flows back), others as arrays."""
    if isinstance(x, Tensor):
        return cast(x, dtype)
    # a cast rather than asarray(x, dtype): a number too large for a small integer dtype
    # wraps around as in torch (uint8 tensor + 300) instead of raising OverflowError
    return np.asarray(as_array(x) if isinstance(x, (list, tuple)) else x).astype(dtype,
                                                                                copy=False)


def _data(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else x


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

    Values where these formulas meet 0·inf or log of a non-positive number are torch's:
    da = 0 where b = 0 (even at a = 0); db = 0 where a = 0 and b ≥ 0, while a = 0 with b < 0
    gives y·log(a) = inf·(−inf) = −inf and a < 0 gives NaN (log of a negative number).
    """

    @staticmethod
    def forward(ctx: Context, a, b):
        if np.result_type(a, b).kind in "iu" and np.any(np.asarray(b) < 0):
            raise ValueError(f"pow: integers to negative integer powers are not allowed "
                             f"(exponent {np.min(b)}); use a float base")
        with np.errstate(divide="ignore", invalid="ignore"):  # inf and NaN, as torch
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        a, b, y = ctx.saved_tensors
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                da = unbroadcast(np.where(b == 0, 0, g * b * np.power(a, b - 1)), np.shape(a))
            if ctx.needs_input_grad[1]:
                y_log_a = np.where((a == 0) & (b >= 0), 0, y * np.log(a))
                db = unbroadcast(g * y_log_a, np.shape(b))
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
    """y = max(a, b).

    Backward (torch's rule): each side gets g, except the smaller side (0) and ties (g/2
    each). A comparison with NaN is false, so where either side is NaN both get the whole g.
    Saved: a, b.
    """

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        return _split_between(ctx, g, a, b, a_loses=a < b, b_loses=a > b)


class Minimum(Function):
    """y = min(a, b).

    Backward (torch's rule): each side gets g, except the larger side (0) and ties (g/2
    each); where either side is NaN both get the whole g. Saved: a, b.
    """

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        return _split_between(ctx, g, a, b, a_loses=a > b, b_loses=a < b)


def _split_between(ctx: Context, g, a, b, a_loses, b_loses):
    """(da, db) for maximum/minimum: g where a side does not lose, g/2 at ties, else 0."""
    tie, half = a == b, g * 0.5
    da = db = None
    if ctx.needs_input_grad[0]:
        da = unbroadcast(np.where(tie, half, np.where(a_loses, 0, g)), np.shape(a))
    if ctx.needs_input_grad[1]:
        db = unbroadcast(np.where(tie, half, np.where(b_loses, 0, g)), np.shape(b))
    return da, db


class Clip(Function):
    """y = min(max(x, lo), hi); either bound may be None, a number or a tensor.

    Backward (torch's rule): dx = g · [lo ≤ x ≤ hi] (g passes at the bounds, not at NaN).
    With both bounds, dlo = g · [x < lo and lo < hi] and dhi = g · [x > hi or hi < lo]
    (for lo > hi the output is hi); with one bound, dlo = g · [x < lo], dhi = g · [x > hi].
    Each is summed back to its input's shape. Saved: x, lo, hi.
    """

    @staticmethod
    def forward(ctx: Context, x, lo=None, hi=None):
        ctx.save_for_backward(x, lo, hi)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx: Context, g):
        x, lo, hi = ctx.saved_tensors
        inside = np.ones(np.shape(g), dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        dx = unbroadcast(np.where(inside, g, 0), np.shape(x))
        dlo = dhi = None
        if ctx.needs_input_grad[1]:
            below = (x < lo) & (lo < hi) if hi is not None else x < lo
            dlo = unbroadcast(np.where(below, g, 0), np.shape(lo))
        if ctx.needs_input_grad[2]:
            above = (x > hi) | (hi < lo) if lo is not None else x > hi
            dhi = unbroadcast(np.where(above, g, 0), np.shape(hi))
        return dx, dlo, dhi


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


def clip(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp to [min, max]; either bound may be None, a number or a tensor (as torch.clamp)."""
    return clamp_op("clip", _as_tensor(x), min, max)


def clamp_op(op: str, x: Tensor, lo: Any, hi: Any) -> Tensor:
    """`clip` with the name `op` in its errors; the bounds join x's type promotion."""
    if lo is None and hi is None:
        raise ValueError(f"{op}: at least one of min and max must be given")
    _check_bound(op, "min", lo)
    _check_bound(op, "max", hi)
    given = [v for v in (x, lo, hi) if v is not None]
    try:
        np.broadcast_shapes(*(np.shape(_data(v)) for v in given))
    except ValueError:
        shapes = ", ".join(str(tuple(np.shape(_data(v)))) for v in given)
        raise ValueError(f"{op}: the shapes of x, min and max {shapes} do not broadcast") \
            from None
    dtype = result_type(*given)
    return Clip.apply(*(None if v is None else to_dtype(v, dtype) for v in (x, lo, hi)))


def _check_bound(op: str, name: str, bound: Any) -> None:
    if bound is None:
        return
    array = None if isinstance(bound, (str, bytes)) else _array_or_none(_data(bound))
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must be a number or a numeric Tensor, "
                        f"got {type(bound).__name__} {bound!r}")


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
    """`x` as `dtype`; a cast to an integer or bool dtype leaves the graph (as torch)."""
    if x.dtype == dtype:
        return x
    if np.dtype(dtype).kind not in "fc":
        return Tensor._wrap(x.data.astype(dtype))
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
    return cast(x, np.dtype(np.float32)) if x.dtype.kind in "biu" else x
