"""The autograd engine: `Function`, `Context`, grad mode and the backward walk.

A `Function` subclass defines `forward(ctx, *arrays, **attrs)` and `backward(ctx, g)` on raw
NumPy arrays. `Function.apply(*inputs, **attrs)` runs `forward` and, when grad mode is on and
some input requires grad, records the `Context` as the output's `grad_fn`. The context is the
graph node: it knows its function, its parent nodes and what was saved for backward.

`run_backward` walks the recorded nodes in reverse topological order (iteratively, so a chain
of any length works), calls each `backward` exactly once with the sum of its incoming
gradients, accumulates into leaf `.grad` and frees the saved arrays unless asked to retain them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when operations are being recorded for backward."""
    return getattr(_state, "grad_enabled", True)


def _is_anomaly_enabled() -> bool:
    return getattr(_state, "anomaly", False)


_Mode = TypeVar("_Mode", bound="_GradMode")
_F = TypeVar("_F", bound=Callable[..., Any])


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode and restores it on exit; also a
    decorator without parentheses (`@minigrad.no_grad`), as torch."""

    enabled: bool

    @overload
    def __new__(cls: type[_Mode], func: None = None) -> _Mode: ...

    @overload  # used bare, the decorated function comes back (mypy wants an instance here)
    def __new__(cls, func: _F) -> _F: ...  # type: ignore[misc]

    def __new__(cls, func: Callable | None = None) -> Any:
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # used bare: decorate `func` with a fresh instance

    def _recreate_cm(self) -> _GradMode:
        return type(self)()  # one instance per decorated call, so that recursion restores

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._previous


class no_grad(_GradMode):
    """Disable recording: `with minigrad.no_grad(): ...` or `@minigrad.no_grad()`."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable recording inside a `no_grad` block."""

    enabled = True


class detect_anomaly(contextlib.ContextDecorator):
    """Raise `FloatingPointError` at the first op whose forward or backward yields NaN or Inf.

    The message names the op's `Function` class and the file and line of user code that
    created it. Costs one `np.isfinite` pass per op output; use it for debugging only.
    """

    def __enter__(self) -> None:
        self._previous = _is_anomaly_enabled()
        _state.anomaly = True

    def __exit__(self, *exc: object) -> None:
        _state.anomaly = self._previous


# frames in these files are never the user's: the package itself, and the wrappers that
# decorators such as `no_grad()` put between a caller and minigrad
_NOT_USER = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
             os.path.abspath(contextlib.__file__), os.path.abspath(functools.__file__))


def _user_frame() -> str:
    """'file:line' of the innermost stack frame outside the minigrad package."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_NOT_USER):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _check_finite(array: np.ndarray, ctx: Context, where: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        created = (f"the op was created at {ctx.created_at}" if ctx.created_at else
                   "run the forward pass inside detect_anomaly() too to see where the op "
                   "was created")
        raise FloatingPointError(
            f"detect_anomaly: {ctx.function.__name__} produced NaN or Inf in its {where}; "
            f"{created}"
        )


class _VersionCounter:
    """How many times a tensor's array was changed in place (shared with its views)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Context:
    """The graph node of one `Function` call, handed to its `forward` and `backward`.

    Arrays needed by backward go through `save_for_backward` so they can be freed after use;
    small attributes (shapes, strides, flags) can be set on the context directly.
    """

    __slots__ = (
        "function", "parents", "needs_input_grad", "_saved", "_saved_versions",
        "_freed", "created_at", "input_shapes", "retained", "__dict__",
    )
    # set by `Function.apply` on a recorded node: the op's keyword attributes, and its
    # positional inputs that need no gradient (None for those that do)
    attrs: dict[str, Any]
    constants: tuple[Any, ...]

    def __init__(self, function: type[Function], needs_input_grad: tuple[bool, ...]) -> None:
        self.function = function
        self.needs_input_grad = needs_input_grad
        self.parents: tuple[Any, ...] = ()
        self._saved: tuple[Any, ...] = ()
        self._saved_versions: list[tuple[_VersionCounter, int]] = []
        self._freed = False
        self.created_at = ""
        self.input_shapes: tuple[tuple[int, ...] | None, ...] = ()
        self.retained: Any = None

    if TYPE_CHECKING:
        # ops keep small attributes (shapes, strides, flags) on the context: to the type
        # checker, any other attribute may be set and read back as Any
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        if self._freed:
            raise RuntimeError(
                f"{self.function.__name__}: trying to backward through the graph a second time "
                "(its saved arrays were freed); call backward(retain_graph=True) the first time"
            )
        for counter, version in self._saved_versions:
            if counter.value != version:
                raise RuntimeError(
                    f"{self.function.__name__}: an array saved for backward was modified in place "
                    f"after it was saved (version {version} -> {counter.value}); "
                    "compute the in-place change on a copy, or after backward"
                )
        return self._saved

    def free(self) -> None:
        """Drop the saved arrays; a later backward through this node raises."""
        if self._saved:
            self._saved = ()
            self._freed = True

    def __repr__(self) -> str:
        return f"<{self.function.__name__}Backward>"

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """torch's view of the graph: one (node, 0) pair per input of this op, the node being
        the input's `grad_fn`, an `AccumulateGrad` for a leaf that requires grad, or None."""
        return tuple((AccumulateGrad.of(p) if p is not None and not isinstance(p, Context)
                      else p, 0) for p in self.parents)


class AccumulateGrad:
    """The node of a leaf tensor in `next_functions`: backward adds into `variable.grad`.
    The same leaf gives the same node while someone holds it, as torch."""

    next_functions: tuple = ()
    _live: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @classmethod
    def of(cls, variable: Tensor) -> AccumulateGrad:
        # keyed by id: the node holds the tensor, so the id is not reused while it lives
        node = cls._live.get(id(variable))
        if node is None:
            node = cls._live[id(variable)] = cls(variable)
        return node

    def name(self) -> str:
        return "AccumulateGrad"


class Function:
    """Base class of every differentiable op.

    Subclasses implement two static methods on NumPy arrays:

    - `forward(ctx, *arrays, **attrs) -> ndarray`: `None` inputs stay `None`;
    - `backward(ctx, g) -> tuple`: one gradient (or `None`) per positional input, each the
      shape of its input. Use `ctx.needs_input_grad[i]` to skip gradients nobody needs.
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        from minigrad.tensor import Tensor

        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        record = is_grad_enabled() and any(needs)
        ctx = Context(cls, needs)
        out = cls.forward(ctx, *arrays, **attrs)
        result = Tensor._wrap(out)
        if _is_anomaly_enabled():
            ctx.created_at = _user_frame()
            _check_finite(out, ctx, "forward output")
        if not record:
            return result
        ctx.parents = tuple(_edge(x) if need else None for x, need in zip(inputs, needs))
        ctx.input_shapes = tuple(x.shape if isinstance(x, Tensor) else None for x in inputs)
        ctx.attrs, ctx.constants = attrs, tuple(None if n else x for x, n in zip(inputs, needs))
        ctx._saved_versions = _versions_of_saved(ctx._saved, inputs, result)
        result.requires_grad = True
        result.grad_fn = ctx
        return result


def _edge(x: Tensor) -> Any:
    """Where a gradient for `x` goes: its producing node, or the leaf tensor itself."""
    return x.grad_fn if x.grad_fn is not None else x


def _versions_of_saved(saved: tuple[Any, ...], inputs: tuple[Any, ...], out: Tensor) -> list:
    """Version counters of the input/output tensors whose arrays were saved for backward,
    or whose memory a saved array may look into (a saved view or reshape of an input)."""
    from minigrad.tensor import Tensor

    if not saved:
        return []
    owners = [x for x in inputs if isinstance(x, Tensor)] + [out]
    versions = []
    for array in saved:
        if not isinstance(array, np.ndarray):
            continue
        for owner in owners:
            if array is owner.data or np.may_share_memory(array, owner.data):
                versions.append((owner._version, owner._version.value))
    return versions


def _topological_order(root: Context) -> list[Any]:
    """Nodes reachable from `root`, each after every node that feeds it a gradient."""
    order: list[Any] = []
    visited = {id(root)}
    stack: list[tuple[Any, Iterator[Any]]] = [(root, iter(root.parents))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child is not None and id(child) not in visited:
                visited.add(id(child))
                if isinstance(child, Context):
                    stack.append((child, iter(child.parents)))
                else:
                    order.append(child)
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def run_backward(root: Context, gradient: np.ndarray, retain_graph: bool = False) -> None:
    """Backpropagate `gradient` from the node `root` (the `grad_fn` of the tensor that
    `backward` was called on) through its graph into the leaves' `.grad`."""
    grads: dict[int, np.ndarray] = {id(root): gradient}
    anomaly = _is_anomaly_enabled()
    for node in _topological_order(root):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if not isinstance(node, Context):
            # a leaf may keep g itself as its .grad when g owns its (writeable) memory and
            # nothing but this loop refers to it, as torch's AccumulateGrad steals such
            # buffers: a copy of a large input's gradient costs as much as a light op.
            # Anything else holding g (the caller's seed, another leaf, a view of g, a saved
            # tensor) raises its reference count. (Counted before the call below, which
            # holds g too.)
            owned = (g.flags.owndata and g.flags.writeable
                     and _refcount(g) <= _REFCOUNT_OF_A_LOCAL)
            node._accumulate_grad(g, owned=owned)
            continue
        if node.retained is not None and node.retained() is not None:
            node.retained()._accumulate_grad(g)
        input_grads = node.function.backward(node, g)
        if not retain_graph:
            node.free()
        _send_grads(node, input_grads, grads, anomaly)
        del input_grads  # so that a leaf's gradient is held by `grads` alone


def _refcount(a: object) -> int:
    # without reference counts (PyPy), as if something else held `a`: it is then copied
    return sys.getrefcount(a) if hasattr(sys, "getrefcount") else sys.maxsize


def _refcount_of_one_local() -> int:
    """What `_refcount` reports for an array that one local variable alone holds, as
    run_backward's `g`: how many references the call itself adds differs between Python
    versions, so it is measured rather than assumed."""
    a = np.empty(0)
    return _refcount(a)


_REFCOUNT_OF_A_LOCAL = _refcount_of_one_local()


def _send_grads(node: Context, input_grads: Any, grads: dict[int, np.ndarray],
                anomaly: bool) -> None:
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    name = node.function.__name__
    if len(input_grads) != len(node.parents):
        raise RuntimeError(f"{name}.backward returned {len(input_grads)} gradients, "
                           f"expected {len(node.parents)}")
    for parent, dx, shape in zip(node.parents, input_grads, node.input_shapes):
        if parent is None or dx is None:
            continue
        if dx.shape != shape:
            raise RuntimeError(f"{name}.backward returned a gradient of shape {dx.shape} "
                               f"for an input of shape {shape}")
        if anomaly:
            _check_finite(dx, node, "backward (gradient of an input)")
        key = id(parent)
        grads[key] = dx if key not in grads else grads[key] + dx
