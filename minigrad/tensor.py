"""`Tensor`: one NumPy array plus what autograd needs (`requires_grad`, `grad`, `grad_fn`).

Arithmetic, reductions, shape ops and activations are methods that call the ops in
`minigrad.ops`; creation helpers (`tensor`, `zeros`, `randn`, ...) live at the bottom.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from minigrad import autograd
from minigrad.device import CPU, Device, _device_name, _no_device, _to_arguments
from minigrad.dtypes import DTypeLike, as_array, resolve_dtype
from minigrad.random import generator

if TYPE_CHECKING:
    from minigrad.ops.reduce import MinMaxResult

Scalar = int | float
TensorLike = Any



def check_grad_fits(op: str, what: str, grad: np.ndarray, owner: str, t: Tensor) -> None:
    """A gradient must have its tensor's shape (ValueError) and dtype (TypeError)."""
    if grad.shape != t.shape:
        raise ValueError(f"{op}: {what} has shape {grad.shape}, {owner} has shape {t.shape}")
    if grad.dtype != t.dtype:
        raise TypeError(f"{op}: {what} has dtype {grad.dtype}, {owner} has dtype {t.dtype}")

class Tensor:
    """An n-dimensional array that records the ops applied to it for backward.

    Args:
        data: array-like; Python floats become float32, ndarrays keep their dtype.
        dtype: optional NumPy dtype, name (`'float64'`) or `minigrad.float64`.
        requires_grad: accumulate a gradient in `.grad` when `backward()` reaches this tensor.

    `.data` is the underlying `np.ndarray`. In-place methods (`x[i] = v`, `fill_`, `zero_`,
    `copy_`, `add_`, `sub_`, `mul_`, `div_`, `clamp_`, `+=`) are recorded in the graph as
    torch records them (minigrad/ops/inplace.py).
    """

    __array_priority__ = 1000  # so `ndarray * Tensor` defers to Tensor.__rmul__

    data: np.ndarray

    # a view (from indexing, reshape, permute, expand) records the tensor it looks into and
    # how to remake it from that base: an in-place change through the view is recorded on the
    # base, and a view whose base changed remakes its grad_fn (see minigrad/ops/inplace.py)
    _base: Tensor | None = None
    _view_fn: Any = None
    _view_version = 0

    def __init__(self, data: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data = as_array(data, dtype)
        self._grad: Tensor | None = None
        self._grad_fn: autograd.Context | None = None
        self._version = autograd._VersionCounter()
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """A new tensor around `array` without copying or converting it."""
        out = cls.__new__(cls)
        out.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        out._grad = None
        out._grad_fn = None
        out._version = autograd._VersionCounter()
        out._requires_grad = False
        return out

    def _refresh_view(self) -> None:
        """A view whose base was changed in place since its grad_fn was made gets a new one,
        made from the base's current history (torch's view regeneration)."""
        if self._view_fn is not None and self._view_version != self._version.value:
            self._view_version = self._version.value
            with autograd.enable_grad():
                fresh = self._view_fn(self._base)
            self._grad_fn, self._requires_grad = fresh._grad_fn, fresh._requires_grad

    @property
    def grad_fn(self) -> autograd.Context | None:
        if self._base is not None:
            self._refresh_view()
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node: autograd.Context | None) -> None:
        self._grad_fn = node

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                shown = (f"of shape {value.shape}" if isinstance(value, np.ndarray)
                         else repr(value))
                raise TypeError(f"grad: the assigned grad must be a Tensor or None, "
                                f"got {type(value).__name__} {shown}")
            check_grad_fits("grad", "the assigned grad", value.data, "the tensor", self)
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        if self._base is not None:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad: only floating point tensors can require gradients, "
                f"got dtype {self.data.dtype}"
            )
        if not value and self.grad_fn is not None:
            raise RuntimeError("requires_grad: cannot turn it off on a non-leaf tensor; "
                               "use detach()")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` on the next backward."""
        if self.grad_fn is not None:
            self.grad_fn.retained = weakref.ref(self)

    # ---- autograd

    def backward(self, gradient: TensorLike = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        Args:
            gradient: upstream gradient, the shape of `self`; optional for scalars only.
            retain_graph: keep saved arrays so that the graph can be walked again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn; "
                               "set requires_grad=True on the inputs you want gradients for")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar "
                                   f"outputs; got shape {self.shape}, pass gradient=")
            g = np.ones_like(self.data)
        else:
            g = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient)
            if g.dtype.kind not in "biuf":
                raise TypeError(f"backward: gradient must be numeric, got dtype {g.dtype}")
            g = g.astype(self.data.dtype, copy=False)
            if g.shape != self.shape:
                raise ValueError(f"backward: gradient has shape {g.shape}, "
                                 f"the tensor has shape {self.shape}")
        grad_fn = self.grad_fn
        if grad_fn is None:
            self._accumulate_grad(g)
            return
        autograd.run_backward(grad_fn, g, retain_graph=retain_graph)

    def _accumulate_grad(self, g: np.ndarray, owned: bool = False) -> None:
        """Add g to .grad. g is copied unless `owned` says nothing else refers to it: the same
        array may be handed to several leaves or kept by the caller."""
        if self._grad is None:
            keep = owned and g.dtype == self.data.dtype
            self._grad = Tensor._wrap(g if keep else g.astype(self.data.dtype, copy=True))
        else:
            self._grad = Tensor._wrap((self._grad.data + g).astype(self.data.dtype, copy=False))

    def detach(self) -> Tensor:
        """The same array, cut from the graph."""
        out = Tensor._wrap(self.data)
        out._version = self._version
        return out

    def _bump_version(self) -> None:
        self._version.value += 1

    def _check_writeable(self, op: str) -> None:
        if not self.data.flags.writeable:
            raise RuntimeError(f"{op}: this tensor is a read-only broadcast view (from expand); "
                               "call .clone() before changing it in place")

    def _check_inplace(self, op: str) -> None:
        """Raise unless an in-place change of this tensor may be recorded (see ops/inplace)."""
        from minigrad.ops.inplace import check_inplace

        check_inplace(self, op)

    # ---- in-place ops: recorded in the graph as torch does (minigrad.ops.inplace)

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        from minigrad.ops.inplace import setitem

        setitem(self, index, value)

    def zero_(self) -> Tensor:
        from minigrad.ops.inplace import fill_

        return fill_(self, 0, op="zero_")

    def fill_(self, value: Scalar | Tensor) -> Tensor:
        from minigrad.ops.inplace import fill_

        return fill_(self, value)

    def copy_(self, source: TensorLike) -> Tensor:
        from minigrad.ops.inplace import copy_

        return copy_(self, source)

    def add_(self, other: TensorLike, alpha: Scalar = 1) -> Tensor:
        from minigrad.ops.inplace import add_

        return add_(self, other, alpha)

    def sub_(self, other: TensorLike, alpha: Scalar = 1) -> Tensor:
        from minigrad.ops.inplace import sub_

        return sub_(self, other, alpha)

    def mul_(self, other: TensorLike) -> Tensor:
        from minigrad.ops.inplace import mul_

        return mul_(self, other)

    def div_(self, other: TensorLike) -> Tensor:
        from minigrad.ops.inplace import div_

        return div_(self, other)

    def clamp_(self, min: TensorLike = None, max: TensorLike = None) -> Tensor:
        from minigrad.ops.inplace import clamp_

        return clamp_(self, min, max)

    clip_ = clamp_

    # `x += y` changes x in place, as in torch (so `p -= lr * p.grad` under no_grad updates p)
    def __iadd__(self, other: TensorLike) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self.div_(other)

    # ---- plain properties

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...

    @overload
    def size(self, dim: int) -> int: ...

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("numpy: cannot call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def item(self) -> float:
        """The one element as a Python number (an int or bool for integer or bool tensors)."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, "
                             f"got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use .any() or .all() on a comparison")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != np.float32:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __hash__(self) -> int:
        return id(self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """`to(dtype)`, `to("cpu")`, `to("cpu", dtype)`, `to(other_tensor)`, as torch; `copy=True`
        always copies. Any device but the CPU raises ValueError (minigrad runs on the CPU)."""
        dtype, copy = _to_arguments("Tensor.to", args, kwargs)
        out = self if dtype is None else self.type(dtype)
        return out.clone() if copy and out is self else out

    def type(self, dtype: DTypeLike) -> Tensor:
        from minigrad.ops.elementwise import cast

        resolved = resolve_dtype(dtype)
        if resolved is None:  # np.dtype(None) would be float64
            raise TypeError("Tensor.type: a dtype is required, got None")
        return cast(self, resolved)

    def float(self) -> Tensor:
        return self.type(np.float32)

    def double(self) -> Tensor:
        return self.type(np.float64)

    def half(self) -> Tensor:
        return self.type(np.float16)

    def long(self) -> Tensor:
        """An int64 copy, outside the graph (as torch: integers carry no gradient)."""
        return self.type(np.int64)

    def clone(self) -> Tensor:
        from minigrad.ops.elementwise import clone

        return clone(self)

    # ---- device, layout and formatting, for code written for torch

    @property
    def device(self) -> Device:
        """Always the CPU: `device(type='cpu')`, which also equals the string "cpu"."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> Tensor:
        """This tensor itself (it already is on the CPU), as torch."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        raise ValueError(_no_device("Tensor.cuda", "cuda"))

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """Self when its array is C-contiguous, else a contiguous copy in the graph."""
        return self if self.data.flags.c_contiguous else self.clone()

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self.data.flags.c_contiguous)

    def __format__(self, format_spec: str) -> str:
        """`f"{loss:.4f}"` formats a 0-d tensor's value; any other tensor takes only an empty
        format spec (as torch)."""
        if self.data.ndim == 0:
            return self.item().__format__(format_spec)
        if format_spec:
            raise TypeError(f"format: only a 0-d tensor takes a format spec ({format_spec!r}); "
                            f"this one has shape {self.shape}, format t.item() or t.tolist()")
        return str(self)

    # ---- arithmetic (minigrad.ops.elementwise)

    def __add__(self, other: TensorLike) -> Tensor:
        return _ew().add(self, other)

    def __radd__(self, other: TensorLike) -> Tensor:
        return _ew().add(other, self)

    def __sub__(self, other: TensorLike) -> Tensor:
        return _ew().sub(self, other)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return _ew().sub(other, self)

    def __mul__(self, other: TensorLike) -> Tensor:
        return _ew().mul(self, other)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return _ew().mul(other, self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        return _ew().div(self, other)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return _ew().div(other, self)

    def __pow__(self, other: TensorLike) -> Tensor:
        return _ew().pow(self, other)

    def __rpow__(self, other: TensorLike) -> Tensor:
        return _ew().pow(other, self)

    def __neg__(self) -> Tensor:
        return _ew().neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ew().abs(self)

    def __matmul__(self, other: TensorLike) -> Tensor:
        from minigrad.ops.matmul import matmul

        return matmul(self, other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        from minigrad.ops.matmul import matmul

        return matmul(other, self)

    def __eq__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return _ew().compare(np.equal, self, other)

    def __ne__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return _ew().compare(np.not_equal, self, other)

    def __lt__(self, other: TensorLike) -> Tensor:
        return _ew().compare(np.less, self, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return _ew().compare(np.less_equal, self, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return _ew().compare(np.greater, self, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return _ew().compare(np.greater_equal, self, other)

    def add(self, other: TensorLike) -> Tensor:
        return _ew().add(self, other)

    def sub(self, other: TensorLike) -> Tensor:
        return _ew().sub(self, other)

    def mul(self, other: TensorLike) -> Tensor:
        return _ew().mul(self, other)

    def div(self, other: TensorLike) -> Tensor:
        return _ew().div(self, other)

    def pow(self, exponent: TensorLike) -> Tensor:
        return _ew().pow(self, exponent)

    def neg(self) -> Tensor:
        return _ew().neg(self)

    def exp(self) -> Tensor:
        return _ew().exp(self)

    def log(self) -> Tensor:
        return _ew().log(self)

    def sqrt(self) -> Tensor:
        return _ew().sqrt(self)

    def abs(self) -> Tensor:
        return _ew().abs(self)

    def clip(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        return _ew().clip(self, min, max)

    clamp = clip

    def maximum(self, other: TensorLike) -> Tensor:
        return _ew().maximum(self, other)

    def minimum(self, other: TensorLike) -> Tensor:
        return _ew().minimum(self, other)

    def relu(self) -> Tensor:
        from minigrad.ops.activation import relu

        return relu(self)

    def sigmoid(self) -> Tensor:
        from minigrad.ops.activation import sigmoid

        return sigmoid(self)

    def tanh(self) -> Tensor:
        from minigrad.ops.activation import tanh

        return tanh(self)

    def softmax(self, dim: int) -> Tensor:
        from minigrad.ops.activation import softmax

        return softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        from minigrad.ops.activation import log_softmax

        return log_softmax(self, dim)

    # ---- reductions (minigrad.ops.reduce)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        from minigrad.ops.reduce import sum

        return sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        from minigrad.ops.reduce import mean

        return mean(self, dim, keepdim)

    def var(self, dim: int | Sequence[int] | None = None, correction: int = 1,
            keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
        from minigrad.ops.reduce import var

        if unbiased is not None:
            correction = int(unbiased)
        return var(self, dim, correction=correction, keepdim=keepdim)

    @overload
    def max(self, dim: None = None, keepdim: bool = False) -> Tensor: ...

    @overload
    def max(self, dim: int, keepdim: bool = False) -> MinMaxResult: ...

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
        from minigrad.ops.reduce import max

        return max(self, dim, keepdim)

    @overload
    def min(self, dim: None = None, keepdim: bool = False) -> Tensor: ...

    @overload
    def min(self, dim: int, keepdim: bool = False) -> MinMaxResult: ...

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
        from minigrad.ops.reduce import min

        return min(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        from minigrad.ops.reduce import argmax

        return argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        from minigrad.ops.reduce import argmin

        return argmin(self, dim, keepdim)

    # ---- shape and indexing (minigrad.ops.shape)

    def reshape(self, *shape: Any) -> Tensor:
        from minigrad.ops.shape import reshape

        return reshape(self, _shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        from minigrad.ops.shape import reshape

        return reshape(self, _shape_args(shape))

    def permute(self, *dims: Any) -> Tensor:
        from minigrad.ops.shape import permute

        return permute(self, _shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        from minigrad.ops.shape import transpose

        return transpose(self, dim0, dim1)

    @property
    def T(self) -> Tensor:
        from minigrad.ops.shape import permute

        return permute(self, tuple(reversed(range(self.ndim))))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        from minigrad.ops.shape import flatten

        return flatten(self, start_dim, end_dim)

    def squeeze(self, dim: int | None = None) -> Tensor:
        from minigrad.ops.shape import squeeze

        return squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        from minigrad.ops.shape import unsqueeze

        return unsqueeze(self, dim)

    def expand(self, *shape: Any) -> Tensor:
        from minigrad.ops.shape import expand

        return expand(self, _shape_args(shape))

    def __getitem__(self, index: Any) -> Tensor:
        from minigrad.ops.shape import getitem

        return getitem(self, index)

    # last in the class: from here on, `int` and `bool` in annotations would name these
    def int(self) -> Tensor:
        """An int32 copy, outside the graph."""
        return self.type(np.int32)

    def bool(self) -> Tensor:
        """A bool copy, outside the graph."""
        return self.type(np.bool_)


def _ew():
    from minigrad.ops import elementwise

    return elementwise


def _shape_args(args: tuple) -> tuple:
    """Accept both `x.reshape(2, 3)` and `x.reshape((2, 3))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def tensor(data: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A new tensor from array-like `data` (always a copy, as `torch.tensor`)."""
    if isinstance(data, Tensor):
        data = data.data
    array = as_array(data, dtype)
    return Tensor(array.copy() if array is data else array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (no copy, dtype kept): writing to one shows in the
    other, as `torch.from_numpy`."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert an array of dtype {array.dtype}; the "
                        "supported kinds are bool, integers and floats")
    return Tensor._wrap(array)


def _creation(array: np.ndarray, dtype: DTypeLike, requires_grad: bool) -> Tensor:
    return Tensor(array.astype(resolve_dtype(dtype) or np.float32, copy=False),
                  requires_grad=requires_grad)


def _size(op: str, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{op}: size must be a tuple of ints, got {shape!r}")
    shape = _shape_args(tuple(shape))
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in shape):
        raise TypeError(f"{op}: sizes must be ints, got {shape}")
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative ints, got {shape}")
    return tuple(int(s) for s in shape)


def zeros(*shape: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros(_size("zeros", shape)), dtype, requires_grad)


def ones(*shape: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.ones(_size("ones", shape)), dtype, requires_grad)


def full(shape: Sequence[int], fill_value: Scalar, dtype: DTypeLike = None,
         requires_grad: bool = False) -> Tensor:
    return _creation(np.full(_size("full", shape), fill_value), dtype, requires_grad)


def randn(*shape: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from minigrad's seeded generator."""
    return _creation(generator().standard_normal(_size("randn", shape)), dtype, requires_grad)


def rand(*shape: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from minigrad's seeded generator."""
    return _creation(generator().random(_size("rand", shape)), dtype, requires_grad)


def randint(low: int, high: int, size: Sequence[int], dtype: DTypeLike = None) -> Tensor:
    """Integers uniform in [low, high) from minigrad's seeded generator."""
    shape = _size("randint", size)
    if not low < high:
        raise ValueError(f"randint: low must be smaller than high, got low={low}, high={high}")
    return Tensor(generator().integers(low, high, shape).astype(resolve_dtype(dtype) or np.int64))


def arange(start: Scalar, end: Scalar | None = None, step: Scalar = 1,
           dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Like torch.arange: integer arguments give int64, any float gives float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r}")
    array = np.arange(start, end, step)
    if dtype is None and array.dtype.kind == "f":
        dtype = np.float32
    return Tensor(array if dtype is None else array.astype(resolve_dtype(dtype)),
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike = None,
        requires_grad: bool = False) -> Tensor:
    _size("eye", (n,) if m is None else (n, m))
    return _creation(np.eye(n, m), dtype, requires_grad)


def _like(x: Tensor, array: np.ndarray, dtype: DTypeLike, requires_grad: bool) -> Tensor:
    return Tensor(array.astype(resolve_dtype(dtype) or x.dtype, copy=False),
                  requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.zeros(x.shape), dtype, requires_grad)


def ones_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.ones(x.shape), dtype, requires_grad)


def full_like(x: Tensor, fill_value: Scalar, dtype: DTypeLike = None,
              requires_grad: bool = False) -> Tensor:
    return _like(x, np.full(x.shape, fill_value), dtype, requires_grad)


def randn_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(x, generator().standard_normal(x.shape), dtype, requires_grad)


def rand_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(x, generator().random(x.shape), dtype, requires_grad)


def _takes_device(create: Any) -> Any:
    """`create` taking torch's `device=` keyword too: the CPU passes, any other device raises
    ValueError (so `zeros(3, device=x.device)` runs as in torch)."""

    @functools.wraps(create)
    def with_device(*args: Any, device: Any = None, **kwargs: Any) -> Tensor:
        if device is not None and _device_name(create.__name__, device) is None:
            raise ValueError(_no_device(create.__name__, device))
        return create(*args, **kwargs)

    return with_device


tensor = _takes_device(tensor)
zeros, ones, full, eye = map(_takes_device, (zeros, ones, full, eye))
randn, rand, randint, arange = map(_takes_device, (randn, rand, randint, arange))
zeros_like, ones_like, full_like, randn_like, rand_like = map(
    _takes_device, (zeros_like, ones_like, full_like, randn_like, rand_like))
