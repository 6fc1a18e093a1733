"""float32 gradients against torch's float32 ones, with random float32 upstream gradients, for
the ops a MobileNet trains with: every convolution path (pointwise, depthwise on large planes
and on small ones, grouped), the activations, pooling and the losses, on both kernel sets.
(BatchNorm's, the reductions' and pooling's own float32 checks sit beside their float64 ones.)

float32 sums of many terms round differently in each framework, so each gradient is compared
with a tolerance relative to its largest value."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad
import minigrad.nn.functional as F

RTOL = 2e-5  # of the array's largest magnitude


def _conv(stride=1, padding=0, dilation=1, groups=1):
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (lambda x, w, b: F.conv2d(x, w, b, **kwargs),
            lambda x, w, b: TF.conv2d(x, w, b, **kwargs))


def _unary(name):
    return (lambda x: getattr(F, name)(x), lambda x: getattr(TF, name)(x))


CASES = [
    # (id, (minigrad fn, torch fn), input shapes; a leading "int:C" is a class-index target)
    ("conv_pointwise", _conv(), [(4, 8, 9, 9), (12, 8, 1, 1), (12,)]),
    ("conv_depthwise_large_plane", _conv(stride=2, padding=1, groups=8),
     [(3, 8, 33, 31), (8, 1, 3, 3), (8,)]),
    ("conv_depthwise_small_plane", _conv(padding=2, groups=8), [(5, 8, 7, 7), (8, 1, 5, 5), (8,)]),
    ("conv_depthwise_multiplier_dilation", _conv(padding=2, dilation=2, groups=4),
     [(2, 4, 13, 11), (8, 1, 3, 3), (8,)]),
    ("conv_grouped", _conv(stride=2, padding=1, groups=2), [(2, 6, 11, 11), (4, 3, 3, 3), (4,)]),
    ("conv_dense", _conv(stride=3, padding=(1, 2)), [(2, 3, 13, 14), (5, 3, 3, 3), (5,)]),
    *[(name, _unary(name), [(4, 6, 5, 5)])
      for name in ("relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "tanh", "silu")],
    ("softmax", (lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1)), [(6, 10)]),
    ("log_softmax", (lambda x: F.log_softmax(x, dim=1), lambda x: TF.log_softmax(x, dim=1)),
     [(6, 10)]),
    ("max_pool2d", (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
     [(2, 3, 9, 9)]),
    ("avg_pool2d", (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1)),
     [(2, 3, 9, 9)]),
    ("adaptive_avg_pool2d", (lambda x: F.adaptive_avg_pool2d(x, 1),
                             lambda x: TF.adaptive_avg_pool2d(x, 1)), [(2, 3, 7, 7)]),
    ("cross_entropy", (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
                       lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1)),
     [(16, 10), "int:10"]),
    ("nll_loss", (lambda x, t: F.nll_loss(x, t, reduction="sum"),
                  lambda x, t: TF.nll_loss(x, t, reduction="sum")), [(16, 10), "int:10"]),
    ("mse_loss", (F.mse_loss, TF.mse_loss), [(16, 10), (16, 10)]),
    ("bce_with_logits", (F.binary_cross_entropy_with_logits,
                         TF.binary_cross_entropy_with_logits), [(16, 10), (16, 10)]),
]


def _arrays(shapes, rng):
    arrays = []
    for shape in shapes:
        if isinstance(shape, str):  # class indices for the first array's rows
            arrays.append(rng.integers(0, int(shape[4:]), arrays[0].shape[0]))
        else:
            arrays.append((rng.standard_normal(shape) * 3).astype(np.float32))
    return arrays


@pytest.mark.parametrize("name, fns, shapes", CASES, ids=[case[0] for case in CASES])
def test_float32_gradients_match_torch(kernels, name, fns, shapes):
    rng = np.random.default_rng(sum(map(ord, name)))
    arrays = _arrays(shapes, rng)
    ours = [minigrad.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, expected = fns[0](*ours), fns[1](*theirs)
    assert out.dtype == np.float32
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (mine, their) in enumerate(zip(ours, theirs)):
        if their.grad is None:
            continue
        assert mine.grad.dtype == np.float32, f"input {i}"
        want = their.grad.numpy()
        scale = max(float(np.abs(want).max()), 1e-30)
        worst = float(np.abs(mine.grad.data - want).max())
        assert worst <= RTOL * scale, f"{name}: input {i} off by {worst:.3g} (scale {scale:.3g})"
