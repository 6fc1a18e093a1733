"""nn.init: gains and fans equal torch's; sample bounds, means and standard deviations match
the formulas; fills are in place, seeded, dtype-preserving and record no graph."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.nn import Parameter, init

WEIGHT_SHAPES = [(300, 200), (96, 32, 3, 3), (512, 1, 5, 5), (100, 16, 3, 1, 2)]


@pytest.fixture(autouse=True)
def _seeded():
    """Sample statistics are checked against tolerances: keep every draw reproducible."""
    minigrad.manual_seed(0)


def big(shape=(256, 128, 3, 3), dtype=np.float64) -> minigrad.Tensor:
    return minigrad.zeros(*shape, dtype=dtype)


def close(value: float, expected: float, rel: float = 0.03) -> bool:
    return abs(value - expected) <= rel * abs(expected)


@pytest.mark.parametrize(("nonlinearity", "param"), [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", math.sqrt(5)), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_rejects_unknown_input():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True is not a valid number"):
        init.calculate_gain("leaky_relu", True)


@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple))
def test_fans_match_torch(shape):
    fans = init._calculate_fan_in_and_fan_out(minigrad.zeros(*shape))
    assert fans == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_of_grouped_and_depthwise_conv_weights():
    # Conv2d(64, 96, 3, groups=2) has weight (96, 32, 3, 3); a depthwise 5×5 has (64, 1, 5, 5)
    assert init._calculate_fan_in_and_fan_out(big((96, 32, 3, 3))) == (32 * 9, 96 * 9)
    assert init._calculate_fan_in_and_fan_out(big((64, 1, 5, 5))) == (25, 64 * 25)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(big((5,)))


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
@pytest.mark.parametrize(("a", "mode", "nonlinearity"), [
    (0, "fan_in", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"), (0.1, "fan_out", "leaky_relu"),
    (0, "fan_out", "tanh")])
def test_kaiming_uniform_bounds_and_spread(shape, a, mode, nonlinearity):
    w = init.kaiming_uniform_(big(shape), a=a, mode=mode, nonlinearity=nonlinearity)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    assert close(w.data.std(), bound / math.sqrt(3))
    assert abs(w.data.mean()) < 0.05 * bound


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
@pytest.mark.parametrize(("mode", "nonlinearity"), [("fan_in", "relu"), ("fan_out", "relu"),
                                                    ("fan_in", "linear")])
def test_kaiming_normal_std(shape, mode, nonlinearity):
    w = init.kaiming_normal_(big(shape), mode=mode, nonlinearity=nonlinearity)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    std = torch.nn.init.calculate_gain(nonlinearity) / math.sqrt(
        fan_in if mode == "fan_in" else fan_out)
    assert close(w.data.std(), std) and abs(w.data.mean()) < 0.05 * std


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_bounds_and_std(shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    w = init.xavier_uniform_(big(shape), gain=gain)
    assert np.abs(w.data).max() <= math.sqrt(3) * std and close(w.data.std(), std)
    w = init.xavier_normal_(big(shape), gain=gain)
    assert close(w.data.std(), std) and abs(w.data.mean()) < 0.05 * std


def test_uniform_and_normal_use_their_arguments():
    w = init.uniform_(big(), -0.5, 1.5)
    assert w.data.min() >= -0.5 and w.data.max() < 1.5
    assert close(w.data.mean(), 0.5) and close(w.data.std(), 2 / math.sqrt(12))
    w = init.normal_(big(), mean=3.0, std=0.5)
    assert close(w.data.mean(), 3.0, 0.002) and close(w.data.std(), 0.5)
    with pytest.raises(ValueError, match="normal_: std must be non-negative"):
        init.normal_(big(), std=-1.0)


def truncated_normal_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std²) restricted to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-t * t / 2) / math.sqrt(2 * math.pi) for t in (alpha, beta)]
    # Φ(β) − Φ(α) through erfc of the tail side, so that far tails do not cancel
    if beta <= 0:
        mass = 0.5 * (math.erfc(-beta / math.sqrt(2)) - math.erfc(-alpha / math.sqrt(2)))
    else:
        mass = 0.5 * (math.erfc(alpha / math.sqrt(2)) - math.erfc(beta / math.sqrt(2)))
    shift = (pdf[0] - pdf[1]) / mass
    var = 1 + (alpha * pdf[0] - beta * pdf[1]) / mass - shift**2
    return mean + std * shift, std * math.sqrt(var)


@pytest.mark.parametrize(("mean", "std", "a", "b"), [
    (0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 10.0),
    (0.0, 1.0, 2.5, 3.5), (0.0, 1.0, -9.0, -7.5), (0.0, 1.0, -0.1, 0.1)])
def test_trunc_normal_respects_bounds_and_moments(mean, std, a, b):
    w = init.trunc_normal_(big(), mean, std, a, b)
    assert w.data.min() >= a and w.data.max() <= b
    expected_mean, expected_std = truncated_normal_moments(mean, std, a, b)
    assert abs(w.data.mean() - expected_mean) < 0.01 * expected_std
    assert close(w.data.std(), expected_std)


def test_trunc_normal_rejects_empty_intervals():
    with pytest.raises(ValueError, match="need a < b"):
        init.trunc_normal_(big(), a=1.0, b=-1.0)
    with pytest.raises(ValueError, match="std must be positive"):
        init.trunc_normal_(big(), std=0.0)


def test_constant_fills_work_on_any_dtype():
    assert np.all(init.constant_(big((3, 2)), 0.3).data == 0.3)
    assert np.all(init.ones_(minigrad.zeros(4, dtype=minigrad.int64)).data == 1)
    assert np.all(init.zeros_(minigrad.ones(2, 2)).data == 0)


@pytest.mark.parametrize("fill", [
    lambda t: init.kaiming_uniform_(t), lambda t: init.kaiming_normal_(t),
    lambda t: init.xavier_uniform_(t), lambda t: init.xavier_normal_(t),
    lambda t: init.uniform_(t), lambda t: init.normal_(t), lambda t: init.trunc_normal_(t),
    lambda t: init.constant_(t, 2.0), lambda t: init.zeros_(t), lambda t: init.ones_(t)])
def test_fills_in_place_without_a_graph(fill):
    w = Parameter(np.zeros((8, 4, 3, 3), dtype=np.float32))
    array, version = w.data, w._version.value
    assert fill(w) is w
    assert w.data is array and w.dtype == np.float32
    assert w.grad_fn is None and w.requires_grad and w._version.value == version + 1


def test_random_fills_are_seeded():
    minigrad.manual_seed(11)
    first = init.trunc_normal_(big((50, 20))).data.copy()
    minigrad.manual_seed(11)
    np.testing.assert_array_equal(init.trunc_normal_(big((50, 20))).data, first)
    own = init.kaiming_normal_(big((50, 20)), generator=np.random.default_rng(2)).data.copy()
    again = init.kaiming_normal_(big((50, 20)), generator=np.random.default_rng(2)).data
    np.testing.assert_array_equal(own, again)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(big(), mode="fan_avg")
    with pytest.raises(TypeError, match="kaiming_uniform_: expected a floating point tensor"):
        init.kaiming_uniform_(minigrad.zeros(3, 3, dtype=minigrad.int64))
    with pytest.raises(TypeError, match="uniform_: expected a Tensor"):
        init.uniform_(np.zeros(3))
    with pytest.warns(UserWarning, match="zero-element tensor"):
        init.xavier_uniform_(big((0, 3)))
