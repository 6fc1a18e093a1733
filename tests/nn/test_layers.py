"""Each layer against its torch twin with copied weights (float64): forward, the gradients of
its parameters, BatchNorm's running statistics; constructor checks and default init."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from tests.helpers import assert_close
from tests.strategies import shapes


def twins(spec: str) -> tuple[nn.Module, torch.nn.Module]:
    """`nn.<spec>` in minigrad and torch, float64, minigrad holding torch's weights."""
    mg = eval("nn." + spec).double()
    th = eval("torch.nn." + spec).double()
    mg.load_state_dict({k: v.numpy() for k, v in th.state_dict().items()})
    return mg, th


def check_layer(spec: str, shape: tuple[int, ...], seed: int = 0, scale: float = 1.0) -> None:
    """Forward, input gradient and parameter gradients of `spec` equal torch's."""
    mg, th = twins(spec)
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape)
    mg_x, th_x = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mg_y, th_y = mg(mg_x), th(th_x)
    assert_close(mg_y, th_y, atol=1e-10, rtol=1e-7, name=f"{spec} forward")
    upstream = rng.standard_normal(mg_y.shape)
    mg_y.backward(upstream)
    th_y.backward(torch.from_numpy(upstream))
    assert_close(mg_x.grad, th_x.grad, atol=1e-10, rtol=1e-7, name=f"{spec} input grad")
    th_params = dict(th.named_parameters())
    for name, param in mg.named_parameters():
        assert_close(param.grad, th_params[name].grad, atol=1e-10, rtol=1e-7, name=name)


CONV_SPECS = [
    "Conv2d(4, 6, 3)",
    "Conv2d(4, 6, 3, stride=2, padding=1, bias=False)",
    "Conv2d(4, 4, 3, padding=2, dilation=2, groups=4)",
    "Conv2d(4, 6, (1, 3), stride=(2, 1), padding=(0, 1), groups=2)",
    "Conv2d(4, 8, 1)",
    "Conv2d(4, 4, 4, padding='same')",
    "Conv2d(4, 4, 3, padding='valid')",
    "Conv2d(4, 4, 3, padding=1, padding_mode='reflect')",
    "Conv2d(4, 4, (2, 3), padding='same', padding_mode='replicate')",
    "Conv2d(4, 2, 3, stride=2, padding=(1, 2), padding_mode='circular')",
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's notice
@pytest.mark.parametrize("spec", CONV_SPECS)
def test_conv2d_matches_torch(spec):
    check_layer(spec, (2, 4, 7, 6))


@pytest.mark.parametrize("spec", ["Linear(5, 3)", "Linear(5, 2, bias=False)"])
def test_linear_matches_torch(spec):
    check_layer(spec, (2, 3, 5))


ELEMENTWISE_SPECS = ["ReLU()", "ReLU6()", "Hardsigmoid()", "Hardswish()",
                     "Sigmoid()", "SiLU()", "Tanh()", "Softmax(dim=1)", "Softmax(dim=-1)",
                     "LogSoftmax(dim=0)", "Identity(7, foo=1)", "Flatten()", "Flatten(0, 2)"]


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS)
@settings(max_examples=8)
@given(shape=shapes(min_dims=3, max_dims=4), seed=st.integers(0, 2**31))
def test_activation_and_shape_layers_match_torch(spec, shape, seed):
    # values ~ N(0, 4²) cover every piece of relu6/hardswish; kinks are hit with probability 0
    check_layer(spec, shape, seed, scale=4.0)


@pytest.mark.parametrize("spec", ["ReLU", "ReLU6", "Hardswish", "Hardsigmoid", "SiLU"])
def test_inplace_flag_is_accepted_and_ignored(spec):
    x = minigrad.tensor([-4.0, -1.0, 2.0, 7.0])
    before = x.data.copy()
    y = getattr(nn, spec)(inplace=True)(x)
    assert y is not x
    np.testing.assert_array_equal(x.data, before)


def test_softmax_without_dim_uses_torch_legacy_choice():
    mg, th = twins("Softmax()")
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = mg(minigrad.tensor(x))
    with pytest.warns(UserWarning):
        expected = th(torch.from_numpy(x))
    assert_close(y, expected)


POOL_SPECS = ["MaxPool2d(2)", "MaxPool2d(3, stride=2, padding=1)",
              "MaxPool2d((2, 3), dilation=(1, 2), ceil_mode=True)", "AvgPool2d(2)",
              "AvgPool2d(3, 2, 1, count_include_pad=False)", "AvgPool2d(2, ceil_mode=True)",
              "AdaptiveAvgPool2d(1)", "AdaptiveAvgPool2d((3, None))", "AdaptiveAvgPool2d(4)"]


@pytest.mark.parametrize("spec", POOL_SPECS)
def test_pooling_matches_torch(spec):
    check_layer(spec, (2, 3, 7, 9))


def test_max_pool_returns_indices_like_torch():
    mg, th = twins("MaxPool2d(2, return_indices=True)")
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4))
    (y, idx), (ty, tidx) = mg(minigrad.tensor(x)), th(torch.from_numpy(x))
    assert_close(y, ty)
    np.testing.assert_array_equal(idx.data, tidx.numpy())


BATCHNORM_SPECS = [
    ("BatchNorm2d(3)", (4, 3, 5, 2)), ("BatchNorm2d(3, momentum=None)", (4, 3, 2, 3)),
    ("BatchNorm2d(3, affine=False, eps=1e-3)", (2, 3, 3, 3)),
    ("BatchNorm2d(3, bias=False)", (2, 3, 3, 3)),
    ("BatchNorm1d(3)", (6, 3)), ("BatchNorm1d(3, momentum=0.5)", (4, 3, 5)),
]


@pytest.mark.parametrize(("spec", "shape"), BATCHNORM_SPECS)
def test_batchnorm_training_steps_and_running_stats_match_torch(spec, shape):
    mg, th = twins(spec)
    for step in range(3):
        check_batchnorm_step(mg, th, shape, seed=step)
    for name, buffer in th.named_buffers():
        assert_close(getattr(mg, name), buffer, atol=1e-12, rtol=1e-10, name=name)
    assert int(mg.num_batches_tracked.item()) == 3 and mg.num_batches_tracked.dtype == np.int64
    mg.eval(), th.eval()
    check_batchnorm_step(mg, th, shape, seed=9)
    assert int(mg.num_batches_tracked.item()) == 3  # eval does not count


def check_batchnorm_step(mg, th, shape, seed):
    x = 3.0 + 2.0 * np.random.default_rng(seed).standard_normal(shape)
    mg_x, th_x = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mg_y, th_y = mg(mg_x), th(th_x)
    assert_close(mg_y, th_y, atol=1e-10, rtol=1e-7, name="forward")
    upstream = np.random.default_rng(seed + 100).standard_normal(shape)
    mg_y.backward(upstream)
    th_y.backward(torch.from_numpy(upstream))
    assert_close(mg_x.grad, th_x.grad, atol=1e-10, rtol=1e-7, name="input grad")
    th_params = dict(th.named_parameters())
    for name, param in mg.named_parameters():
        assert_close(param.grad, th_params[name].grad, atol=1e-10, rtol=1e-7, name=name)
        param.grad, th_params[name].grad = None, None


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    mg, th = twins("BatchNorm2d(2, track_running_stats=False)")
    assert mg.running_mean is None and list(mg.state_dict()) == ["weight", "bias"]
    mg.eval(), th.eval()
    check_batchnorm_step(mg, th, (3, 2, 2, 2), seed=4)


def test_batchnorm_rejects_bad_input_without_counting_it():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 3D"):
        bn(minigrad.randn(3, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(minigrad.randn(1, 3, 1, 1))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_var.data, 1.0)
    with pytest.raises(ValueError, match="BatchNorm1d: expected 2D or 3D input"):
        nn.BatchNorm1d(3)(minigrad.randn(2, 3, 1, 1))


def test_dropout_zeroes_and_rescales_in_training_only():
    minigrad.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = minigrad.ones(200, 100)
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert drop.eval()(x) is x
    with pytest.raises(ValueError, match="Dropout: probability has to be between 0 and 1"):
        nn.Dropout(1.5)


@pytest.mark.parametrize(("spec", "message"), [
    ("Conv2d(4, 6, 3, groups=4)", "out_channels=6 must be divisible by groups=4"),
    ("Conv2d(3, 6, 3, groups=2)", "in_channels=3 must be divisible by groups=2"),
    ("Conv2d(4, 4, 3, stride=2, padding='same')", "padding='same' needs stride 1"),
    ("Conv2d(4, 4, 3, padding='full')", "padding must be an int, a pair, 'same' or 'valid'"),
    ("Conv2d(4, 4, 3, padding_mode='mirror')", "padding_mode must be one of"),
    ("Conv2d(4, 4, 0)", "kernel_size must be ≥ 1"),
    ("Conv2d(0, 4, 3)", "in_channels must be positive"),
    ("Linear(3, 0)", "out_features must be positive"),
    ("BatchNorm2d(3, momentum=2.0)", "momentum must be in"),
    ("MaxPool2d(2, padding=2)", "padding 2 must be at most half"),
    ("Conv2d(4, 4, 3, device='cuda')", "CPU only"),
])
def test_constructors_reject_bad_arguments(spec, message):
    with pytest.raises(ValueError, match=message):
        eval("nn." + spec)


def test_constructors_reject_bad_types():
    with pytest.raises(TypeError, match=r"Conv2d: stride must be an int or a pair"):
        nn.Conv2d(4, 4, 3, stride=1.5)
    with pytest.raises(TypeError, match="Linear: dtype must be a floating point dtype"):
        nn.Linear(2, 2, dtype=minigrad.int64)


@pytest.mark.parametrize(("layer", "fan_in"), [
    (lambda: nn.Conv2d(64, 96, 3, groups=2), 32 * 9),
    (lambda: nn.Conv2d(64, 64, 5, groups=64), 25),
    (lambda: nn.Linear(300, 200), 300),
])
def test_default_init_is_torchs_uniform(layer, fan_in):
    module = layer()
    bound = 1 / math.sqrt(fan_in)
    for tensor in (module.weight.data, module.bias.data):
        assert tensor.dtype == np.float32
        assert np.abs(tensor).max() <= bound
        assert np.abs(tensor).max() > 0.9 * bound
    # U(−b, b) has standard deviation b/√3
    assert abs(module.weight.data.std() / (bound / math.sqrt(3)) - 1) < 0.05


def test_default_init_is_seeded_and_follows_dtype():
    minigrad.manual_seed(5)
    a = nn.Conv2d(3, 4, 3, dtype=minigrad.float64)
    minigrad.manual_seed(5)
    b = nn.Conv2d(3, 4, 3, dtype="float64")
    assert a.weight.dtype == np.float64
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    bn = nn.BatchNorm2d(4)
    assert np.all(bn.weight.data == 1) and np.all(bn.bias.data == 0)
    assert np.all(bn.running_var.data == 1) and bn.num_batches_tracked.shape == ()
