"""The MobileNet blocks against their torch twins (forward, every gradient, running
statistics) and against float64 finite differences; channel rounding; bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad.models import (
    DepthwiseSeparableConv,
    InvertedResidual,
    InvertedResidualV3,
    SqueezeExcitation,
)
from minigrad.models.layers import _make_divisible
from tests.helpers import assert_close
from tests.models import torch_mobilenet as tm

RTOL = 1e-6


def close(actual, expected, name: str) -> None:
    """Equal up to float64 rounding, with the absolute tolerance scaled by the largest expected
    value: torch's hard-sigmoid backward multiplies by 1/6 rounded to float32 (a relative error
    of 1e-8), which the SE blocks carry into every gradient upstream of them."""
    scale = max(1.0, float(np.abs(np.asarray(expected.detach())).max()))
    assert_close(actual, expected, 1e-7 * scale, RTOL, name)


def twins_agree(block, twin, x: np.ndarray, seed: int = 0) -> None:
    """Load the twin's weights into `block`; then output, input gradient, every parameter
    gradient and every buffer must match torch in float64, train mode."""
    torch.manual_seed(seed)
    twin.apply(_reset)
    block.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    block.double()
    twin.double()
    mx = minigrad.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, expected = block(mx), twin(tx)
    close(out, expected, "output")
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    close(mx.grad, tx.grad, "input gradient")
    for (name, p), (_, q) in zip(block.named_parameters(), twin.named_parameters()):
        close(p.grad, q.grad, f"gradient of {name}")
    for (name, b), (_, c) in zip(block.named_buffers(), twin.named_buffers()):
        close(b.data, c, f"buffer {name}")


def _reset(module: torch.nn.Module) -> None:
    """Seeded random weights; BatchNorm's affine parameters moved off their 1/0 init so that
    the gradients through them are not special."""
    if isinstance(module, torch.nn.BatchNorm2d):
        torch.nn.init.uniform_(module.weight, 0.5, 1.5)
        torch.nn.init.normal_(module.bias)
    elif isinstance(module, torch.nn.Conv2d):
        torch.nn.init.normal_(module.weight, 0.0, 0.5)
        if module.bias is not None:
            torch.nn.init.normal_(module.bias)


def random_input(n: int, c: int, h: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, c, h, h))


@settings(max_examples=6)
@given(cin=st.integers(1, 6), cout=st.integers(1, 6), stride=st.sampled_from([1, 2]),
       size=st.integers(3, 6))
def test_depthwise_separable_conv_matches_torch(cin, cout, stride, size):
    twins_agree(DepthwiseSeparableConv(cin, cout, stride), tm.DepthwiseSeparable(cin, cout, stride),
                random_input(2, cin, size))


@settings(max_examples=6)
@given(inp=st.integers(2, 6), oup=st.integers(2, 6), stride=st.sampled_from([1, 2]),
       expand_ratio=st.sampled_from([1, 2, 6]), size=st.integers(3, 6))
def test_inverted_residual_matches_torch(inp, oup, stride, expand_ratio, size):
    block = InvertedResidual(inp, oup, stride, expand_ratio)
    assert block.use_res_connect == (stride == 1 and inp == oup)
    twins_agree(block, tm.InvertedResidual(inp, oup, stride, expand_ratio),
                random_input(2, inp, size))


@settings(max_examples=6)
@given(cin=st.sampled_from([8, 16]), kernel=st.sampled_from([3, 5]),
       expanded=st.sampled_from([8, 16, 24]), cout=st.sampled_from([8, 16]),
       use_se=st.booleans(), activation=st.sampled_from(["RE", "HS"]),
       stride=st.sampled_from([1, 2]), size=st.integers(3, 6))
def test_inverted_residual_v3_matches_torch(cin, kernel, expanded, cout, use_se, activation,
                                            stride, size):
    block = InvertedResidualV3(cin, kernel, expanded, cout, use_se, activation, stride)
    twin = tm.InvertedResidualV3(cin, kernel, expanded, cout, use_se, activation, stride,
                                 tm.partial(torch.nn.BatchNorm2d, eps=0.001, momentum=0.01))
    twins_agree(block, twin, random_input(2, cin, size))


def test_squeeze_excitation_matches_torch():
    twins_agree(SqueezeExcitation(6, 4), tm.SqueezeExcitation(6, 4), random_input(3, 6, 4))


def test_inverted_residual_v3_layout_follows_torchvision():
    block = InvertedResidualV3(24, 5, 72, 40, True, "RE", 2)
    shapes = {k: v.shape for k, v in block.state_dict().items()}
    assert shapes["block.0.0.weight"] == (72, 24, 1, 1)  # pw expand
    assert shapes["block.1.0.weight"] == (72, 1, 5, 5)  # dw
    assert shapes["block.2.fc1.weight"] == (24, 72, 1, 1)  # SE squeeze: _make_divisible(18, 8)
    assert shapes["block.2.fc2.bias"] == (72,)
    assert shapes["block.3.0.weight"] == (40, 72, 1, 1)  # pw-linear
    assert len(block.block[3]) == 2  # no activation after the projection
    assert block.block[1][1].eps == 0.001 and block.block[1][1].momentum == 0.01


def test_inverted_residual_without_expansion_has_no_pw_expand():
    block = InvertedResidual(16, 16, 1, 1)
    keys = list(block.state_dict())
    assert keys[0] == "conv.0.0.weight" and block.state_dict()["conv.0.0.weight"].shape == (
        16, 1, 3, 3)
    assert "conv.1.weight" in keys and "conv.2.running_var" in keys


@pytest.mark.parametrize("value, expected", [(32, 32), (8.0, 8), (3, 8), (18, 24), (44, 48),
                                             (12, 16), (36, 40), (1280 * 0.75, 960), (20, 24)])
def test_make_divisible_rounds_like_torchvision(value, expected):
    assert _make_divisible(value, 8) == expected
    assert _make_divisible(value, 8) == tm.make_divisible(value)


def block_gradcheck(block, x: np.ndarray, fast_mode: bool) -> None:
    """Finite differences through the block for the input and every parameter."""
    block.double()
    params = list(block.parameters())

    def fn(x, *_params):
        return block(x)

    inputs = [minigrad.tensor(x, requires_grad=True), *params]
    assert minigrad.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=fast_mode)


def test_depthwise_separable_conv_passes_gradcheck():
    block_gradcheck(DepthwiseSeparableConv(3, 4, 2), random_input(2, 3, 5), fast_mode=False)


def test_inverted_residual_passes_gradcheck():
    block_gradcheck(InvertedResidual(3, 3, 1, 2), random_input(2, 3, 4), fast_mode=False)


def test_squeeze_excitation_passes_gradcheck():
    block_gradcheck(SqueezeExcitation(4, 8), random_input(2, 4, 3), fast_mode=False)


@pytest.mark.parametrize("activation", ["RE", "HS"])
def test_inverted_residual_v3_passes_gradcheck(activation):
    block = InvertedResidualV3(8, 5, 16, 8, True, activation, 1)
    block_gradcheck(block, random_input(2, 8, 4), fast_mode=True)


@pytest.mark.parametrize("make, message", [
    (lambda: DepthwiseSeparableConv(4, 8, 3), "DepthwiseSeparableConv: stride"),
    (lambda: InvertedResidual(4, 8, 0, 6), "InvertedResidual: stride"),
    (lambda: InvertedResidualV3(8, 4, 16, 8, False, "RE", 1), "InvertedResidualV3: kernel"),
    (lambda: InvertedResidualV3(8, 3, 16, 8, False, "XX", 1), "InvertedResidualV3: activation"),
    (lambda: InvertedResidualV3(8, 3, 16, 8, False, "HS", 3), "InvertedResidualV3: stride"),
])
def test_blocks_reject_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
