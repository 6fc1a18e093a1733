"""Module hooks as torch's: forward pre-hooks, forward hooks, full backward pre-hooks and full
backward hooks, each registered with a `RemovableHandle`.

`Module.__call__` hands over to `call_with_hooks` only when the module has a hook, so a plain
call costs nothing extra. A full backward hook needs the gradients of all of a call's inputs
at once, after the gradients of all of its outputs; identity ops packing several tensors
into one give it both:

    x1..xk ──Pack──> one flat array ──Unpack──> x1'..xk' ──forward──> y1..ym ──Pack──>
    one flat array ──Unpack──> y1'..ym'

The outputs go through a pack node too, whose backward receives all output gradients at once
(there the backward pre-hooks may replace them) and keeps them. Every output depends on the
packed inputs, so the engine runs the input pack's backward after that, once, with the summed
gradient of each input: there the hooks see
(grad_input, grad_output) and may replace grad_input before it flows on. When no input needs
a gradient (a first layer), the hooks run at the output pack with grad_input = (None, ...),
as torch.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function, is_grad_enabled
from minigrad.tensor import Tensor


class RemovableHandle:
    """What `register_*_hook` returns: `remove()` unregisters the hook (also as a context
    manager, on exit). `id` is the hook's key in its registry."""

    _ids = itertools.count()

    def __init__(self, *registries: dict) -> None:
        self.id = next(RemovableHandle._ids)
        self._registries = registries

    def remove(self) -> None:
        for registry in self._registries:
            registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(op: str, hooks: OrderedDict, hook: Callable, prepend: bool,
             *flags: dict) -> RemovableHandle:
    """Register `hook` in `hooks` (first when `prepend`), marking it in each `flags` dict."""
    if not callable(hook):
        raise TypeError(f"{op}: expected a callable hook, got {type(hook).__name__}")
    handle = RemovableHandle(hooks, *flags)
    hooks[handle.id] = hook
    for flag in flags:
        flag[handle.id] = True
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def call_with_hooks(module: Any, forward: Callable, args: tuple, kwargs: dict) -> Any:
    """torch's order: pre-hooks, inputs wrapped for backward hooks, forward, forward hooks,
    outputs wrapped for backward hooks."""
    args, kwargs = _run_pre_hooks(module, args, kwargs)
    backward = None
    if (module._backward_hooks or module._backward_pre_hooks) and is_grad_enabled():
        backward = BackwardHookCall(module, args)
        args = backward.wrap_inputs(args)
    try:
        output = forward(*args, **kwargs)
    except Exception:
        for key, hook in list(module._forward_hooks.items()):
            if key in module._forward_hooks_always_called:
                _call_forward_hook(module, key, hook, args, kwargs, None)
        raise
    for key, hook in list(module._forward_hooks.items()):
        result = _call_forward_hook(module, key, hook, args, kwargs, output)
        if result is not None:
            output = result
    return output if backward is None else backward.wrap_outputs(output)


def _run_pre_hooks(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    for key, hook in list(module._forward_pre_hooks.items()):
        if key in module._forward_pre_hooks_with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook registered with_kwargs must return "
                                       f"None or a tuple (new_args, new_kwargs), got {result!r}")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    return args, kwargs


def _call_forward_hook(module: Any, key: int, hook: Callable, args: tuple, kwargs: dict,
                       output: Any) -> Any:
    if key in module._forward_hooks_with_kwargs:
        return hook(module, args, kwargs, output)
    return hook(module, args, output)


class BackwardHookCall:
    """One call of a module with full backward hooks: which arguments were packed, and the
    gradients of its outputs once they are known."""

    def __init__(self, module: Any, args: tuple) -> None:
        self.module = module
        self.n_args = len(args)
        # floating tensors get a gradient in grad_input (zeros for those that do not require
        # one, as torch); other arguments get None. Only those requiring grad are packed.
        self.tensors = {i: (a.shape, a.dtype) for i, a in enumerate(args)
                        if isinstance(a, Tensor) and a.dtype.kind == "f"}
        self.positions = [i for i in self.tensors if args[i].requires_grad]
        self.grad_outputs: tuple[Tensor | None, ...] = ()

    def wrap_inputs(self, args: tuple) -> tuple:
        if not self.positions or not self.module._backward_hooks:
            return args
        unpacked = _pack_and_unpack([args[i] for i in self.positions], self.inputs_done)
        wrapped = list(args)
        for i, x in zip(self.positions, unpacked):
            wrapped[i] = x
        return tuple(wrapped)

    def wrap_outputs(self, output: Any) -> Any:
        outputs = list(output) if isinstance(output, (tuple, list)) else [output]
        self.out_positions = [k for k, y in enumerate(outputs)
                              if isinstance(y, Tensor) and y.requires_grad]
        self.n_outputs = len(outputs)
        if not self.out_positions:
            return output
        unpacked = _pack_and_unpack([outputs[k] for k in self.out_positions], self.outputs_done)
        for k, y in zip(self.out_positions, unpacked):
            outputs[k] = y
        return type(output)(outputs) if isinstance(output, (tuple, list)) else outputs[0]

    def outputs_done(self, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        """Backward reached the outputs: the backward pre-hooks may replace their gradients,
        which are kept for the backward hooks; when no input needs a gradient, those run now,
        with grad_input all None (as torch)."""
        grad_output: list[Tensor | None] = [None] * self.n_outputs
        for k, g in zip(self.out_positions, grads):
            grad_output[k] = Tensor._wrap(g)
        self.grad_outputs = self.run_pre_hooks(tuple(grad_output))
        if not self.positions and self.module._backward_hooks:
            self.run_hooks((None,) * self.n_args)
        return [_array(self.grad_outputs[k]) for k in self.out_positions]

    def run_pre_hooks(self, grad_output: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_output):
                raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                   f"grad_output, got {len(result)}, but expected "
                                   f"{len(grad_output)}")
            grad_output = result
        return grad_output

    def inputs_done(self, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        """Backward reached the inputs: the hooks see them and may replace them."""
        grad_input: list[Tensor | None] = [None] * self.n_args
        for i, (shape, dtype) in self.tensors.items():
            grad_input[i] = Tensor._wrap(np.zeros(shape, dtype))
        for i, g in zip(self.positions, grads):
            grad_input[i] = Tensor._wrap(g)
        result = self.run_hooks(tuple(grad_input))
        return [_array(result[i]) for i in self.positions]

    def run_hooks(self, grad_input: tuple) -> tuple:
        """Call every hook with (module, grad_input, grad_output); a non-None result replaces
        grad_input for the hooks after it and for the rest of the backward pass."""
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != self.n_args:
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(result)}, but expected {self.n_args}")
            grad_input = result
        return grad_input


def _array(g: Any) -> np.ndarray | None:
    return g.data if isinstance(g, Tensor) else (None if g is None else np.asarray(g))


def _pack_and_unpack(tensors: list[Tensor], done: Callable) -> list[Tensor]:
    """The tensors again, through one `Pack` node whose backward calls `done`."""
    packed = Pack.apply(*tensors, done=done)
    unpacked, offset = [], 0
    for x in tensors:
        unpacked.append(Unpack.apply(packed, offset=offset, shape=x.shape, dtype=x.dtype))
        offset += x.data.size
    return unpacked


class Pack(Function):
    """packed = concat(ravel(x1), ..., ravel(xk)) in their common dtype, so that one node
    receives the gradients of all k tensors at once. Backward: split g back into the inputs'
    shapes and dtypes and hand them to `done`, which may replace them."""

    @staticmethod
    def forward(ctx: Context, *xs, done=None):
        ctx.done = done
        ctx.shapes = [(x.shape, x.dtype) for x in xs]
        dtype = np.result_type(*xs)
        return np.concatenate([x.ravel().astype(dtype, copy=False) for x in xs])

    @staticmethod
    def backward(ctx: Context, g):
        grads, offset = [], 0
        for shape, dtype in ctx.shapes:
            size = int(np.prod(shape))
            grads.append(g[offset:offset + size].reshape(shape).astype(dtype))
            offset += size
        replaced = ctx.done(grads)
        for dx, (shape, _) in zip(replaced, ctx.shapes):
            if dx is not None and dx.shape != shape:
                raise RuntimeError(f"Backward hook returned a gradient of shape {dx.shape} "
                                   f"for an input of shape {shape}")
        return tuple(None if dx is None else dx.astype(dtype, copy=False)
                     for dx, (_, dtype) in zip(replaced, ctx.shapes))


class Unpack(Function):
    """x_k = packed[offset : offset + size] reshaped; backward puts g back into a zero flat
    array at the same place."""

    @staticmethod
    def forward(ctx: Context, packed, offset=0, shape=(), dtype=None):
        ctx.offset, ctx.size = offset, int(np.prod(shape))
        ctx.packed = (packed.size, packed.dtype)
        return packed[offset:offset + ctx.size].reshape(shape).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g):
        flat = np.zeros(ctx.packed[0], dtype=ctx.packed[1])
        flat[ctx.offset:ctx.offset + ctx.size] = g.ravel()
        return (flat,)
