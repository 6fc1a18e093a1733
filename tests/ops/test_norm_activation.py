"""BatchNorm followed by its activation, as every MobileNet block runs them: against torch's
batch_norm then the activation, against float64 finite differences, at the kinks; and
`Conv2dNormActivation`, which runs its layers in turn (no hidden fused op). Every test runs on
the reference kernels and on the fast ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.models import Conv2dNormActivation
from tests import helpers
from tests.ops.test_norm import batch_norm_inputs, running_stats

pytestmark = pytest.mark.usefixtures("kernels")

ACTIVATIONS = {"relu": (F.relu, TF.relu), "relu6": (F.relu6, TF.relu6),
               "hardswish": (F.hardswish, TF.hardswish)}
KINKS = {"relu": (0.0,), "relu6": (0.0, 6.0), "hardswish": (-3.0, 3.0)}
activations = st.sampled_from(sorted(ACTIVATIONS))


def norm_then_activation(activation: str, stats=None):
    """(minigrad's, torch's) batch_norm then activation as functions of (x, w, b); train mode
    without running statistics when stats is None, else eval mode with them."""
    training = stats is None
    mean, var = (None, None) if training else stats
    mg_activation, torch_activation = ACTIVATIONS[activation]

    def mg(x, w, b):
        return mg_activation(F.batch_norm(x, mean, var, w, b, training=training))

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
def test_norm_then_activation_forward_and_backward_match_torch(case, activation, training, data):
    stats = None if training else data.draw(running_stats(case[0].shape[1]))
    mg, th = norm_then_activation(activation, stats)
    helpers.check_forward_matches_torch(mg, th, list(case))
    helpers.check_backward_matches_torch(mg, th, list(case), atol=1e-9)


@given(case=batch_norm_inputs(), activation=activations, training=st.booleans(), data=st.data())
def test_norm_then_activation_backward_matches_finite_differences(case, activation, training,
                                                                  data):
    stats = None if training else data.draw(running_stats(case[0].shape[1]))
    u = _normalised(*case, stats)
    # away from the kinks, where the difference quotient straddles two slopes
    assume(all(np.abs(u - kink).min() > 1e-3 for kink in KINKS[activation]))
    mg, _ = norm_then_activation(activation, stats)
    helpers.check_finite_differences(mg, list(case))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_norm_then_activation_gradient_at_the_kinks_matches_torch(activation):
    # eval mode with μ = 0 and σ² + eps = 1: the BatchNorm output is x itself, exactly on
    # every kink, and just either side of it
    kinks = np.array(KINKS[activation])
    values = np.concatenate([kinks, kinks - 0.5, kinks + 0.5, [-7.0, 7.0]])
    x = values.reshape(1, 1, -1)
    mean, var = np.zeros(1), np.full(1, 0.75)
    mg_x, th_x = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = ACTIVATIONS[activation][0](F.batch_norm(mg_x, mean, var, training=False, eps=0.25))
    expected = ACTIVATIONS[activation][1](
        TF.batch_norm(th_x, torch.tensor(mean), torch.tensor(var), training=False, eps=0.25))
    y.backward(np.ones_like(x))
    expected.backward(torch.ones_like(th_x))
    # between the kinks torch's slope formula may round differently in the last bit; at a
    # kink the one-sided choices differ by far more than the tolerance
    np.testing.assert_allclose(y.data, expected.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(mg_x.grad.data, th_x.grad.numpy(), rtol=1e-12, atol=0)


def _step(block, x, upstream, layer_by_layer):
    """Output, parameter gradients and state after one forward and backward of the block,
    called as a whole or one layer after another."""
    block.zero_grad()
    y = x
    for layer in (block if layer_by_layer else [block]):
        y = layer(y)
    y.backward(upstream)
    state = {key: np.array(value) for key, value in block.state_dict().items()}
    return y, [p.grad.data for p in block.parameters()], state


@pytest.mark.parametrize("activation_layer", [nn.ReLU, nn.ReLU6, nn.Hardswish])
@pytest.mark.parametrize("training", [True, False])
def test_conv_norm_activation_runs_its_layers_in_turn(activation_layer, training):
    rng = np.random.default_rng(4)
    block = Conv2dNormActivation(3, 4, 3, activation_layer=activation_layer)
    block.train(training)
    x = minigrad.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    upstream = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    before = {key: np.array(value) for key, value in block.state_dict().items()}
    y_block, grads_block, state_block = _step(block, x, upstream, layer_by_layer=False)
    block.load_state_dict(before)
    y_layers, grads_layers, state_layers = _step(block, x, upstream, layer_by_layer=True)
    # the graph's last node is the activation's own op: no fused BatchNorm+activation
    assert y_block.grad_fn.function is y_layers.grad_fn.function
    assert y_block.grad_fn.parents[0].function.__name__ == "BatchNormFunction"
    np.testing.assert_array_equal(y_block.data, y_layers.data)
    for a, b in zip(grads_block, grads_layers):
        np.testing.assert_array_equal(a, b)
    for key in before:
        np.testing.assert_array_equal(state_block[key], state_layers[key])


def test_conv_norm_activation_calls_a_replaced_forward():
    block = Conv2dNormActivation(3, 4, 1)
    calls = []
    relu6_forward = block[2].forward
    block[2].forward = lambda x: calls.append(x.shape) or relu6_forward(x)
    block(minigrad.tensor(np.ones((2, 3, 4, 4), np.float32)))
    assert calls == [(2, 4, 4, 4)]
