"""Record one eval-mode forward pass and list its autograd nodes in execution order.

Every op a model runs is a `Function` call; when grad mode is on and some input requires
grad, `Function.apply` records a `Context` holding the function, its parent nodes (`parents`:
the producing `Context`, a leaf tensor, or None for an input that needs no gradient), the
constant inputs (`constants`: the values of those None parents), the keyword attributes
(`attrs`: stride, padding, ...) and the input shapes. Feeding a copy of the example input
that requires grad makes every op that depends on it record, whatever the model's
parameters require, so the nodes reachable from the output are the whole computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minigrad.autograd import Context, enable_grad
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


@dataclass
class Trace:
    """One forward pass: `nodes` in execution order, the traced `input` and `output`."""

    nodes: list[Context]
    input: Tensor
    output: Tensor


def trace(model: Module, example_input: Tensor) -> Trace:
    """Run `model` once in eval mode on a copy of `example_input` and record the graph;
    every module's own train/eval mode is restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    x = Tensor(example_input.data, requires_grad=True)
    try:
        with enable_grad():
            y = model(x)
    finally:
        for module, training in modes:
            module.training = training
    if not isinstance(y, Tensor):
        raise TypeError(f"onnx.export: the model must return one Tensor, got {type(y).__name__}")
    if y.grad_fn is None and y is not x:
        raise ValueError("onnx.export: the model's output does not depend on its input")
    return Trace(_execution_order(y.grad_fn) if y.grad_fn is not None else [], x, y)


def _execution_order(root: Context) -> list[Context]:
    """The nodes `root` depends on, each after all of its parents (iterative DFS)."""
    order: list[Context] = []
    visited = {id(root)}
    stack: list[tuple[Context, Any]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if isinstance(parent, Context) and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
