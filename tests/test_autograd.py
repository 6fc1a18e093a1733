"""The engine: graph walk, accumulation, retain_graph, grad mode, saved arrays, anomaly mode."""

import numpy as np
import pytest
import torch

import minigrad
from minigrad.autograd import Function


def test_a_chain_of_ten_thousand_ops_backpropagates():
    x = minigrad.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 10_000, rtol=1e-9)


def test_reused_non_leaf_gets_the_sum_of_its_gradients():
    a = minigrad.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    ta = torch.tensor([1.5, -2.0], dtype=torch.float64, requires_grad=True)
    for x in (a, ta):
        b = x + x
        (b * b).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())
    np.testing.assert_allclose(a.grad.data, [12.0, -16.0])


def _two_backwards(lib, retain):
    x = lib.tensor([0.5, 3.0], requires_grad=True)
    y = (x * x).exp().sum()
    y.backward(retain_graph=retain)
    y.backward()
    return x.grad


def test_backward_twice_with_retain_graph_accumulates_like_torch():
    mine, theirs = _two_backwards(minigrad, True), _two_backwards(torch, True)
    np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-6)


def test_backward_twice_without_retain_graph_raises_runtime_error():
    with pytest.raises(RuntimeError, match="second time"):
        _two_backwards(minigrad, False)
    with pytest.raises(RuntimeError):
        _two_backwards(torch, False)


def test_gradients_accumulate_across_two_graphs():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0 + 2.0, 3.0 + 4.0])


def test_intermediate_gradients_do_not_leak_into_a_second_backward():
    # micrograd's bug: a stale y.grad makes the second pass give 96 instead of torch's 64
    x = minigrad.tensor(2.0, requires_grad=True)
    y = x * x
    z = y * y
    z.backward(retain_graph=True)
    z.backward()
    tx = torch.tensor(2.0, requires_grad=True)
    tz = (tx * tx) * (tx * tx)
    tz.backward(retain_graph=True)
    tz.backward()
    assert x.grad.item() == tx.grad.item() == 64.0


class Triple(Function):
    """y = 3x; backward records the id of each gradient it returns, or returns one array it
    keeps (`kept`), as a function with a cache might."""

    returned: list = []
    kept: np.ndarray | None = None

    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, g):
        dx = 3 * g if Triple.kept is None else Triple.kept
        Triple.returned.append(id(dx))
        return dx


def test_a_leaf_keeps_a_fresh_input_gradient_without_copying_it():
    Triple.returned, Triple.kept = [], None
    x = minigrad.ones(4, requires_grad=True)
    Triple.apply(x).backward(np.ones(4, np.float32))
    # a copy would be made while the returned array is alive, so it would have another id
    assert id(x.grad.data) == Triple.returned[0]
    np.testing.assert_array_equal(x.grad.data, 3.0)


def test_a_gradient_held_elsewhere_is_copied_into_the_leaf():
    Triple.returned, Triple.kept = [], np.full(4, 3.0, np.float32)
    x = minigrad.ones(4, requires_grad=True)
    Triple.apply(x).backward(np.ones(4, np.float32))
    x.grad.data[:] = 0  # must not reach the array the function keeps
    np.testing.assert_array_equal(Triple.kept, 3.0)
    Triple.kept = None


def test_leaves_never_share_a_gradient_array_with_each_other_or_the_seed():
    seed = np.ones(3, np.float32)
    a, b, c = (minigrad.ones(3, requires_grad=True) for _ in range(3))
    (a + b).backward(seed)  # add hands the same upstream array to both inputs
    (c + 0).backward(seed)  # and here the caller's own seed to c
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(c.grad.data, seed)
    a.grad.data[:] = 5
    np.testing.assert_array_equal(b.grad.data, 1.0)


def test_no_grad_records_nothing():
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.no_grad():
        y = x * 2 + 1
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_works_as_a_decorator():
    @minigrad.no_grad()
    def double(t):
        return t * 2

    y = double(minigrad.ones(2, requires_grad=True))
    assert y.grad_fn is None and not y.requires_grad and minigrad.is_grad_enabled()


def test_enable_grad_records_inside_no_grad():
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.no_grad():
        with minigrad.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None and z.grad_fn is None


class RecordingMul(Function):
    """y = a * b; backward records which input gradients it computed."""

    computed: list = []

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = g * b if ctx.needs_input_grad[0] else None
        db = g * a if ctx.needs_input_grad[1] else None
        RecordingMul.computed.append((da is not None, db is not None))
        return da, db


def test_needs_input_grad_lets_backward_skip_unneeded_gradients():
    RecordingMul.computed = []
    a, b = minigrad.ones(3, requires_grad=True), minigrad.ones(3)
    RecordingMul.apply(a, b).sum().backward()
    assert RecordingMul.computed == [(True, False)]
    assert a.grad is not None and b.grad is None


def test_saved_arrays_are_freed_after_backward_unless_retained():
    x = minigrad.ones(3, requires_grad=True)
    y = x * x
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved
    y.sum().backward()
    assert y.grad_fn._saved == ()


def test_backward_of_a_non_scalar_needs_a_gradient():
    y = minigrad.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="^backward: grad can be implicitly created only"):
        y.backward()
    y.backward(np.array([1.0, 2.0, 3.0]))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only floating point"):
        minigrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only floating point"):
        minigrad.arange(3).requires_grad_()


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = x * 2
    (y * z).sum().backward()
    np.testing.assert_allclose(y.grad.data, z.data)
    assert z.grad is None


def test_detach_shares_data_and_cuts_the_graph():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.data is y.data
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad.data, d.data)


@pytest.mark.parametrize("change", [lambda w: w.add_(1.0), lambda w: w.__setitem__(0, 5.0)])
def test_in_place_change_of_a_saved_tensor_raises_on_backward(change):
    x = minigrad.ones(3, requires_grad=True)
    w = minigrad.tensor([1.0, 2.0, 3.0])
    y = x * w
    change(w)
    with pytest.raises(RuntimeError, match="^Mul: an array saved for backward was modified"):
        y.sum().backward()


def test_detect_anomaly_names_log_of_a_negative_number_in_forward():
    x = minigrad.tensor([1.0, -1.0], requires_grad=True)
    with minigrad.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Log produced NaN or Inf in its forward"):
            minigrad.log(x)


class NaNBackward(Function):
    """y = x, with a broken backward that returns NaN."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return (g * np.nan,)


def test_detect_anomaly_names_the_op_whose_backward_first_gives_nan():
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.detect_anomaly():
        y = (NaNBackward.apply(x) * 2).sum()
        with pytest.raises(FloatingPointError, match="NaNBackward produced NaN .* backward"):
            y.backward()


def test_without_detect_anomaly_nan_gradients_pass_silently():
    x = minigrad.ones(2, requires_grad=True)
    NaNBackward.apply(x).sum().backward()
    assert np.isnan(x.grad.data).all()
