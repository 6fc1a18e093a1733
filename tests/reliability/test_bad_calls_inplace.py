"""Bad in-place calls on tensors (`add_` and friends, `fill_`, `copy_`, `x[i] = v`) and bad
`.grad` assignments: each raises the right exception type, names the method and the bad
value or shapes, and changes nothing (the world's tensors are the targets)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from tests.reliability.bad_call import Bad, check_bad_call, params

NAN = float("nan")


def r(*shape: int, dtype=np.float32) -> minigrad.Tensor:
    return minigrad.randn(*shape, dtype=dtype)


def count(world) -> minigrad.Tensor:
    """BatchNorm's int64 `num_batches_tracked` (0-d), an integer tensor of the world."""
    return world.model[1].num_batches_tracked


def weight(world) -> minigrad.Tensor:
    """The Linear weight (5, 4): a leaf that requires grad."""
    return world.model[5].weight


def setitem(t: minigrad.Tensor, index, value) -> None:
    t[index] = value


def assign_grad(world, value) -> None:
    weight(world).grad = value


ARITHMETIC = [
    Bad("add_-float-into-int", lambda wd: count(wd).add_(0.5), TypeError, "add_", "int64"),
    Bad("div_-int-true-division", lambda wd: count(wd).div_(2), TypeError, "div_", "float32"),
    Bad("mul_-float-tensor-into-int", lambda wd: count(wd).mul_(r()), TypeError, "mul_",
        "int64"),
    Bad("add_-no-broadcast", lambda wd: wd.x.add_(r(5)), ValueError, "add_", "(5,)"),
    Bad("add_-would-grow", lambda wd: wd.logits.add_(r(3, 4, 5)), ValueError, "add_",
        "(4, 5)"),
    Bad("add_-string", lambda wd: wd.logits.add_("a"), TypeError, "add_", "'a'"),
    Bad("add_-none", lambda wd: wd.logits.add_(None), TypeError, "add_", "None"),
    Bad("add_-alpha-string", lambda wd: wd.logits.add_(1.0, alpha="2"), TypeError, "add_",
        "'2'"),
    Bad("sub_-no-broadcast", lambda wd: wd.logits.sub_(r(4)), ValueError, "sub_", "(4,)"),
    Bad("sub_-alpha-none", lambda wd: wd.logits.sub_(r(5), alpha=None), TypeError, "sub_",
        "None"),
    Bad("mul_-ragged-list", lambda wd: wd.logits.mul_([[1.0], [1.0, 2.0]]), TypeError, "mul_",
        "[[1.0], [1.0, 2.0]]"),
    Bad("mul_-complex", lambda wd: wd.logits.mul_(1j), TypeError, "mul_", "1j"),
    Bad("div_-no-broadcast", lambda wd: wd.logits.div_(r(2, 5)), ValueError, "div_",
        "(2, 5)"),
    Bad("clamp_-no-bounds", lambda wd: wd.logits.clamp_(), ValueError, "clamp_",
        "min and max"),
    Bad("clamp_-string-bound", lambda wd: wd.logits.clamp_(min="x"), TypeError, "clamp_",
        "'x'"),
    Bad("clamp_-bound-shape", lambda wd: wd.logits.clamp_(max=r(3)), ValueError, "clamp_",
        "(3,)"),
    Bad("clamp_-float-bound-into-int", lambda wd: count(wd).clamp_(0.5), TypeError, "clamp_",
        "int64"),
]

LEAVES = [
    Bad("add_-leaf", lambda wd: weight(wd).add_(1.0), RuntimeError, "add_",
        "a leaf tensor that requires grad"),
    Bad("mul_-leaf", lambda wd: weight(wd).mul_(2.0), RuntimeError, "mul_", "leaf tensor"),
    Bad("zero_-leaf", lambda wd: weight(wd).zero_(), RuntimeError, "zero_", "leaf tensor"),
    Bad("fill_-leaf", lambda wd: weight(wd).fill_(1.0), RuntimeError, "fill_", "leaf tensor"),
    Bad("copy_-leaf", lambda wd: weight(wd).copy_(r(5, 4)), RuntimeError, "copy_",
        "leaf tensor"),
    Bad("clamp_-leaf", lambda wd: weight(wd).clamp_(0.0), RuntimeError, "clamp_",
        "leaf tensor"),
    Bad("setitem-leaf", lambda wd: setitem(weight(wd), 0, 1.0), RuntimeError, "__setitem__",
        "a leaf tensor that requires grad"),
    Bad("zero_-view-of-leaf", lambda wd: weight(wd)[1:].zero_(), RuntimeError, "zero_",
        "a view of a leaf tensor that requires grad"),
    Bad("div_-transposed-view-of-leaf", lambda wd: weight(wd).T.div_(2.0), RuntimeError,
        "div_", "a view of a leaf tensor"),
    Bad("add_-expanded-view", lambda wd: wd.logits[0].expand(3, 5).add_(1.0), RuntimeError,
        "add_", "read-only"),
]

FILL_AND_COPY = [
    Bad("fill_-none", lambda wd: wd.logits.fill_(None), TypeError, "fill_", "None"),
    Bad("fill_-string", lambda wd: wd.logits.fill_("a"), TypeError, "fill_", "'a'"),
    Bad("fill_-list", lambda wd: wd.logits.fill_([1, 2]), TypeError, "fill_", "[1, 2]"),
    Bad("fill_-1d-tensor", lambda wd: wd.logits.fill_(r(2)), ValueError, "fill_", "(2,)"),
    Bad("fill_-complex", lambda wd: wd.logits.fill_(1j), TypeError, "fill_", "1j"),
    Bad("fill_-nan-into-int", lambda wd: count(wd).fill_(NAN), ValueError, "fill_", "nan"),
    Bad("fill_-inf-into-int", lambda wd: count(wd).fill_(float("inf")), ValueError, "fill_",
        "inf"),
    Bad("copy_-none", lambda wd: wd.logits.copy_(None), TypeError, "copy_", "None"),
    Bad("copy_-string", lambda wd: wd.logits.copy_("abc"), TypeError, "copy_", "'abc'"),
    Bad("copy_-dict", lambda wd: wd.logits.copy_({"a": 1}), TypeError, "copy_", "dict"),
    Bad("copy_-shape", lambda wd: wd.logits.copy_(r(5, 4)), ValueError, "copy_", "(5, 4)"),
    Bad("copy_-more-dims", lambda wd: wd.logits.copy_(r(1, 4, 5)), ValueError, "copy_",
        "(1, 4, 5)"),
    Bad("copy_-ragged-list", lambda wd: wd.logits.copy_([[1.0], [1.0, 2.0]]), TypeError,
        "copy_", "[[1.0], [1.0, 2.0]]"),
    Bad("copy_-nan-into-int", lambda wd: count(wd).copy_(NAN), ValueError, "copy_", "nan"),
]

SETITEM = [
    Bad("setitem-string-index", lambda wd: setitem(wd.logits, "a", 1.0), TypeError,
        "__setitem__", "'a'"),
    Bad("setitem-float-index", lambda wd: setitem(wd.logits, 1.5, 0.0), TypeError,
        "__setitem__", "1.5"),
    Bad("setitem-float-tensor-index", lambda wd: setitem(wd.logits, r(2), 0.0), TypeError,
        "__setitem__", "float32"),
    Bad("setitem-out-of-range", lambda wd: setitem(wd.logits, 10, 0.0), IndexError,
        "__setitem__", "10"),
    Bad("setitem-too-many-indices", lambda wd: setitem(wd.logits, (0, 0, 0), 1.0), IndexError,
        "__setitem__", "(4, 5)"),
    Bad("setitem-mask-shape", lambda wd: setitem(wd.logits, np.array([True, False]), 0.0),
        IndexError, "__setitem__", "(4, 5)"),
    Bad("setitem-value-shape", lambda wd: setitem(wd.logits, 0, r(4)), ValueError,
        "__setitem__", "(4,)"),
    Bad("setitem-value-string", lambda wd: setitem(wd.logits, 0, "a"), TypeError,
        "__setitem__", "'a'"),
    Bad("setitem-value-none", lambda wd: setitem(wd.logits, 0, None), TypeError,
        "__setitem__", "None"),
    Bad("setitem-value-complex", lambda wd: setitem(wd.x, 0, 2j), TypeError, "__setitem__",
        "2j"),
    Bad("setitem-nan-into-int", lambda wd: setitem(count(wd), (), NAN), ValueError,
        "__setitem__", "nan"),
]

GRAD = [
    Bad("grad-string", lambda wd: assign_grad(wd, "x"), TypeError, "grad", "'x'"),
    Bad("grad-number", lambda wd: assign_grad(wd, 0.0), TypeError, "grad", "float"),
    Bad("grad-ndarray", lambda wd: assign_grad(wd, np.zeros((5, 4), np.float32)), TypeError,
        "grad", "ndarray"),
    Bad("grad-shape", lambda wd: assign_grad(wd, r(4, 5)), ValueError, "grad", "(4, 5)"),
    Bad("grad-float64", lambda wd: assign_grad(wd, r(5, 4, dtype=np.float64)), TypeError,
        "grad", "float64"),
    Bad("grad-int", lambda wd: assign_grad(wd, minigrad.zeros(5, 4, dtype="int64")),
        TypeError, "grad", "int64"),
]


@pytest.mark.parametrize("row", params(ARITHMETIC + LEAVES + FILL_AND_COPY + SETITEM + GRAD))
def test_bad_in_place_call_raises_clearly_and_changes_nothing(row):
    check_bad_call(row)
