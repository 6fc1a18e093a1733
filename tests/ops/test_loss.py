"""cross_entropy, nll_loss, mse_loss and binary_cross_entropy_with_logits against torch and
finite differences: weights, pos_weight, ignore_index, label smoothing, probability targets and
every reduction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops.loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from tests.helpers import (
    check_backward_matches_torch,
    check_finite_differences,
    check_forward_matches_torch,
)
from tests.strategies import arrays, broadcastable_pair

reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def classification_cases(draw):
    """(logits, targets, kwargs): (C,), (N, C) or (N, C, d1[, d2]) logits, int64 targets with
    some set to ignore_index (at least one kept), optional class weights."""
    n_classes = draw(st.integers(1, 5))
    spatial = draw(st.sampled_from([(), (), (3,), (2, 2)]))
    batch = () if draw(st.integers(0, 5)) == 0 and not spatial else (draw(st.integers(1, 4)),)
    x = draw(arrays(batch[:1] + (n_classes,) + spatial))
    t = np.asarray(draw(arrays(batch + spatial, st.integers(0, n_classes - 1))), np.int64)
    ignore_index = draw(st.sampled_from([-100, 0]))
    dropped = np.asarray(draw(arrays(t.shape, st.booleans())), bool)
    dropped.flat[0] = False
    t = np.where(dropped, ignore_index, t) if ignore_index == -100 else t
    kwargs = dict(ignore_index=ignore_index, reduction=draw(reductions))
    if draw(st.booleans()):
        kwargs["weight"] = draw(arrays((n_classes,), st.floats(0.1, 2.0)))
    if ignore_index == 0 and kwargs["reduction"] == "mean" and not (t != 0).any():
        kwargs["reduction"] = "sum"  # every target ignored: 'mean' is 0/0 (own test below)
    return x, t, kwargs


def _with_torch_weight(kwargs):
    weight = kwargs.get("weight")
    return kwargs if weight is None else {**kwargs, "weight": torch.tensor(weight)}


def _cross_entropy_pair(kwargs):
    return (lambda x, t: cross_entropy(x, t, **kwargs),
            lambda x, t: TF.cross_entropy(x, t, **_with_torch_weight(kwargs)))


def _smoothing():
    return st.sampled_from([0.0, 0.0, 0.1, 0.45, 1.0])


@given(classification_cases(), _smoothing())
def test_cross_entropy_forward_matches_torch(case, smoothing):
    x, t, kwargs = case
    check_forward_matches_torch(*_cross_entropy_pair({**kwargs, "label_smoothing": smoothing}),
                                [x, t], atol=1e-12)


@given(classification_cases(), _smoothing())
def test_cross_entropy_backward_matches_torch(case, smoothing):
    x, t, kwargs = case
    check_backward_matches_torch(*_cross_entropy_pair({**kwargs, "label_smoothing": smoothing}),
                                 [x, t], atol=1e-12)


@given(classification_cases(), _smoothing())
def test_cross_entropy_backward_matches_finite_differences(case, smoothing):
    x, t, kwargs = case
    check_finite_differences(*_cross_entropy_pair({**kwargs, "label_smoothing": smoothing})[:1],
                             [x, t])


@st.composite
def probability_cases(draw):
    """(logits, probabilities of the same shape, kwargs) for float targets."""
    shape = draw(st.sampled_from([(4,), (3, 4), (2, 3, 2)]))
    kwargs = dict(reduction=draw(reductions), label_smoothing=draw(_smoothing()))
    if draw(st.booleans()):
        kwargs["weight"] = draw(arrays(shape[1:2] if len(shape) > 1 else shape,
                                       st.floats(0.1, 2.0)))
    return draw(arrays(shape)), draw(arrays(shape, st.floats(0, 1))), kwargs


@given(probability_cases())
def test_cross_entropy_probability_targets_match_torch(case):
    x, y, kwargs = case
    check_forward_matches_torch(*_cross_entropy_pair(kwargs), [x, y], atol=1e-12)
    check_backward_matches_torch(*_cross_entropy_pair(kwargs), [x, y], atol=1e-12)


@given(probability_cases())
def test_cross_entropy_probability_targets_match_finite_differences(case):
    x, y, kwargs = case
    check_finite_differences(_cross_entropy_pair(kwargs)[0], [x, y])


def test_cross_entropy_gradient_is_softmax_minus_smoothed_onehot(rng):
    x = minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = np.array([0, 3, 1])
    cross_entropy(x, t, reduction="sum", label_smoothing=0.2).backward()
    p = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    smoothed = 0.8 * np.eye(4)[t] + 0.2 / 4
    np.testing.assert_allclose(x.grad.data, p - smoothed, atol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    x = minigrad.tensor(np.array([[1000.0, 0.0, -1000.0]]), requires_grad=True)
    loss = cross_entropy(x, np.array([1]))
    loss.backward()
    np.testing.assert_allclose(loss.data, 1000.0)
    np.testing.assert_allclose(x.grad.data, [[1.0, -1.0, 0.0]], atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradient(smoothing):
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    pair = _cross_entropy_pair(dict(label_smoothing=smoothing, weight=np.ones(4)))
    check_forward_matches_torch(*pair, [x, t])
    check_backward_matches_torch(*pair, [x, t])
    xt = minigrad.tensor(x, requires_grad=True)
    cross_entropy(xt, t).backward()
    assert not xt.grad.data.any()


@given(classification_cases())
def test_nll_loss_forward_matches_torch(case):
    x, t, kwargs = case
    check_forward_matches_torch(lambda a, b: nll_loss(a, b, **kwargs),
                                lambda a, b: TF.nll_loss(a, b, **_with_torch_weight(kwargs)),
                                [x, t])


@given(classification_cases())
def test_nll_loss_backward_matches_torch(case):
    x, t, kwargs = case
    check_backward_matches_torch(lambda a, b: nll_loss(a, b, **kwargs),
                                 lambda a, b: TF.nll_loss(a, b, **_with_torch_weight(kwargs)),
                                 [x, t])


@given(classification_cases())
def test_nll_loss_backward_matches_finite_differences(case):
    x, t, kwargs = case
    check_finite_differences(lambda a, b: nll_loss(a, b, **kwargs), [x, t])


@pytest.mark.filterwarnings("ignore:Using a target size")  # torch warns when shapes broadcast
@given(broadcastable_pair(min_dims=1), reductions)
def test_mse_loss_matches_torch_for_input_and_target(pair, reduction):
    check_forward_matches_torch(lambda a, b: mse_loss(a, b, reduction=reduction),
                                lambda a, b: TF.mse_loss(a, b, reduction=reduction), pair)
    check_backward_matches_torch(lambda a, b: mse_loss(a, b, reduction=reduction),
                                 lambda a, b: TF.mse_loss(a, b, reduction=reduction), pair)


@given(broadcastable_pair(min_dims=1), reductions)
def test_mse_loss_backward_matches_finite_differences(pair, reduction):
    check_finite_differences(lambda a, b: mse_loss(a, b, reduction=reduction), pair)


@pytest.mark.parametrize("loss", [
    lambda x: cross_entropy(x, np.array([0, 2]), weight=np.ones(3), label_smoothing=0.1),
    lambda x: cross_entropy(x, np.full((2, 3), 0.3, np.float32)),
    lambda x: nll_loss(x, np.array([0, 2]), reduction="none"),
    lambda x: mse_loss(x, np.ones(3, np.float32)),
], ids=["cross_entropy", "cross_entropy_probs", "nll_loss", "mse_loss"])
def test_losses_keep_float32(rng, loss):
    x = minigrad.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    out = loss(x)
    out.backward(np.ones(out.shape, np.float32))
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


_LOGITS = minigrad.tensor(np.zeros((4, 3)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: cross_entropy(_LOGITS, np.array([0, 1, 3, 1])), ValueError,
     r"^cross_entropy: target 3 is out of bounds for 3 classes"),
    (lambda: cross_entropy(_LOGITS, np.array([0, -1, 2, 1])), ValueError,
     r"^cross_entropy: target -1 .* 3 classes"),
    (lambda: nll_loss(_LOGITS, np.array([0, 1, 7, 1])), ValueError,
     r"^nll_loss: target 7 .* 3 classes"),
    (lambda: cross_entropy(_LOGITS, np.array([0, 1, 2])), ValueError,
     r"^cross_entropy: input of shape \(4, 3\) needs a target of shape \(4,\), got \(3,\)"),
    (lambda: nll_loss(_LOGITS, np.zeros((4, 2), np.int64)), ValueError,
     r"^nll_loss: input of shape \(4, 3\) .*got \(4, 2\)"),
    (lambda: cross_entropy(minigrad.tensor(np.float64(1.0)), np.array(0)), ValueError,
     r"^cross_entropy: input must be"),
    (lambda: cross_entropy(_LOGITS, np.zeros(4, np.int64), reduction="avg"), ValueError,
     r"^cross_entropy: reduction .*'avg'"),
    (lambda: nll_loss(_LOGITS, np.zeros(4, np.int64), reduction="batchmean"), ValueError,
     r"^nll_loss: reduction"),
    (lambda: mse_loss(_LOGITS, _LOGITS, reduction="elementwise"), ValueError,
     r"^mse_loss: reduction"),
    (lambda: cross_entropy(_LOGITS, np.zeros(4)), TypeError,
     r"^cross_entropy: class-index targets must be integers, got float64"),
    (lambda: cross_entropy(_LOGITS, np.zeros((4, 2))), ValueError,
     r"^cross_entropy: float targets .*\(4, 3\), got \(4, 2\)"),
    (lambda: nll_loss(_LOGITS, np.zeros(4)), TypeError, r"^nll_loss: target .*float64"),
    (lambda: cross_entropy(_LOGITS, np.zeros(4, bool)), TypeError, r"^cross_entropy: target"),
    (lambda: cross_entropy(_LOGITS, np.zeros((4, 3)), ignore_index=1), ValueError,
     r"^cross_entropy: ignore_index=1"),
    (lambda: cross_entropy(_LOGITS, np.zeros(4, np.int64), label_smoothing=1.5), ValueError,
     r"^cross_entropy: label_smoothing .*1.5"),
    (lambda: cross_entropy(_LOGITS, np.zeros(4, np.int64), weight=np.ones(4)), ValueError,
     r"^cross_entropy: weight must have shape \(3,\) .*got \(4,\)"),
    (lambda: cross_entropy(_LOGITS.data, np.zeros(4, np.int64)), TypeError,
     r"^cross_entropy: input must be a Tensor"),
    (lambda: nll_loss(minigrad.tensor(np.zeros((4, 3), np.int64)), np.zeros(4, np.int64)),
     TypeError, r"^nll_loss: input must be floating point"),
    (lambda: mse_loss(_LOGITS, np.ones((2, 3))), ValueError,
     r"^mse_loss: input shape \(4, 3\) and target shape \(2, 3\)"),
    (lambda: mse_loss(_LOGITS, np.ones((4, 3), np.int64)), TypeError, r"^mse_loss: target"),
])
def test_losses_reject_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


@st.composite
def bce_cases(draw):
    """(logits, targets, kwargs): any shape, probability targets, optional weight and
    pos_weight broadcasting along the trailing axes."""
    shape = draw(st.sampled_from([(), (3,), (4, 3), (2, 3, 2)]))
    x = draw(arrays(shape))
    y = draw(arrays(shape, st.floats(0, 1)))
    kwargs = dict(reduction=draw(reductions))
    for name in ("weight", "pos_weight"):
        if draw(st.booleans()):
            trailing = shape[len(shape) - draw(st.integers(0, len(shape))):]
            kwargs[name] = draw(arrays(trailing, st.floats(0.1, 3.0)))
    return x, y, kwargs


def _bce_pair(kwargs):
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                    for k, v in kwargs.items()}
    return (lambda x, y: binary_cross_entropy_with_logits(x, y, **kwargs),
            lambda x, y: TF.binary_cross_entropy_with_logits(x, y, **torch_kwargs))


@given(bce_cases())
def test_binary_cross_entropy_with_logits_matches_torch(case):
    x, y, kwargs = case
    check_forward_matches_torch(*_bce_pair(kwargs), [x, y])
    check_backward_matches_torch(*_bce_pair(kwargs), [x, y])


@given(bce_cases())
def test_binary_cross_entropy_with_logits_backward_matches_finite_differences(case):
    x, y, kwargs = case
    check_finite_differences(_bce_pair(kwargs)[0], [x, y])


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x = minigrad.tensor([-1e4, 1e4, 0.0], requires_grad=True)
    loss = binary_cross_entropy_with_logits(x, minigrad.tensor([1.0, 0.0, 0.5]), reduction="sum")
    loss.backward()
    assert np.isclose(loss.item(), 2e4 + np.log(2), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [-1.0, 1.0, 0.0])


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_ignored_rows_with_minus_inf_logits_are_skipped_as_torch(loss, smoothing):
    x = np.array([[0.0, -np.inf, 1.0], [1.0, 2.0, 3.0], [-np.inf, 0.0, 1.0]])
    target = np.array([-100, 1, -100])
    kwargs = {"label_smoothing": smoothing} if loss == "cross_entropy" else {}
    ours = minigrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out = getattr(minigrad.nn.functional, loss)(ours, target, **kwargs)
    expected = getattr(TF, loss)(theirs, torch.tensor(target), **kwargs)
    out.backward()
    expected.backward()
    assert np.isfinite(out.item()) and np.isclose(out.item(), expected.item())
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("size_average, reduce, reduction", [
    (None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, True, "sum"),
])
def test_deprecated_size_average_and_reduce_choose_torch_reduction(size_average, reduce,
                                                                     reduction, rng):
    x, t = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    with pytest.warns(UserWarning, match="deprecated"):
        out = cross_entropy(minigrad.tensor(x), t, size_average=size_average, reduce=reduce)
    np.testing.assert_allclose(out.data, cross_entropy(minigrad.tensor(x), t,
                                                       reduction=reduction).data)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_weight_matches_torch(reduction, rng):
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4))
    check_forward_matches_torch(
        lambda a, b, c: mse_loss(a, b, reduction=reduction, weight=c),
        lambda a, b, c: TF.mse_loss(a, b, reduction=reduction, weight=c), [x, y, w])
    check_backward_matches_torch(
        lambda a, b: mse_loss(a, b, reduction=reduction, weight=minigrad.tensor(w)),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction, weight=torch.tensor(w)), [x, y])


@pytest.mark.parametrize("call, error, message", [
    (lambda: binary_cross_entropy_with_logits(_LOGITS, np.ones(3)), ValueError,
     r"^binary_cross_entropy_with_logits: target size \(3,\) must be the same as input size"),
    (lambda: binary_cross_entropy_with_logits(_LOGITS, np.ones((4, 3), np.int64)), TypeError,
     r"^binary_cross_entropy_with_logits: input and target must be floating point"),
    (lambda: binary_cross_entropy_with_logits(_LOGITS, _LOGITS, pos_weight=np.ones(4)),
     ValueError, r"^binary_cross_entropy_with_logits: pos_weight of shape \(4,\)"),
    (lambda: binary_cross_entropy_with_logits(_LOGITS, _LOGITS, weight=np.ones((2, 4, 3))),
     ValueError, r"^binary_cross_entropy_with_logits: weight of shape \(2, 4, 3\)"),
    (lambda: binary_cross_entropy_with_logits(
        _LOGITS, _LOGITS, weight=minigrad.ones(3, dtype="float64", requires_grad=True)),
     RuntimeError, r"^binary_cross_entropy_with_logits: not differentiable .* weight"),
    (lambda: binary_cross_entropy_with_logits(_LOGITS, _LOGITS, reduction="avg"), ValueError,
     r"^binary_cross_entropy_with_logits: reduction"),
    (lambda: mse_loss(_LOGITS, _LOGITS, weight=np.ones(3)), ValueError,
     r"^mse_loss: weight must have the input's shape"),
    (lambda: mse_loss(_LOGITS, _LOGITS, "sum"), TypeError,
     r"^mse_loss: size_average must be a bool or None, got 'sum' \(pass .* reduction='sum'\)"),
])
def test_new_loss_keywords_reject_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
