"""In-place changes as part of autograd, recorded the way torch records them.

An in-place op changes a tensor's array and then rewrites the tensor's history:

- an op that computes from the old value (`add_`, `sub_`, `mul_`, `div_`, `clamp_`) runs as
  its out-of-place op on the old value, and the tensor takes over that op's node;
- an op that overwrites elements (`x[i] = v`, `fill_`, `zero_`, `copy_`) becomes a
  `CopySlices` node: the overwritten elements get zero gradient through the old value, the
  written value gets theirs.

A change made through a view is recorded on the view's base, at the base elements the view
looks into; the view, and every other view of that base, then remakes its grad_fn from the
base (`Tensor._refresh_view`). Arrays that older nodes saved and that the change overwrote
are caught by the version counter when backward reaches them.

As in torch, a leaf that requires grad (or a view of one) may be changed only under
`no_grad`, and a view made under `no_grad` cannot be changed while grad mode records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function, enable_grad, is_grad_enabled, no_grad
from minigrad.ops import elementwise as ew
from minigrad.ops.shape import index_parts, reshape
from minigrad.tensor import Tensor


class CopySlices(Function):
    """y = base with y[index] = value, written into the base's own memory.

    Backward: dbase = g with zeros at `index` (those elements were overwritten);
    dvalue = g[index] summed back to value's shape (unbroadcast). Nothing is saved.
    The write lands at `dest[dest_index]`: the base itself, or the view through which the
    base was changed (then `index` locates the view's elements in the base).
    """

    @staticmethod
    def forward(ctx: Context, base, value, index=(), dest=None, dest_index=()):
        ctx.index, ctx.value_shape = index, np.shape(value)
        dest[dest_index] = value
        return base

    @staticmethod
    def backward(ctx: Context, g):
        dbase = dvalue = None
        if ctx.needs_input_grad[0]:
            dbase = g.copy()
            dbase[ctx.index] = 0
        if ctx.needs_input_grad[1]:
            dvalue = ew.unbroadcast(np.asarray(g[ctx.index]), ctx.value_shape)
        return dbase, dvalue


def check_inplace(t: Tensor, op: str) -> None:
    """Raise before any change when `t` may not be changed in place (torch's rules)."""
    t._check_writeable(op)
    if not is_grad_enabled():
        return
    base = _base_of(t)
    if base.requires_grad and base.is_leaf:
        what = "a leaf tensor" if base is t else "a view of a leaf tensor"
        raise RuntimeError(f"{op}: {what} that requires grad is being used in an in-place "
                           "operation; wrap it in `with minigrad.no_grad():`")


def _base_of(t: Tensor) -> Tensor:
    return t._base if t._base is not None else t


def _records(t: Tensor, operands: tuple[Any, ...]) -> bool:
    """Whether changing `t` with `operands` must be recorded in the graph."""
    return is_grad_enabled() and (_base_of(t).requires_grad or any(
        isinstance(x, Tensor) and x.requires_grad for x in operands))


def _write(t: Tensor, op: str, index: Any, value: Any) -> None:
    """t[index] = value (already checked to fit), recorded when grad mode needs it."""
    base = _base_of(t)
    if not _records(t, (value,)):
        t.data[index] = value.data if isinstance(value, Tensor) else value
        t._bump_version()
        return
    if t is not base and t._view_fn is None:
        raise RuntimeError(f"{op}: this view was made under no_grad and is being changed in "
                           "place while grad mode is on; make the view with grad mode on, or "
                           "change it under no_grad")
    where = index if t is base else _positions_in_base(t, index)
    node = CopySlices.apply(base, value, index=where, dest=t.data, dest_index=index).grad_fn
    t._bump_version()
    base._grad_fn, base._requires_grad = node, True


def _positions_in_base(view: Tensor, index: Any) -> tuple[np.ndarray, ...]:
    """Where the elements of view[index] sit in the view's base, as an index into the base:
    the view op replayed on the base's element numbers."""
    base: Tensor = view._base  # type: ignore[assignment]  # (a view has a base)
    numbers = Tensor._wrap(np.arange(base.data.size).reshape(base.shape))
    with no_grad():
        flat = view._view_fn(numbers).data[index]
    return np.unravel_index(flat, base.shape)


def _update(t: Tensor, op: str, compute: Callable[[Tensor], Tensor],
            operands: tuple[Any, ...], reads_old: bool) -> Tensor:
    """t = compute(t). `reads_old`: compute's backward needs the old value, which the
    change overwrites, so compute gets a copy of it (with t's place in the graph)."""
    check_inplace(t, op)
    record = _records(t, operands)
    old = _snapshot(t) if record and reads_old else t
    with enable_grad() if record else no_grad():
        new = compute(old)
    new = _checked_result(op, t, new)
    if not record:
        np.copyto(t.data, new.data, casting="unsafe")
        t._bump_version()
    elif t is _base_of(t):
        np.copyto(t.data, new.data, casting="unsafe")
        t._bump_version()
        t._grad_fn, t._requires_grad = new.grad_fn, True
    else:
        _write(t, op, Ellipsis, new)
    return t


def _snapshot(t: Tensor) -> Tensor:
    """The current value of `t` in a new array, at `t`'s place in the graph."""
    old = Tensor._wrap(t.data.copy())
    old._grad_fn, old._requires_grad = t.grad_fn, t.requires_grad
    return old


def _checked_result(op: str, t: Tensor, new: Tensor) -> Tensor:
    """The new value, in `t`'s dtype, after checking that it fits `t` (shape and dtype)."""
    if new.shape != t.shape:
        raise ValueError(f"{op}: the result has shape {new.shape} (broadcasting the operands) "
                         f"but the tensor changed in place has shape {t.shape}")
    if not np.can_cast(new.dtype, t.dtype, "same_kind"):
        raise TypeError(f"{op}: the result type {new.dtype} can't be cast to the dtype "
                        f"{t.dtype} of the tensor changed in place")
    return ew.cast(new, t.dtype)


def _checked_alpha(op: str, alpha: Any) -> Any:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: alpha must be a number, got {type(alpha).__name__} {alpha!r}")
    return alpha


def _binary_update(t: Tensor, op: str, function: type[Function], other: Any,
                   reads_old: bool) -> Tensor:
    return _update(t, op, lambda old: function.apply(*ew.operands(op, old, other)),
                   (other,), reads_old)


def _scaled(op: str, other: Any, alpha: Any) -> Any:
    """alpha · other (other itself when alpha is 1), checked."""
    if _checked_alpha(op, alpha) == 1:
        return other
    return ew.Mul.apply(*ew.operands(op, other, alpha))


def add_(t: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """t += alpha · other."""
    return _binary_update(t, "add_", ew.Add, _scaled("add_", other, alpha), reads_old=False)


def sub_(t: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """t -= alpha · other."""
    return _binary_update(t, "sub_", ew.Sub, _scaled("sub_", other, alpha), reads_old=False)


def mul_(t: Tensor, other: Any) -> Tensor:
    """t *= other."""
    return _binary_update(t, "mul_", ew.Mul, other, reads_old=True)


def div_(t: Tensor, other: Any) -> Tensor:
    """t /= other."""
    return _binary_update(t, "div_", ew.Div, other, reads_old=True)


def clamp_(t: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """t = clamp(t, min, max); the bounds may be numbers or tensors."""
    return _update(t, "clamp_", lambda old: ew.clamp_op("clamp_", old, min, max), (min, max),
                   reads_old=True)


def fill_(t: Tensor, value: Any, op: str = "fill_") -> Tensor:
    """Every element of t = value (a number, or a 0-d tensor whose gradient is the sum)."""
    check_inplace(t, op)
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"{op}: only a 0-d value tensor can fill a tensor, got a value of "
                         f"shape {value.shape}")
    if not isinstance(value, Tensor) and (
            value is None or isinstance(value, (str, bytes)) or np.ndim(value) != 0):
        raise TypeError(f"{op}: the value must be a number or a 0-d Tensor, "
                        f"got {type(value).__name__} {value!r}")
    _write(t, op, Ellipsis, _checked_value(op, value, t.shape, t.dtype))
    return t


def copy_(t: Tensor, source: Any) -> Tensor:
    """t = source, broadcast to t's shape and cast to t's dtype; source gets the gradient."""
    check_inplace(t, "copy_")
    value = _checked_value("copy_", source, t.shape, t.dtype, strip_ones=False)
    _write(t, "copy_", Ellipsis, value)
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """t[index] = value, NumPy (= torch) indexing; the value broadcasts to t[index]."""
    check_inplace(t, "__setitem__")
    parts = index_parts("__setitem__", index)
    try:
        shape = t.data[parts].shape
    except IndexError as error:
        raise IndexError(f"__setitem__: {error} (indexing a tensor of shape {t.shape})") \
            from None
    _write(t, "__setitem__", parts, _checked_value("__setitem__", value, shape, t.dtype))


def _checked_value(op: str, value: Any, shape: tuple[int, ...], dtype: np.dtype,
                   strip_ones: bool = True) -> Any:
    """`value` ready to be written into `shape` elements of `dtype`: a Tensor (cast to dtype
    inside the graph) or an array; checked for type, shape and representable values."""
    array = value.data if isinstance(value, Tensor) else _numeric_array(op, value)
    vshape, lead = array.shape, array.ndim - len(shape)
    if strip_ones and lead > 0 and all(n == 1 for n in vshape[:lead]):
        vshape = vshape[lead:]  # NumPy and torch drop leading 1s
    if len(vshape) > len(shape) or _broadcast(vshape, shape) != shape:
        raise ValueError(f"{op}: a value of shape {array.shape} cannot be broadcast to the "
                         f"{shape} elements being written")
    if dtype.kind in "biu" and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{op}: cannot write a non-finite value into a tensor of dtype "
                         f"{dtype}, got {value!r}")
    if not isinstance(value, Tensor):
        return array.reshape(vshape).astype(dtype, copy=False)
    if vshape != array.shape:
        value = reshape(value, vshape)
    return ew.cast(value, dtype)


def _numeric_array(op: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested lists
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: the value must be a Tensor, a number or a numeric array, "
                        f"got {type(value).__name__} {value!r}")
    return array


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None
