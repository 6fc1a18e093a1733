"""In-place ops in the graph (minigrad/ops/inplace.py) against torch 2.13.

Every in-place method runs on a non-leaf, on views of a non-leaf (rows, transposed, a view
of a view), on a plain tensor and on a view of a plain tensor, with values that require grad.
The same code runs on minigrad and on torch; forward values and the gradients of both leaves
under a random upstream gradient must agree, and float64 finite differences must agree with
minigrad's gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad

# id -> in-place change of t (k, 4) using w (4,); both libraries spell these alike
OPS = {
    "setitem-slice": lambda t, w: t.__setitem__(slice(1, None), w * 3),
    "setitem-number": lambda t, w: t.__setitem__((0, 1), 5.0),
    "setitem-advanced": lambda t, w: t.__setitem__(([0, 1], [2, 0]), w[:2]),
    "setitem-mask": lambda t, w: t.__setitem__(t > 0, 0.5),
    "setitem-row": lambda t, w: t.__setitem__(-1, w.exp()),
    "zero_": lambda t, w: t.zero_(),
    "fill_-number": lambda t, w: t.fill_(-1.5),
    "fill_-0d-tensor": lambda t, w: t.fill_(w[2]),
    "copy_-broadcast": lambda t, w: t.copy_(w * w),
    "add_-alpha": lambda t, w: t.add_(w, alpha=2.0),
    "add_-number": lambda t, w: t.add_(1.0),
    "sub_": lambda t, w: t.sub_(w.exp()),
    "mul_": lambda t, w: t.mul_(w),
    "mul_-number": lambda t, w: t.mul_(3.0),
    "div_": lambda t, w: t.div_(w.exp()),
    "clamp_-numbers": lambda t, w: t.clamp_(-0.3, 0.4),
    "clamp_-tensors": lambda t, w: t.clamp_(min=w * 0.1 - 0.5, max=w * 0.1 + 0.5),
}


def _non_leaf(lib, x, w, op):
    t = x * 2
    op(t, w)
    return [t]


def _view_rows(lib, x, w, op):
    base = x * 2
    sibling = base[0]  # a view made before the change: it must see the new history
    t = base[1:]
    op(t, w)
    return [base, t, sibling]


def _view_transposed(lib, x, w, op):
    base = x * 2
    t = base.T
    op(t, w)
    return [base, t]


def _view_of_view(lib, x, w, op):
    base = x * 2
    t = base.reshape(2, 8)[:, 2:6]
    op(t, w)
    return [base, t]


def _plain(lib, x, w, op):
    t = lib.zeros(4, 4, dtype=lib.float64)
    op(t, w)
    return [t]


def _view_of_plain(lib, x, w, op):
    base = lib.zeros(4, 4, dtype=lib.float64)
    t = base[:, ::2].T
    op(t, w)
    return [base, t]


def _chained(lib, x, w, op):
    """The changed tensor feeds a later op (one that saves nothing), then changes again."""
    t = x * 1.5
    op(t, w)
    u = t + w
    t.mul_(2.0)
    return [t, u]


TARGETS = {"non-leaf": _non_leaf, "view-rows": _view_rows, "view-transposed": _view_transposed,
           "view-of-view": _view_of_view, "plain": _plain, "view-of-plain": _view_of_plain,
           "chained": _chained}


def _run(lib, target, op, x0, w0, upstream_seed=0):
    x = lib.tensor(x0, requires_grad=True)
    w = lib.tensor(w0, requires_grad=True)
    outs = TARGETS[target](lib, x, w, OPS[op])
    rng = np.random.default_rng(upstream_seed)
    total = sum((o * lib.tensor(rng.standard_normal(tuple(o.shape)))).sum() for o in outs)
    if total.requires_grad:  # (a plain tensor changed by numbers alone has no graph)
        total.backward()
    return [o.detach().numpy().copy() for o in outs], x.grad, w.grad


def _as_numpy(grad):
    if grad is None:
        return None
    return grad.detach().numpy() if isinstance(grad, torch.Tensor) else grad.data


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("op", list(OPS))
def test_in_place_op_forward_and_gradients_match_torch(op, target):
    rng = np.random.default_rng(1)
    x0, w0 = rng.standard_normal((4, 4)), rng.standard_normal(4)
    ours = _run(minigrad, target, op, x0, w0)
    theirs = _run(torch, target, op, x0, w0)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg="forward")
    for name, a, b in (("x", ours[1], theirs[1]), ("w", ours[2], theirs[2])):
        a, b = _as_numpy(a), _as_numpy(b)
        assert (a is None) == (b is None), f"{name}.grad: minigrad {a}, torch {b}"
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{name}.grad")


@pytest.mark.parametrize("target", ["non-leaf", "view-rows", "view-of-view", "view-of-plain"])
@pytest.mark.parametrize("op", [o for o in OPS if o not in ("setitem-mask", "clamp_-numbers",
                                                          "clamp_-tensors")])
def test_in_place_op_gradients_match_finite_differences(op, target):
    """(the mask and clamp ops have kinks; torch covers them above)"""
    rng = np.random.default_rng(2)
    x = minigrad.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal(4), requires_grad=True)

    def fn(x, w):
        outs = TARGETS[target](minigrad, x, w, OPS[op])
        return minigrad.cat([o.reshape(-1) for o in outs] + [x.reshape(-1), w])

    minigrad.gradcheck(fn, [x, w])


def test_issue_example_setitem_on_a_non_leaf():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = 2 * x
    y[0] = 0
    y.backward(minigrad.tensor([0.5, 1.5, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, -2.0])


@pytest.mark.parametrize("op", list(OPS))
def test_in_place_op_on_a_leaf_that_requires_grad_raises_and_changes_nothing(op):
    w = minigrad.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    for t, what in ((minigrad.randn(3, 4, requires_grad=True), "a leaf tensor"),
                    (minigrad.randn(3, 4, requires_grad=True)[1:], "a view of a leaf tensor")):
        before = t.data.copy()
        with pytest.raises(RuntimeError, match=f"{what} that requires grad is being used in "
                                               "an in-place operation"):
            OPS[op](t, w)
        np.testing.assert_array_equal(t.data, before)


@pytest.mark.parametrize("op", list(OPS))
def test_in_place_op_on_a_leaf_under_no_grad_matches_torch_and_records_nothing(op):
    rng = np.random.default_rng(3)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    results = []
    for lib in (minigrad, torch):
        x = lib.tensor(x0, requires_grad=True)
        w = lib.tensor(w0, requires_grad=True)
        with lib.no_grad():
            OPS[op](x, w)
            OPS[op](x[1:], w)
        assert x.is_leaf and x.requires_grad
        results.append(x.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("through_view", [False, True])
def test_overwriting_an_array_saved_for_backward_raises_naming_the_op(op, through_view):
    """exp saves its output; changing that output in place must fail at backward, as torch."""
    for lib, pattern in ((torch, "modified by an inplace operation"),
                         (minigrad, "^Exp: an array saved for backward was modified in place")):
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
        w = lib.tensor(np.array([0.1, 0.2, 0.3, 0.4]), requires_grad=True)
        y = x.exp()
        OPS[op](y[1:] if through_view else y, w)
        with pytest.raises(RuntimeError, match=pattern):
            y.sum().backward()


def test_a_view_made_under_no_grad_cannot_be_changed_in_place_while_recording():
    for lib in (torch, minigrad):
        y = lib.ones(3, 4, dtype=lib.float64, requires_grad=True) * 2
        with lib.no_grad():
            v = y[1:]
        with pytest.raises(RuntimeError, match="no_grad"):
            v.mul_(2.0)


def test_plain_tensor_written_with_a_value_that_requires_grad_joins_the_graph():
    w = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    buf = minigrad.zeros(4)
    buf[1:] = 3 * w
    assert buf.requires_grad and not buf.is_leaf
    acc = minigrad.zeros(3)
    acc.add_(2 * w)
    (buf.sum() + (acc * acc).sum()).backward()
    np.testing.assert_allclose(w.grad.data, 3 + 8 * w.data)


def test_old_views_of_a_changed_base_see_its_new_values_and_history():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = 2 * x
    v = y[1:]
    y.mul_(3.0)
    np.testing.assert_array_equal(v.data, [12.0, 18.0])
    v.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 6.0])


def test_in_place_ops_keep_the_array_and_dtype():
    y = minigrad.ones(2, 3, requires_grad=True) * 1
    array = y.data
    y.add_(minigrad.tensor(np.ones(3)))  # float64 operand, float32 tensor
    y[0] = minigrad.tensor(2.0, dtype="float64", requires_grad=True)
    y.clamp_(max=1.5)
    assert y.data is array and y.dtype == np.float32


def _forward_slices_only(index):
    """torch refuses negative slice steps; keep hypothesis's other basic indices."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or p.step is None or p.step > 0 for p in parts)


@st.composite
def setitem_cases(draw):
    """(x, index, value): a basic index into x and a value that broadcasts to x[index]."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True).filter(_forward_slices_only))
    target = np.empty(shape)[index].shape
    value_shape = target if 0 in target else draw(
        hnp.broadcastable_shapes(target, max_dims=len(target))
        .filter(lambda s: np.broadcast_shapes(s, target) == target))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal(shape), index, rng.standard_normal(value_shape)


@given(case=setitem_cases(), through_view=st.booleans())
def test_setitem_with_drawn_indices_and_values_matches_torch(case, through_view):
    x0, index, v0 = case
    results = []
    for lib in (minigrad, torch):
        x = lib.tensor(x0, requires_grad=True)
        v = lib.tensor(v0, requires_grad=True)
        y = x * 2
        t = y.reshape(-1).reshape(y.shape) if through_view else y
        t[index] = v * 3
        upstream = lib.tensor(np.random.default_rng(0).standard_normal(x0.shape))
        (y * upstream).sum().backward()
        results.append([y.detach().numpy().copy(), _as_numpy(x.grad), _as_numpy(v.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
