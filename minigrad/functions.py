"""Function forms of Tensor methods, as torch has them at top level: `minigrad.sum(x, 1)` is
`x.sum(1)`, `minigrad.softmax(x, dim=1)` is `x.softmax(1)`. Each checks that its first
argument is a Tensor and calls the method, so there is one implementation of every op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

from minigrad.ops import shape as _shape
from minigrad.tensor import Tensor

if TYPE_CHECKING:
    from minigrad.ops.reduce import MinMaxResult


def _tensor(op: str, input: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, got {type(input).__name__}")
    return input


def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return _tensor("sum", input).sum(dim, keepdim)


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return _tensor("mean", input).mean(dim, keepdim)


def var(input: Tensor, dim: int | Sequence[int] | None = None, *, correction: int = 1,
        keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
    return _tensor("var", input).var(dim, correction=correction, keepdim=keepdim,
                                     unbiased=unbiased)


@overload
def max(input: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...


@overload
def max(input: Tensor, dim: Tensor) -> Tensor: ...


@overload
def max(input: Tensor, dim: int, keepdim: bool = False) -> MinMaxResult: ...


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MinMaxResult:
    """`max(x)` the largest value, `max(x, dim)` (values, indices), `max(x, other)` the
    elementwise maximum: torch's three forms."""
    if isinstance(dim, Tensor):
        return _tensor("max", input).maximum(dim)
    return _tensor("max", input).max(dim, keepdim)


@overload
def min(input: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...


@overload
def min(input: Tensor, dim: Tensor) -> Tensor: ...


@overload
def min(input: Tensor, dim: int, keepdim: bool = False) -> MinMaxResult: ...


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MinMaxResult:
    """`min(x)`, `min(x, dim)` (values, indices) or `min(x, other)`, as `max`."""
    if isinstance(dim, Tensor):
        return _tensor("min", input).minimum(dim)
    return _tensor("min", input).min(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _tensor("argmax", input).argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _tensor("argmin", input).argmin(dim, keepdim)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = _tensor("softmax", input)
    return (x if dtype is None else x.to(dtype)).softmax(dim)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = _tensor("log_softmax", input)
    return (x if dtype is None else x.to(dtype)).log_softmax(dim)


def add(input: Any, other: Any, alpha: float = 1) -> Tensor:
    return input + (other if alpha == 1 else other * alpha)


def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:
    return input - (other if alpha == 1 else other * alpha)


def mul(input: Any, other: Any) -> Tensor:
    return input * other


def div(input: Any, other: Any) -> Tensor:
    return input / other


def pow(input: Any, exponent: Any) -> Tensor:
    return input ** exponent


def neg(input: Tensor) -> Tensor:
    return -_tensor("neg", input)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    return _tensor("reshape", input).reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _tensor("flatten", input).flatten(start_dim, end_dim)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _tensor("permute", input).permute(dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _tensor("transpose", input).transpose(dim0, dim1)


def squeeze(input: Tensor, dim: int | None = None) -> Tensor:
    return _tensor("squeeze", input).squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return _tensor("unsqueeze", input).unsqueeze(dim)


def numel(input: Tensor) -> int:
    return _tensor("numel", input).numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The same as `cat` (torch's alias)."""
    return _shape.cat(tensors, dim)


concatenate = concat


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout: `F.dropout(input, p, training=train)`."""
    from minigrad.ops.dropout import dropout as _dropout

    return _dropout(_tensor("dropout", input), p, train)
