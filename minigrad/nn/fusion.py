"""Folding an eval-mode BatchNorm into the convolution before it, as `torch.nn.utils.fusion`.

In eval mode BatchNorm is an affine map per output channel c, with the running statistics:

    bn(z)[c] = γ[c] · (z[c] − μ[c]) / √(σ²[c] + eps) + β[c] = s[c] · z[c] + (β[c] − s[c] · μ[c])

with s = γ / √(σ² + eps). The convolution is linear in its weight, so for z = conv(x, W) + b:

    bn(conv(x, W) + b) = conv(x, W'),  W'[c] = s[c] · W[c],  b'[c] = s[c] · (b[c] − μ[c]) + β[c].

One convolution with a bias then computes both layers. The fold is done in float64 and rounded
once to the convolution's dtype.
"""

from __future__ import annotations

import copy

import numpy as np

from minigrad.nn.batchnorm import BatchNorm2d
from minigrad.nn.conv import Conv2d
from minigrad.nn.parameter import Parameter


def fuse_conv_bn_weights(conv_w: np.ndarray, conv_b: np.ndarray | None, bn_rm: np.ndarray,
                         bn_rv: np.ndarray, bn_eps: float, bn_w: np.ndarray | None,
                         bn_b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') of the derivation above, in `conv_w`'s dtype, as torch's function of the same
    name. A missing conv bias is 0, a missing BatchNorm weight 1 and bias 0 (`affine=False`).

    Shape: conv_w (C_out, C_in / groups, KH, KW), everything else (C_out,).
    """
    rm, rv = (np.asarray(a, dtype=np.float64) for a in (bn_rm, bn_rv))
    gamma = np.ones_like(rm) if bn_w is None else np.asarray(bn_w, dtype=np.float64)
    beta = np.zeros_like(rm) if bn_b is None else np.asarray(bn_b, dtype=np.float64)
    b = np.zeros_like(rm) if conv_b is None else np.asarray(conv_b, dtype=np.float64)
    scale = gamma / np.sqrt(rv + bn_eps)  # s, (C_out,)
    # (C_out,) -> (C_out, 1, 1, 1) to scale each output channel's filter
    fused_w = conv_w.astype(np.float64) * scale.reshape(-1, *([1] * (conv_w.ndim - 1)))
    fused_b = (b - rm) * scale + beta
    return fused_w.astype(conv_w.dtype), fused_b.astype(conv_w.dtype)


def fuse_conv_bn_eval(conv: Conv2d, bn: BatchNorm2d) -> Conv2d:
    """A new `Conv2d` computing `bn(conv(x))` of the two eval-mode layers in one convolution
    with a bias, as `torch.nn.utils.fusion.fuse_conv_bn_eval`. The inputs are not changed.

    Args:
        conv: a `Conv2d` in eval mode.
        bn: a `BatchNorm2d` over `conv.out_channels` channels, in eval mode, with running
            statistics (`track_running_stats=True`).

    Returns:
        A deep copy of `conv` whose weight and bias fold in `bn` (a bias is added if `conv`
        had none); its parameters require grad as `conv.weight` does.
    """
    _check_pair(conv, bn)
    fused = copy.deepcopy(conv)
    w, b = fuse_conv_bn_weights(conv.weight.data, None if conv.bias is None else conv.bias.data,
                                bn.running_mean.data, bn.running_var.data, bn.eps,
                                None if bn.weight is None else bn.weight.data,
                                None if bn.bias is None else bn.bias.data)
    requires_grad = conv.weight.requires_grad
    fused.weight = Parameter(w, requires_grad=requires_grad)
    fused.bias = Parameter(b, requires_grad=requires_grad)
    return fused


def _check_pair(conv: object, bn: object) -> None:
    if not isinstance(conv, Conv2d):
        raise TypeError(f"fuse_conv_bn_eval: conv must be a Conv2d, got {type(conv).__name__}")
    if not isinstance(bn, BatchNorm2d):
        raise TypeError(f"fuse_conv_bn_eval: bn must be a BatchNorm2d, got {type(bn).__name__}")
    if conv.training or bn.training:
        raise RuntimeError(f"fuse_conv_bn_eval: fusion is for eval mode only, got "
                           f"conv.training={conv.training}, bn.training={bn.training}; "
                           "call .eval() on both first")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("fuse_conv_bn_eval: bn has no running statistics "
                         "(track_running_stats=False normalises with each batch's own, "
                         "which no fixed weights can fold)")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"fuse_conv_bn_eval: bn has {bn.num_features} features but conv has "
                         f"{conv.out_channels} output channels")
