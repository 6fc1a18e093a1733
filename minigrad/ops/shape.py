"""Shape and indexing ops: reshape, permute, expand, getitem, cat, stack, pad.

`flatten`, `squeeze`, `unsqueeze` are reshapes and `transpose` is a permute. Ops whose output
is a NumPy view of the input share the input's version counter, so an in-place change made
through the view is still caught by backward, and remember how to remake the view from its
base, so that an in-place change through the view is recorded on the base (ops/inplace.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from minigrad.autograd import Context, Function, is_grad_enabled
from minigrad.checks import check_tensor as _check_tensor
from minigrad.ops.elementwise import cast, result_type, unbroadcast
from minigrad.tensor import Tensor

Shape = Sequence[int]


def _normalize_dim(op: str, dim: Any, ndim: int) -> int:
    """`dim` in [-ndim, ndim) as a non-negative axis."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                         f"(expected {-ndim} to {ndim - 1})")
    return int(dim) % ndim


def _share_version(out: Tensor, x: Tensor, replay: Callable[[Tensor], Tensor]) -> Tensor:
    """Make `out` a view of `x` when it shares `x`'s memory, as torch's views: it shares the
    version counter, and keeps the root base with `replay` (the view op) composed onto the
    view function of `x`, so that it can be remade from the base. A view made under no_grad
    keeps no view function: it is never remade, and recording an in-place change through it
    raises (as torch)."""
    if not np.may_share_memory(out.data, x.data):
        return out
    out._version = x._version
    out._view_version = x._version.value
    if x._base is None:
        out._base, out._view_fn = x, replay
    else:
        parent_fn = x._view_fn
        out._base = x._base
        out._view_fn = None if parent_fn is None else lambda base: replay(parent_fn(base))
    if not is_grad_enabled():
        out._view_fn = None
    return out


def _int_tuple(op: str, values: Any, what: str) -> tuple[int, ...]:
    values = (values,) if isinstance(values, (int, np.integer)) else values
    if not isinstance(values, (tuple, list)) or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise TypeError(f"{op}: {what} must be a sequence of ints, got {values!r}")
    return tuple(int(v) for v in values)


class Reshape(Function):
    """y = x with a new shape, same elements in C order.  Backward: dx = g reshaped back."""

    @staticmethod
    def forward(ctx: Context, x, shape=()):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Context, g):
        return (g.reshape(ctx.in_shape),)


def _resolve_shape(shape: tuple[int, ...], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    size = int(np.prod(in_shape))
    known = int(np.prod([s for s in shape if s != -1]))
    bad = shape.count(-1) > 1 or any(s < -1 for s in shape)
    if -1 in shape and not bad and known and size % known == 0:
        shape = tuple(size // known if s == -1 else s for s in shape)
    if bad or -1 in shape or int(np.prod(shape)) != size:
        raise ValueError(f"reshape: shape {shape} is invalid for an input of shape {in_shape} "
                         f"({size} elements)")
    return shape


def reshape(x: Tensor, shape: Shape | int) -> Tensor:
    """The same elements in `shape`; one entry may be -1 (inferred)."""
    shape = _resolve_shape(_int_tuple("reshape", shape, "shape"), _check_tensor("reshape", x).shape)
    return _share_version(Reshape.apply(x, shape=shape), x,
                          lambda base: Reshape.apply(base, shape=shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims `start_dim..end_dim` (inclusive) into one; a 0-d tensor becomes shape (1,)."""
    if _check_tensor("flatten", x).ndim == 0:
        return reshape(x, (1,))
    start = _normalize_dim("flatten", start_dim, x.ndim)
    end = _normalize_dim("flatten", end_dim, x.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for shape {x.shape}")
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x: Tensor, dim: int | Shape | None = None) -> Tensor:
    """Drop dims of size 1 (all of them, or those in `dim` that have size 1)."""
    shape = _check_tensor("squeeze", x).shape
    axes: Sequence[int]
    if dim is None:
        axes = range(x.ndim)
    else:
        ndim = max(x.ndim, 1)
        axes = [_normalize_dim("squeeze", d, ndim) for d in _int_tuple("squeeze", dim, "dim")]
    drop = {a for a in axes if a < x.ndim and shape[a] == 1}
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in drop))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at `dim` (in [-ndim - 1, ndim])."""
    axis = _normalize_dim("unsqueeze", dim, _check_tensor("unsqueeze", x).ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


class Permute(Function):
    """y = x with its dims reordered: y.shape[i] = x.shape[dims[i]].

    Backward: dx = g permuted by the inverse permutation argsort(dims).
    """

    @staticmethod
    def forward(ctx: Context, x, dims=()):
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx: Context, g):
        return (np.transpose(g, np.argsort(ctx.dims)),)


def permute(x: Tensor, dims: Shape) -> Tensor:
    """Reorder the dims of `x`; `dims` is a permutation of range(ndim), negatives allowed."""
    dims = _int_tuple("permute", dims, "dims")
    ndim = _check_tensor("permute", x).ndim
    if len(dims) != ndim:
        raise ValueError(f"permute: dims {dims} has {len(dims)} entries, x has shape {x.shape}")
    axes = tuple(_normalize_dim("permute", d, max(ndim, 1)) for d in dims)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} is not a permutation of the dims of {x.shape}")
    return _share_version(Permute.apply(x, dims=axes), x,
                          lambda base: Permute.apply(base, dims=axes))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    ndim = max(_check_tensor("transpose", x).ndim, 1)
    a, b = (_normalize_dim("transpose", d, ndim) for d in (dim0, dim1))
    dims = list(range(x.ndim))
    if x.ndim:
        dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


class Expand(Function):
    """y = x broadcast to `shape` (a read-only view, no copy).

    Backward: dx = g summed over the broadcast axes (`unbroadcast`).
    """

    @staticmethod
    def forward(ctx: Context, x, shape=()):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Context, g):
        return (unbroadcast(g, ctx.in_shape),)


def expand(x: Tensor, shape: Shape) -> Tensor:
    """Broadcast `x` to `shape`; -1 keeps a size, extra sizes are new leading dims."""
    shape = _int_tuple("expand", shape, "shape")
    in_shape = _check_tensor("expand", x).shape
    lead = len(shape) - len(in_shape)
    kept = tuple(n if s == -1 else s for s, n in zip(shape[lead:], in_shape))
    if lead < 0 or any(s < 0 for s in shape[:lead]) or any(
            s != n and (n != 1 or s < 0) for s, n in zip(kept, in_shape)):
        raise ValueError(f"expand: cannot expand shape {in_shape} to {shape}")
    shape = shape[:lead] + kept
    return _share_version(Expand.apply(x, shape=shape), x,
                          lambda base: Expand.apply(base, shape=shape))


class GetItem(Function):
    """y = x[index], NumPy indexing (ints, slices, None, Ellipsis, integer and boolean arrays).

    Backward: dx = zeros like x with g written at `index`; when integer arrays may repeat an
    element, g is accumulated with `np.add.at` so that repeats add up.
    """

    @staticmethod
    def forward(ctx: Context, x, index=(), accumulate=False):
        ctx.in_shape, ctx.index, ctx.accumulate = x.shape, index, accumulate
        return x[index]

    @staticmethod
    def backward(ctx: Context, g):
        dx = np.zeros(ctx.in_shape, dtype=g.dtype)
        if ctx.accumulate:
            # where each element of y came from in x, flat: 1-D `np.add.at` is several times
            # faster than scattering with the original (multi-dim) index
            source = np.arange(dx.size).reshape(ctx.in_shape)[ctx.index]
            np.add.at(dx.reshape(-1), source.reshape(-1), g.reshape(-1))
        else:
            dx[ctx.index] = g
        return (dx,)


def _index_part(op: str, part: Any) -> Any:
    """One index entry as NumPy takes it: Tensors and lists become arrays of int or bool."""
    if isinstance(part, Tensor):
        part = part.data
    if isinstance(part, list):
        try:
            part = np.asarray(part)
        except ValueError:  # ragged
            raise TypeError(f"{op}: the index {part!r} is not a valid index") from None
    basic = part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))
    if not basic and not (isinstance(part, np.ndarray) and part.dtype.kind in "biu"):
        kind = (f"an array of dtype {part.dtype}" if isinstance(part, np.ndarray)
                else f"{type(part).__name__} {part!r}")
        raise TypeError(f"{op}: indices must be ints, slices, None, Ellipsis or integer or "
                        f"boolean arrays/tensors, got {kind}")
    return part


def index_parts(op: str, index: Any) -> tuple:
    """A user's index as a tuple of entries NumPy takes, each checked (TypeError naming `op`)."""
    return tuple(_index_part(op, p) for p in (index if isinstance(index, tuple) else (index,)))


def getitem(x: Tensor, index: Any) -> Tensor:
    """`x[index]` with NumPy (= torch) semantics, differentiable."""
    parts = index_parts("getitem", index)
    accumulate = any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" and p.size > 1
                     for p in parts)
    try:
        out = GetItem.apply(_check_tensor("getitem", x), index=parts, accumulate=accumulate)
    except IndexError as error:
        raise IndexError(f"getitem: {error} (indexing a tensor of shape {x.shape})") from None
    return _share_version(out, x,
                          lambda base: GetItem.apply(base, index=parts, accumulate=accumulate))


class Cat(Function):
    """y = the inputs joined along `axis`.  Backward: g split back into the inputs' sizes."""

    @staticmethod
    def forward(ctx: Context, *xs, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        ctx.dtypes = [x.dtype for x in xs]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx: Context, g):
        parts = np.split(g, ctx.bounds, axis=ctx.axis)
        return tuple(part.astype(dtype, copy=False) if need else None
                     for part, dtype, need in zip(parts, ctx.dtypes, ctx.needs_input_grad))


def _check_sequence(op: str, tensors: Any) -> list[Tensor]:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of Tensors, got {tensors!r}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: element {i} is a {type(t).__name__}, not a Tensor")
    return list(tensors)


def _promoted(tensors: list[Tensor]) -> list[Tensor]:
    """The tensors cast to their common dtype under torch's promotion (`cat(float32, int64)`
    is float32); a cast inside the graph, so gradients come back in each input's dtype."""
    dtype = result_type(*tensors)
    return [cast(t, dtype) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim; all other sizes must match."""
    tensors = _check_sequence("cat", tensors)
    first = tensors[0].shape
    if not first:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
    axis = _normalize_dim("cat", dim, len(first))
    for i, t in enumerate(tensors):
        if t.ndim != len(first) or any(
                a != b for d, (a, b) in enumerate(zip(t.shape, first)) if d != axis):
            raise ValueError(f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{first}; sizes must match except in dim {dim}")
    return Cat.apply(*_promoted(tensors), axis=axis)


class Stack(Function):
    """y = the inputs stacked along a new `axis`.  Backward: dx_i = g[..., i, ...] along it."""

    @staticmethod
    def forward(ctx: Context, *xs, axis=0):
        ctx.axis = axis
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx: Context, g):
        parts = np.moveaxis(g, ctx.axis, 0)  # (..., K, ...) -> (K, ...): part i is input i
        return tuple(parts[i] if need else None for i, need in enumerate(ctx.needs_input_grad))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim."""
    tensors = _check_sequence("stack", tensors)
    first = tensors[0].shape
    axis = _normalize_dim("stack", dim, len(first) + 1)
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{first}; all shapes must be equal")
    return Stack.apply(*_promoted(tensors), axis=axis)


_NumpyPadMode = Literal["constant", "reflect", "edge", "wrap"]
_NUMPY_PAD_MODES: dict[str, _NumpyPadMode] = {
    "constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Pad(Function):
    """y = x padded at both ends of each dim, by `widths[d] = (before, after)`.

    constant: new elements are `value`; negative widths crop. Backward: dx = the part of g
    that came from x, 0 where x was cropped.
    reflect / replicate / circular: new elements copy elements of x, located by padding the
    index range 0..n-1 of each dim the same way. Backward, dim by dim: start from the centre
    of g and add each padded slice's gradient to the slice of x it copied.
    See docs/derivations.md#pad.
    """

    @staticmethod
    def forward(ctx: Context, x, widths=(), mode="constant", value=0.0):
        ctx.in_shape, ctx.widths, ctx.mode = x.shape, widths, mode
        if mode != "constant":
            return np.pad(x, widths, mode=_NUMPY_PAD_MODES[mode])
        grow = [(max(b, 0), max(a, 0)) for b, a in widths]
        return np.pad(x[_crop(x.shape, widths)], grow, constant_values=value)

    @staticmethod
    def backward(ctx: Context, g):
        if ctx.mode != "constant":
            return (_fold_padding(g, ctx.widths, _NUMPY_PAD_MODES[ctx.mode]),)
        kept = [slice(max(b, 0), n - max(a, 0)) for (b, a), n in zip(ctx.widths, g.shape)]
        if all(b >= 0 and a >= 0 for b, a in ctx.widths):
            return (g[tuple(kept)],)
        dx = np.zeros(ctx.in_shape, dtype=g.dtype)
        dx[_crop(ctx.in_shape, ctx.widths)] = g[tuple(kept)]
        return (dx,)


def _crop(shape: tuple[int, ...], widths: Sequence[tuple[int, int]]) -> tuple[slice, ...]:
    """The part of x that negative widths keep."""
    return tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, shape))


def _fold_padding(g: np.ndarray, widths: Sequence[tuple[int, int]], mode: _NumpyPadMode
                  ) -> np.ndarray:
    for axis, (before, after) in enumerate(widths):
        if before == 0 and after == 0:
            continue
        n = g.shape[axis] - before - after
        source = np.pad(np.arange(n), (before, after), mode=mode)
        lead = (slice(None),) * axis
        dx = g[lead + (slice(before, before + n),)].copy()
        for j in [*range(before), *range(before + n, before + n + after)]:
            dx[lead + (source[j],)] += g[lead + (j,)]
        g = dx
    return g


def _pad_widths(x: Tensor, pad: Any, mode: str) -> tuple[tuple[int, int], ...]:
    """torch's flat (last-dim first) `pad` as NumPy's per-dim (before, after) pairs, checked."""
    pad = _int_tuple("pad", pad, "pad")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most "
                         f"2 * ndim = {2 * x.ndim} for x of shape {x.shape}")
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[i], pad[i + 1]) for i in reversed(range(0, len(pad), 2))]
    for (b, a), n in zip(pairs, x.shape):
        _check_pair(b, a, n, mode, x.shape, pad)
    return tuple(pairs)


def _check_pair(b: int, a: int, n: int, mode: str, shape: tuple, pad: tuple) -> None:
    if mode == "constant":
        if n + min(b, 0) + min(a, 0) < 0:
            raise ValueError(f"pad: padding {pad} crops more than the size {n} of a dim of "
                             f"x of shape {shape}")
        return
    # reflect mirrors without repeating the edge, so it needs one more element than it copies
    limit = {"reflect": n - 1, "circular": n, "replicate": max(b, a) if n else 0}[mode]
    if min(b, a) < 0 or max(b, a) > limit:
        raise ValueError(f"pad: {mode} padding {pad} needs widths from 0 to {limit} for a dim "
                         f"of size {n} (x of shape {shape})")


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad (or crop, with negative widths in constant mode) as torch.nn.functional.pad.

    Args:
        x: any tensor.
        pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on.
        mode: 'constant', 'reflect', 'replicate' or 'circular'.
        value: the fill value of constant padding.
    """
    if mode not in _NUMPY_PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not one of {sorted(_NUMPY_PAD_MODES)}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"pad: value must be a number, got {value!r}")
    if mode != "constant" and value:
        raise ValueError(f"pad: mode {mode!r} does not take a fill value (got {value})")
    widths = _pad_widths(_check_tensor("pad", x), pad, mode)
    return Pad.apply(x, widths=widths, mode=mode, value=value)
