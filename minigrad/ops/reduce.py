"""Reductions over one or more dims: sum, mean, var, max/min (with their indices), argmax/argmin.

Symbols: `g` is the incoming gradient, the shape of the output; `axes` the reduced dims. Every
backward first puts `g` back into keepdim form, so that it broadcasts against the input.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple, overload

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.checks import check_tensor as _check_tensor
from minigrad.tensor import Tensor

Dims = int | Sequence[int] | None


class MinMaxResult(NamedTuple):
    """What `max(x, dim)` and `min(x, dim)` return, as torch's `return_types.max`."""

    values: Tensor
    indices: Tensor


def _normalize_dim(op: str, dim: Any, ndim: int) -> int:
    """`dim` as a non-negative axis; a 0-d tensor accepts 0 and -1, as in torch."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    size = builtins.max(ndim, 1)
    if not -size <= dim < size:
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                         f"(expected {-size} to {size - 1})")
    return int(dim) % size


def _axes(op: str, dim: Dims, ndim: int) -> tuple[int, ...]:
    """The reduced axes; `None` or `()` mean all of them (as torch.sum)."""
    dims = () if dim is None else (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    axes = tuple(_normalize_dim(op, d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dim twice")
    if not axes or ndim == 0:
        return tuple(range(ndim))
    return axes


def _check_keepdim(op: str, keepdim: Any) -> bool:
    if not isinstance(keepdim, (bool, np.bool_)):
        raise TypeError(f"{op}: keepdim must be a bool, got {keepdim!r}")
    return bool(keepdim)


def _keepdim_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = Σ_axes x.  Backward: dx = g broadcast back over the reduced axes."""

    @staticmethod
    def forward(ctx: Context, x, axes=(), keepdim=False):
        ctx.in_shape, ctx.axes = x.shape, axes
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, g):
        g = g.reshape(_keepdim_shape(ctx.in_shape, ctx.axes))
        return (np.broadcast_to(g, ctx.in_shape),)


class Mean(Function):
    """y = Σ_axes x / n, n = elements per output.  Backward: dx = g / n broadcast back."""

    @staticmethod
    def forward(ctx: Context, x, axes=(), keepdim=False):
        ctx.in_shape, ctx.axes = x.shape, axes
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, g):
        n = int(np.prod([ctx.in_shape[a] for a in ctx.axes]))
        g = g.reshape(_keepdim_shape(ctx.in_shape, ctx.axes)) / n
        return (np.broadcast_to(g, ctx.in_shape),)


class Var(Function):
    """y = Σ_axes (x - x̄)² / (n - correction).

    Backward: dx = g · 2(x - x̄) / (n - correction); the x̄ term drops out because Σ(x - x̄) = 0.
    n ≤ correction gives inf/NaN, as torch. Saved: x - x̄. See docs/derivations.md#variance.
    """

    @staticmethod
    def forward(ctx: Context, x, axes=(), correction=1, keepdim=False):
        n = int(np.prod([x.shape[a] for a in axes]))
        ctx.in_shape, ctx.axes = x.shape, axes
        ctx.dof = builtins.max(n - correction, 0)
        centered = x - np.mean(x, axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(centered * centered, axis=axes, keepdims=keepdim) / ctx.dof

    @staticmethod
    def backward(ctx: Context, g):
        (centered,) = ctx.saved_tensors
        g = g.reshape(_keepdim_shape(ctx.in_shape, ctx.axes))
        # a Python float keeps float32 inputs float32; dof = 0 gives inf/NaN, as torch
        scale = 2 / ctx.dof if ctx.dof else float("inf")
        with np.errstate(invalid="ignore"):
            return (g * scale * centered,)


class Extreme(Function):
    """y = max x (or min x) over all elements.

    Backward: g is split evenly among the elements equal to y (torch's rule for the full
    reduction), so dx = g · [x = y] / count. When x holds NaN, y is NaN and g is split among
    the NaNs (as torch). Saved: x, y.
    """

    @staticmethod
    def forward(ctx: Context, x, largest=True):
        y = np.max(x) if largest else np.min(x)
        y = np.asarray(y)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        x, y = ctx.saved_tensors
        hits = np.isnan(x) if np.isnan(y) else x == y
        return (hits * (g / np.count_nonzero(hits)),)


class ExtremeAlongDim(Function):
    """y = x at `indices` (the first max or min along `axis`, found by the wrapper; the
    first NaN when there is one, as torch).

    Backward: g goes to the returned index only (as torch with `dim`):
    dx[..., i, ...] = g where i = indices, 0 elsewhere. Saved: indices (small ints, in ctx).
    """

    @staticmethod
    def forward(ctx: Context, x, indices=None, axis=0, keepdim=False):
        ctx.in_shape, ctx.axis, ctx.indices = x.shape, axis, indices
        values = np.take_along_axis(x, indices, axis)
        return values if keepdim else np.squeeze(values, axis)

    @staticmethod
    def backward(ctx: Context, g):
        dx = np.zeros(ctx.in_shape, dtype=g.dtype)
        keep = _keepdim_shape(ctx.in_shape, (ctx.axis,))
        np.put_along_axis(dx, ctx.indices, g.reshape(keep), ctx.axis)
        return (dx,)


def sum(x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Sum over `dim` (an int, a tuple of ints, or None for every dim)."""
    axes = _axes("sum", dim, _check_tensor("sum", x).ndim)
    return Sum.apply(x, axes=axes, keepdim=_check_keepdim("sum", keepdim))


def mean(x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Mean over `dim` (an int, a tuple of ints, or None for every dim)."""
    axes = _axes("mean", dim, _check_tensor("mean", x).ndim)
    if x.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating point tensor, got dtype {x.dtype}")
    return Mean.apply(x, axes=axes, keepdim=_check_keepdim("mean", keepdim))


def var(x: Tensor, dim: Dims = None, correction: int = 1, keepdim: bool = False) -> Tensor:
    """Variance over `dim`, divided by n - correction (unbiased by default, as torch)."""
    axes = _axes("var", dim, _check_tensor("var", x).ndim)
    if x.dtype.kind != "f":
        raise TypeError(f"var: needs a floating point tensor, got dtype {x.dtype}")
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
        raise TypeError(f"var: correction must be a number, got {correction!r}")
    return Var.apply(x, axes=axes, correction=correction, keepdim=_check_keepdim("var", keepdim))


def _extreme(op: str, x: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Any:
    if _check_tensor(op, x).numel() == 0:
        raise ValueError(f"{op}: cannot reduce a tensor with no elements (shape {x.shape})")
    if dim is None:
        return Extreme.apply(x, largest=largest)
    axis = _normalize_dim(op, dim, x.ndim)
    if x.ndim == 0:
        from minigrad.ops.shape import reshape

        return _extreme(op, reshape(x, (1,)), 0, False, largest)
    indices = _arg(x.data, axis, True, largest)
    values = ExtremeAlongDim.apply(x, indices=indices, axis=axis, keepdim=keepdim)
    indices = indices if keepdim else np.squeeze(indices, axis)
    return MinMaxResult(values, Tensor._wrap(indices.astype(np.int64, copy=False)))


@overload
def max(x: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...


@overload
def max(x: Tensor, dim: int, keepdim: bool = False) -> MinMaxResult: ...


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
    """The largest element; with `dim`, a `(values, indices)` named tuple along that dim."""
    return _extreme("max", x, dim, keepdim, largest=True)


@overload
def min(x: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...


@overload
def min(x: Tensor, dim: int, keepdim: bool = False) -> MinMaxResult: ...


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
    """The smallest element; with `dim`, a `(values, indices)` named tuple along that dim."""
    return _extreme("min", x, dim, keepdim, largest=False)


def _arg(data: np.ndarray, axis: int | None, keepdim: bool, largest: bool) -> np.ndarray:
    found = np.argmax(data, axis) if largest else np.argmin(data, axis)
    if not keepdim:
        return np.asarray(found)
    if axis is None:
        return np.asarray(found).reshape((1,) * data.ndim)
    return np.expand_dims(found, axis)


def _arg_public(op: str, x: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Tensor:
    if _check_tensor(op, x).numel() == 0:
        raise ValueError(f"{op}: cannot reduce a tensor with no elements (shape {x.shape})")
    axis = None if dim is None else _normalize_dim(op, dim, x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(np.asarray(0, dtype=np.int64))
    return Tensor._wrap(_arg(x.data, axis, keepdim, largest).astype(np.int64, copy=False))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (into the flattened tensor when `dim` is None)."""
    return _arg_public("argmax", x, dim, keepdim, largest=True)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (into the flattened tensor when `dim` is None)."""
    return _arg_public("argmin", x, dim, keepdim, largest=False)
