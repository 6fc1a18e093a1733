"""`grad_fn.next_functions` walks the graph as torch's does: (node, 0) per input, leaves as
AccumulateGrad nodes with `.variable`, inputs without gradient as (None, 0)."""

from __future__ import annotations

import torch

import minigrad


def _structure(node):
    """The graph below `node` as nested tuples of kinds, for both libraries."""
    if node is None:
        return None
    if type(node).__name__ == "AccumulateGrad":
        return "leaf"
    return tuple(_structure(child) for child, _ in node.next_functions)


def _build(lib):
    a = lib.ones(2, 3, requires_grad=True)
    b = lib.ones(3, requires_grad=True)
    c = lib.ones(3)  # no gradient
    return a, b, ((a * b + c).relu() * 2).sum()


def test_next_functions_have_torch_structure():
    _, _, ours = _build(minigrad)
    _, _, theirs = _build(torch)
    assert _structure(ours.grad_fn) == _structure(theirs.grad_fn)


def test_leaves_appear_as_accumulate_grad_holding_the_tensor():
    a, b, out = _build(minigrad)
    # sum <- (* 2) <- relu <- (+ c) <- (a * b)
    add = out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
    (first, i), (second, j) = add.next_functions[0][0].next_functions
    assert first.variable is a and second.variable is b and i == j == 0
    assert first.next_functions == () and first.name() == "AccumulateGrad"
    assert add.next_functions[1] == (None, 0)  # the constant c


def test_the_same_leaf_gives_the_same_node():
    a = minigrad.ones(2, requires_grad=True)
    out = a * a
    (left, _), (right, _) = out.grad_fn.next_functions
    assert left is right and left.variable is a


def test_grad_fn_name_is_the_op_backward():
    out = minigrad.ones(2, requires_grad=True).exp()
    assert out.grad_fn.name() == repr(out.grad_fn).strip("<>")
