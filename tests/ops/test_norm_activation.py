"""BatchNorm fused with its activation (`batch_norm_activation`): against torch's batch_norm
then the activation, against float64 finite differences, and bit for bit against minigrad's
own two ops; the kinks; bad input; and `Conv2dNormActivation`, which uses it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.models import Conv2dNormActivation
from minigrad.ops.activation import hardswish, relu, relu6
from minigrad.ops.norm import BatchNormFunction, batch_norm, batch_norm_activation
from tests import helpers
from tests.ops.test_norm import batch_norm_inputs, running_stats

ACTIVATIONS = {"relu": (relu, TF.relu), "relu6": (relu6, TF.relu6),
               "hardswish": (hardswish, TF.hardswish)}
KINKS = {"relu": (0.0,), "relu6": (0.0, 6.0), "hardswish": (-3.0, 3.0)}
activations = st.sampled_from(sorted(ACTIVATIONS))


def fused_and_reference(activation: str, stats=None):
    """(minigrad's fused op, torch's batch_norm then activation) as functions of (x, w, b);
    train mode without running statistics when stats is None, else eval mode with them."""
    training = stats is None
    mean, var = (None, None) if training else stats
    torch_activation = ACTIVATIONS[activation][1]

    def mg(x, w, b):
        return batch_norm_activation(x, mean, var, w, b, training=training,
                                     activation=activation)

    def th(x, w, b):
        stats_t = (None, None) if training else (torch.tensor(mean), torch.tensor(var))
        return torch_activation(TF.batch_norm(x, *stats_t, w, b, training=training))

    return mg, th


def _normalised(x, w, b, stats):
    """The BatchNorm output in float64, to keep finite differences away from the kinks."""
    axes = (0, *range(2, x.ndim))
    column = (-1,) + (1,) * (x.ndim - 2)
    if stats is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = stats
    return ((x - mean.reshape(column)) / np.sqrt(var.reshape(column) + 1e-5)
            * w.reshape(column) + b.reshape(column))


@given(case=batch_norm_inputs(), activation=activations, training=st.booleans(), data=st.data())
def test_fused_forward_and_backward_match_torch(case, activation, training, data):
    stats = None if training else data.draw(running_stats(case[0].shape[1]))
    mg, th = fused_and_reference(activation, stats)
    helpers.check_forward_matches_torch(mg, th, list(case))
    helpers.check_backward_matches_torch(mg, th, list(case), atol=1e-9)


@given(case=batch_norm_inputs(), activation=activations, training=st.booleans(), data=st.data())
def test_fused_backward_matches_finite_differences(case, activation, training, data):
    stats = None if training else data.draw(running_stats(case[0].shape[1]))
    u = _normalised(*case, stats)
    # away from the kinks, where the difference quotient straddles two slopes
    assume(all(np.abs(u - kink).min() > 1e-3 for kink in KINKS[activation]))
    mg, _ = fused_and_reference(activation, stats)
    helpers.check_finite_differences(mg, list(case))


def _two_ops_and_fused(activation, arrays, training, dtype, affine=True):
    """Outputs, gradients and running statistics of batch_norm then the activation, and of
    the fused op, on the same float inputs and upstream gradient."""
    results = []
    upstream = np.random.default_rng(1).standard_normal(arrays[0].shape).astype(dtype)
    for fused in (False, True):
        x, w, b = helpers.to_minigrad([a.astype(dtype) for a in arrays])
        w, b = (w, b) if affine else (None, None)
        channels = arrays[0].shape[1]
        stats = [np.full(channels, 0.25, dtype), np.full(channels, 2.0, dtype)]
        args = (x, *stats, w, b, training, 0.1, 1e-5)
        y = (batch_norm_activation(*args, activation=activation) if fused
             else ACTIVATIONS[activation][0](batch_norm(*args)))
        y.backward(upstream)
        grads = [t.grad for t in (x, w, b) if t is not None]
        results.append([y.data, *grads, *stats])
    return results


@given(case=batch_norm_inputs(), activation=activations, training=st.booleans(),
       affine=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_fused_equals_the_two_ops_bit_for_bit(case, activation, training, affine, dtype):
    separate, fused = _two_ops_and_fused(activation, case, training, dtype, affine)
    for a, b in zip(separate, fused):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_fused_in_batch_chunks_equals_the_two_ops(monkeypatch, threads, activation):
    # one sample per chunk, shared out over the threads however small the work
    monkeypatch.setattr(minigrad.fast.threads, "CHUNK_BYTES", 1)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    arrays = [np.random.default_rng(2).normal(0.5, 3.0, (5, 3, 4, 4)),
              np.array([1.5, -0.5, 2.0]), np.array([0.5, 0.0, -1.0])]
    for training in (True, False):
        separate, fused = _two_ops_and_fused(activation, arrays, training, np.float64)
        for a, b in zip(separate, fused):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_fused_gradient_at_the_kinks_matches_torch(activation):
    # eval mode with μ = 0 and σ² + eps = 1: the BatchNorm output is x itself, exactly on
    # every kink, and just either side of it
    kinks = np.array(KINKS[activation])
    values = np.concatenate([kinks, kinks - 0.5, kinks + 0.5, [-7.0, 7.0]])
    x = values.reshape(1, 1, -1)
    mean, var = np.zeros(1), np.full(1, 0.75)
    mg_x, th_x = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = batch_norm_activation(mg_x, mean, var, training=False, eps=0.25, activation=activation)
    expected = ACTIVATIONS[activation][1](
        TF.batch_norm(th_x, torch.tensor(mean), torch.tensor(var), training=False, eps=0.25))
    y.backward(np.ones_like(x))
    expected.backward(torch.ones_like(th_x))
    # between the kinks torch's slope formula may round differently in the last bit; at a
    # kink the one-sided choices differ by far more than the tolerance
    np.testing.assert_allclose(y.data, expected.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(mg_x.grad.data, th_x.grad.numpy(), rtol=1e-12, atol=0)


def test_fused_notices_an_in_place_change_to_its_output():
    x = minigrad.tensor(np.random.default_rng(3).standard_normal((4, 2, 3)), requires_grad=True)
    y = batch_norm_activation(x, None, None, training=True, activation="relu6")
    y.data[...] = 1.0
    y._bump_version()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward(np.ones(y.shape))


def test_fused_rejects_an_unknown_activation_before_any_work():
    x = minigrad.tensor(np.ones((2, 3, 2, 2)))
    running_mean = np.zeros(3)
    with pytest.raises(ValueError, match="batch_norm_activation: activation must be one of"):
        batch_norm_activation(x, running_mean, np.ones(3), training=True, activation="gelu")
    np.testing.assert_array_equal(running_mean, 0.0)


def test_fused_names_itself_in_batch_norm_errors():
    x = minigrad.tensor(np.ones((2, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"batch_norm_activation: weight has shape \(4,\)"):
        batch_norm_activation(x, None, None, minigrad.ones(4, dtype=x.dtype), training=True)


def _step(block, x, upstream, layer_by_layer):
    """Output, parameter gradients and state after one forward and backward of the block,
    called as a whole or (as nn.Sequential would) one layer after another."""
    block.zero_grad()
    y = x
    for layer in (block if layer_by_layer else [block]):
        y = layer(y)
    y.backward(upstream)
    state = {key: np.array(value) for key, value in block.state_dict().items()}
    return y, [p.grad.data for p in block.parameters()], state


@pytest.mark.parametrize("activation_layer", [nn.ReLU, nn.ReLU6, nn.Hardswish])
@pytest.mark.parametrize("training", [True, False])
def test_conv_norm_activation_runs_fused_and_equals_its_layers_in_turn(activation_layer,
                                                                        training):
    rng = np.random.default_rng(4)
    block = Conv2dNormActivation(3, 4, 3, activation_layer=activation_layer)
    block.train(training)
    x = minigrad.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    upstream = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    before = {key: np.array(value) for key, value in block.state_dict().items()}
    y_fused, grads_fused, state_fused = _step(block, x, upstream, layer_by_layer=False)
    block.load_state_dict(before)
    y_layers, grads_layers, state_layers = _step(block, x, upstream, layer_by_layer=True)
    assert y_fused.grad_fn.function is BatchNormFunction
    assert y_layers.grad_fn.function is not BatchNormFunction
    np.testing.assert_array_equal(y_fused.data, y_layers.data)
    for a, b in zip(grads_fused, grads_layers):
        np.testing.assert_array_equal(a, b)
    for key in before:
        np.testing.assert_array_equal(state_fused[key], state_layers[key])


def test_conv_norm_activation_with_a_replaced_activation_runs_unfused():
    block = Conv2dNormActivation(3, 4, 1)
    block[2] = nn.Hardsigmoid()
    x = minigrad.tensor(np.random.default_rng(5).standard_normal((2, 3, 4, 4)).astype(np.float32))
    y = block(x)
    assert y.grad_fn.function is not BatchNormFunction
    expected = TF.hardsigmoid(torch.tensor(block[1](block[0](x)).data))
    np.testing.assert_array_equal(y.data, expected.numpy())


def test_conv_norm_activation_with_a_wrapped_forward_runs_unfused():
    block = Conv2dNormActivation(3, 4, 1)
    calls = []
    relu6_forward = block[2].forward
    block[2].forward = lambda x: calls.append(x.shape) or relu6_forward(x)
    y = block(minigrad.tensor(np.ones((2, 3, 4, 4), np.float32)))
    assert calls == [(2, 4, 4, 4)]
    assert y.grad_fn is None or y.grad_fn.function is not BatchNormFunction
