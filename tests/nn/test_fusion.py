"""`nn.utils.fuse_conv_bn_eval` / `fuse_conv_bn_weights` (minigrad/nn/fusion.py): the folded
convolution equals the two eval-mode layers, and torch's fold of the same layers; bad pairs
raise before anything is built."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.nn.utils import fuse_conv_bn_eval, fuse_conv_bn_weights
from tests.helpers import assert_close
from tests.strategies import conv_cases


def _pair(arrays, kwargs, affine: bool, seed: int, dtype=np.float64):
    """An eval-mode (Conv2d, BatchNorm2d) with the case's weights and random statistics."""
    x, weight, *bias = arrays
    c_out = weight.shape[0]
    conv = nn.Conv2d(x.shape[1], c_out, weight.shape[2:], bias=bool(bias), dtype=dtype,
                     **kwargs)
    conv.weight.data[...] = weight
    if bias:
        conv.bias.data[...] = bias[0]
    bn = nn.BatchNorm2d(c_out, eps=1e-3, affine=affine, dtype=dtype)
    rng = np.random.default_rng(seed)
    bn.running_mean.data[...] = rng.normal(0, 1, c_out)
    bn.running_var.data[...] = rng.uniform(0.1, 3, c_out)
    if affine:
        bn.weight.data[...] = rng.normal(0, 1, c_out)
        bn.bias.data[...] = rng.normal(0, 1, c_out)
    return conv.eval(), bn.eval()


def _run(module, x: np.ndarray) -> np.ndarray:
    with minigrad.no_grad():
        return module(minigrad.tensor(x)).numpy()


@given(case=conv_cases(), affine=st.booleans(), seed=st.integers(0, 1000))
def test_fused_conv_equals_conv_then_batch_norm_in_float64(case, affine, seed):
    arrays, kwargs = case
    conv, bn = _pair(arrays, kwargs, affine, seed)
    fused = fuse_conv_bn_eval(conv, bn)
    assert_close(_run(fused, arrays[0]), _run(bn, _run(conv, arrays[0])), atol=1e-10, rtol=1e-9)


@given(case=conv_cases(), affine=st.booleans(), seed=st.integers(0, 1000))
def test_fused_weights_match_torch_fuse_conv_bn_eval(case, affine, seed):
    arrays, kwargs = case
    conv, bn = _pair(arrays, kwargs, affine, seed)
    t_conv = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                             bias=conv.bias is not None, dtype=torch.float64, **kwargs).eval()
    t_bn = torch.nn.BatchNorm2d(bn.num_features, eps=bn.eps, affine=affine,
                                dtype=torch.float64).eval()
    t_conv.load_state_dict({k: torch.from_numpy(v) for k, v in conv.state_dict().items()})
    t_bn.load_state_dict({k: torch.from_numpy(v) for k, v in bn.state_dict().items()})
    expected = torch.nn.utils.fusion.fuse_conv_bn_eval(t_conv, t_bn)
    fused = fuse_conv_bn_eval(conv, bn)
    assert_close(fused.weight.data, expected.weight.detach().numpy(), atol=1e-12, rtol=1e-12)
    assert_close(fused.bias.data, expected.bias.detach().numpy(), atol=1e-12, rtol=1e-12)


def test_float32_fold_is_within_float32_rounding(rng):
    arrays = [rng.standard_normal((2, 8, 9, 9)), rng.standard_normal((16, 8, 3, 3))]
    conv, bn = _pair([a.astype(np.float32) for a in arrays], {"padding": 1}, True, 0,
                     dtype=np.float32)
    fused = fuse_conv_bn_eval(conv, bn)
    assert fused.weight.dtype == fused.bias.dtype == np.float32
    x = arrays[0].astype(np.float32)
    expected = _run(bn, _run(conv, x))
    np.testing.assert_allclose(_run(fused, x), expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())


def test_inputs_are_unchanged_and_grad_flag_follows_the_conv(rng):
    conv, bn = _pair([rng.standard_normal((1, 4, 5, 5)), rng.standard_normal((6, 4, 3, 3))],
                     {}, True, 1)
    conv.weight.requires_grad_(False)
    before = {**conv.state_dict(), **{"bn." + k: v for k, v in bn.state_dict().items()}}
    fused = fuse_conv_bn_eval(conv, bn)
    after = {**conv.state_dict(), **{"bn." + k: v for k, v in bn.state_dict().items()}}
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert conv.bias is None and fused.bias is not None and fused is not conv
    assert type(fused) is nn.Conv2d
    assert not fused.weight.requires_grad and not fused.bias.requires_grad


def test_fuse_conv_bn_weights_takes_arrays_with_missing_parts():
    w = np.ones((2, 1, 1, 1))
    fused_w, fused_b = fuse_conv_bn_weights(w, None, np.array([1.0, -1.0]), np.array([3.0, 0.0]),
                                            1.0, None, None)
    # s = 1 / √(σ² + eps) = (1/2, 1); b' = s·(0 − μ)
    np.testing.assert_array_equal(fused_w.ravel(), [0.5, 1.0])
    np.testing.assert_array_equal(fused_b, [-0.5, 1.0])


@pytest.mark.parametrize("in_training", ["conv", "bn", "both"])
def test_training_mode_is_refused(in_training):
    conv, bn = nn.Conv2d(2, 3, 1).eval(), nn.BatchNorm2d(3).eval()
    for name, module in (("conv", conv), ("bn", bn)):
        if in_training in (name, "both"):
            module.train()
    with pytest.raises(RuntimeError, match=r"fuse_conv_bn_eval: .*eval mode.*\.eval\(\)"):
        fuse_conv_bn_eval(conv, bn)


@pytest.mark.parametrize("conv, bn, error, message", [
    (nn.Linear(2, 3), nn.BatchNorm2d(3), TypeError, "conv must be a Conv2d, got Linear"),
    (nn.Conv2d(2, 3, 1), nn.BatchNorm1d(3), TypeError, "bn must be a BatchNorm2d, got Batch"),
    (nn.Conv2d(2, 3, 1), nn.BatchNorm2d(4), ValueError, "bn has 4 features .* 3 output channels"),
    (nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3, track_running_stats=False), ValueError,
     "bn has no running statistics"),
])
def test_bad_pairs_are_refused(conv, bn, error, message):
    with pytest.raises(error, match=f"fuse_conv_bn_eval: {message}"):
        fuse_conv_bn_eval(conv.eval(), bn.eval())
