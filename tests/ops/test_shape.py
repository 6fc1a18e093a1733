"""Shape and indexing ops against torch (forward, backward) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.ops import shape as ops
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import arrays, shapes

MASK = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])
INDEX = np.array([[0, 1], [1, 1]])

# id -> (input shapes, minigrad fn, torch fn); None for torch means "same call".
CASES = {
    "reshape": ([(2, 3, 4)], lambda x: x.reshape(4, -1), None),
    "view_flat": ([(2, 3, 4)], lambda x: x.view(-1), None),
    "permute": ([(2, 3, 4)], lambda x: x.permute(2, 0, 1), None),
    "permute_negative": ([(2, 3, 4)], lambda x: x.permute(-1, 0, -2), None),
    "transpose": ([(2, 3, 4)], lambda x: x.transpose(0, -1), None),
    "T": ([(3, 4)], lambda x: x.T, None),
    "flatten": ([(2, 3, 2, 2)], lambda x: x.flatten(1), None),
    "flatten_range": ([(2, 3, 2, 2)], lambda x: x.flatten(1, 2), None),
    "squeeze_all": ([(2, 1, 3, 1)], lambda x: x.squeeze(), None),
    "squeeze_dim": ([(2, 1, 3, 1)], lambda x: x.squeeze(1), None),
    "squeeze_size_not_one": ([(2, 1, 3)], lambda x: x.squeeze(0), None),
    "squeeze_tuple": ([(2, 1, 3, 1)], lambda x: x.squeeze((1, -1)), None),
    "unsqueeze_last": ([(2, 3)], lambda x: x.unsqueeze(-1), None),
    "unsqueeze_middle": ([(2, 3)], lambda x: x.unsqueeze(1), None),
    "expand": ([(3, 1)], lambda x: x.expand(2, 3, 4), None),
    "expand_keep": ([(3, 1)], lambda x: x.expand(-1, 5), None),
    "getitem_int": ([(3, 4)], lambda x: x[1], None),
    "getitem_negative_int": ([(3, 4)], lambda x: x[-1, 2], None),
    "getitem_step_slices": ([(5, 4)], lambda x: x[1:5:2, ::3], None),
    "getitem_none_ellipsis": ([(2, 3, 4)], lambda x: x[None, ..., 1], None),
    "getitem_repeated_ints": ([(4, 3)], lambda x: x[[0, 2, 0, 0]], None),
    "getitem_int_tensor": ([(3, 4)], lambda x: x[minigrad.tensor(INDEX)],
                           lambda x: x[torch.tensor(INDEX)]),
    "getitem_bool_mask": ([(3, 4)], lambda x: x[minigrad.tensor(MASK)],
                          lambda x: x[torch.tensor(MASK)]),
    "getitem_bool_rows": ([(3, 4)], lambda x: x[[True, False, True]], None),
    "getitem_two_arrays": ([(2, 3, 4)], lambda x: x[[0, 1, 1], :, [1, 1, 3]], None),
    "getitem_array_and_slices": ([(2, 3, 4)], lambda x: x[:, [2, 0, 2], 1:3], None),
    "cat": ([(2, 3), (2, 1), (2, 2)], lambda *xs: ops.cat(xs, 1), lambda *xs: torch.cat(xs, 1)),
    "cat_negative_dim": ([(2, 3, 1), (2, 3, 2)], lambda *xs: ops.cat(list(xs), -1),
                         lambda *xs: torch.cat(xs, -1)),
    "stack": ([(2, 3)] * 3, lambda *xs: ops.stack(xs), lambda *xs: torch.stack(xs)),
    "stack_last": ([(2, 3)] * 2, lambda *xs: ops.stack(xs, -1), lambda *xs: torch.stack(xs, -1)),
    "pad_constant": ([(2, 3, 4)], lambda x: ops.pad(x, (1, 2)), lambda x: torch_F.pad(x, (1, 2))),
    "pad_constant_value": ([(2, 3)], lambda x: ops.pad(x, (1, 0, 2, 1), value=1.5),
                           lambda x: torch_F.pad(x, (1, 0, 2, 1), value=1.5)),
    "pad_negative_crops": ([(2, 5, 4)], lambda x: ops.pad(x, (-1, 2, 0, -2)),
                           lambda x: torch_F.pad(x, (-1, 2, 0, -2))),
}
for _mode in ("reflect", "replicate", "circular"):
    CASES[f"pad_{_mode}"] = ([(2, 3, 5)], lambda x, m=_mode: ops.pad(x, (2, 3), m),
                             lambda x, m=_mode: torch_F.pad(x, (2, 3), mode=m))
    CASES[f"pad_{_mode}_2d"] = ([(1, 2, 4, 5)], lambda x, m=_mode: ops.pad(x, (1, 2, 3, 1), m),
                                lambda x, m=_mode: torch_F.pad(x, (1, 2, 3, 1), mode=m))


def _case(name):
    in_shapes, mg_fn, torch_fn = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    return mg_fn, torch_fn or mg_fn, [rng.standard_normal(s) for s in in_shapes]


@pytest.mark.parametrize("name", CASES)
def test_shape_op_matches_torch_and_finite_differences(name):
    mg_fn, torch_fn, inputs = _case(name)
    check_forward_matches_torch(mg_fn, torch_fn, inputs)
    check_backward_matches_torch(mg_fn, torch_fn, inputs)
    check_finite_differences(mg_fn, inputs)


def test_getitem_with_negative_step_matches_numpy_and_finite_differences():
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(minigrad.tensor(x)[::-2, 1:].data, x[::-2, 1:])
    check_finite_differences(lambda t: t[::-2, 1:], [x])


def test_getitem_repeated_indices_accumulate_gradient():
    x = minigrad.zeros(3, requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def _check_all(mg_fn, torch_fn, inputs):
    check_forward_matches_torch(mg_fn, torch_fn, inputs)
    check_backward_matches_torch(mg_fn, torch_fn, inputs)
    check_finite_differences(mg_fn, inputs)


@given(x=arrays(shapes(min_dims=1, max_dims=4, max_side=3)), data=st.data())
def test_reshape_and_permute_match_torch(x, data):
    k = data.draw(st.integers(0, x.ndim))
    target = (int(np.prod(x.shape[:k])), -1)
    dims = data.draw(st.permutations(range(x.ndim)))
    def fn(t):
        return t.reshape(target).sum(0) * t.permute(*dims).sum()

    _check_all(fn, fn, [x])


@given(data=st.data())
def test_cat_and_stack_match_torch(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    dim = data.draw(st.integers(-len(base), len(base) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = [data.draw(arrays(base[:dim % len(base)] + (n,) + base[dim % len(base) + 1:]))
             for n in sizes]
    _check_all(lambda *xs: ops.cat(xs, dim), lambda *xs: torch.cat(xs, dim), parts)
    same = [data.draw(arrays(base)) for _ in sizes]
    _check_all(lambda *xs: ops.stack(xs, dim), lambda *xs: torch.stack(xs, dim), same)


@given(x=arrays(shapes(min_dims=1, max_dims=3, max_side=3)), data=st.data())
def test_expand_matches_torch(x, data):
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    tail = [data.draw(st.sampled_from([-1, n] if n != 1 else [-1, 1, 2, 3])) for n in x.shape]
    target = tuple(lead + tail)
    _check_all(lambda t: t.expand(*target), lambda t: t.expand(*target), [x])


@given(x=arrays(shapes(min_dims=1, max_dims=3, max_side=4)), data=st.data())
def test_getitem_with_slices_matches_torch(x, data):
    index = tuple(slice(data.draw(st.integers(-n, n)), data.draw(st.integers(-n, n)),
                        data.draw(st.integers(1, 3))) for n in x.shape)
    if 0 in x[index].shape:
        return
    _check_all(lambda t: t[index], lambda t: t[index], [x])


@given(x=arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4)),
       data=st.data())
def test_constant_pad_with_crops_matches_torch(x, data):
    pads = data.draw(st.lists(st.integers(-1, 2), min_size=2, max_size=2 * x.ndim)
                     .filter(lambda p: len(p) % 2 == 0))
    value = data.draw(st.floats(-2, 2))
    _check_all(lambda t: ops.pad(t, pads, value=value),
               lambda t: torch_F.pad(t, pads, value=value), [x])


def test_in_place_change_through_a_view_is_detected_by_backward():
    b = minigrad.randn(2, 3, dtype="float64", requires_grad=True) * 1.0
    c = b * b
    with minigrad.no_grad():
        b.reshape(6).add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        c.sum().backward()


def test_pad_keeps_float32():
    out = ops.pad(minigrad.ones(2, 2), (1, 1), value=0.5)
    assert out.dtype == np.float32


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: x.reshape(4, -1), ValueError, r"^reshape: shape \(4, -1\) is invalid .*\(2, 3\)"),
    (lambda x: x.reshape(-1, -1), ValueError, r"^reshape: shape \(-1, -1\)"),
    (lambda x: x.reshape(7), ValueError, r"^reshape: .*\(2, 3\) \(6 elements\)"),
    (lambda x: x.reshape(2.0, 3), TypeError, "^reshape: shape must be a sequence of ints"),
    (lambda x: x.permute(0, 0), ValueError, r"^permute: dims \(0, 0\) is not a permutation"),
    (lambda x: x.permute(0, 1, 2), ValueError, r"^permute: dims \(0, 1, 2\) has 3 entries"),
    (lambda x: x.transpose(0, 2), ValueError, "^transpose: dim 2 is out of range"),
    (lambda x: x.flatten(1, 0), ValueError, "^flatten: start_dim 1 comes after end_dim 0"),
    (lambda x: x.squeeze(2), ValueError, "^squeeze: dim 2 is out of range"),
    (lambda x: x.unsqueeze(3), ValueError, "^unsqueeze: dim 3 is out of range"),
    (lambda x: x.expand(4, 3), ValueError, r"^expand: cannot expand shape \(2, 3\) to \(4, 3\)"),
    (lambda x: x.expand(3), ValueError, r"^expand: cannot expand shape \(2, 3\) to \(3,\)"),
    (lambda x: x.expand(-1, 2, 3), ValueError, "^expand: cannot expand"),
    (lambda x: x[2], IndexError, r"^getitem: .*\(2, 3\)"),
    (lambda x: x[:, [0, 3]], IndexError, r"^getitem: .*\(2, 3\)"),
    (lambda x: x[0.5], TypeError, "^getitem: indices must be"),
    (lambda x: x[np.array([0.0, 1.0])], TypeError, "^getitem: .*float64"),
    (lambda x: ops.cat([x, minigrad.zeros(2, 4)]), ValueError,
     r"^cat: tensor 1 has shape \(2, 4\) but tensor 0 has shape \(2, 3\)"),
    (lambda x: ops.cat([x, minigrad.zeros(3)], 0), ValueError, r"^cat: tensor 1 has shape \(3,\)"),
    (lambda x: ops.cat([x], 2), ValueError, "^cat: dim 2 is out of range"),
    (lambda x: ops.cat([minigrad.tensor(1.0)]), ValueError, "^cat: zero-dimensional"),
    (lambda x: ops.cat([]), TypeError, "^cat: expected a non-empty list"),
    (lambda x: ops.cat([x, x.data]), TypeError, "^cat: element 1 is a ndarray"),
    (lambda x: ops.stack([x, minigrad.zeros(3, 2)]), ValueError,
     r"^stack: tensor 1 has shape \(3, 2\) but tensor 0 has shape \(2, 3\)"),
    (lambda x: ops.pad(x, (1, 1, 1)), ValueError, r"^pad: padding \(1, 1, 1\) must have an even"),
    (lambda x: ops.pad(x, (1,) * 6), ValueError, "^pad: .*at most 2 \\* ndim = 4"),
    (lambda x: ops.pad(x, (3, 0), "reflect"), ValueError, "^pad: reflect padding .*size 3"),
    (lambda x: ops.pad(x, (-1, 0), "replicate"), ValueError, "^pad: replicate padding"),
    (lambda x: ops.pad(x, (4, 0), "circular"), ValueError, "^pad: circular padding"),
    (lambda x: ops.pad(x, (-4, 0)), ValueError, "^pad: padding .*crops more than the size 3"),
    (lambda x: ops.pad(x, (1, 1), "wrap"), ValueError, "^pad: mode 'wrap' is not one of"),
    (lambda x: ops.pad(x, (1, 1), "reflect", 2.0), ValueError, "^pad: mode 'reflect' does not"),
])
def test_bad_arguments_raise_errors_naming_the_op(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(minigrad.zeros(2, 3))
