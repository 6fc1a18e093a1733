"""Reference kernels of the hand-derived activations: ReLU, ReLU6, hard-sigmoid, hard-swish.

`g` is the incoming gradient, `dx` the gradient of `x`. At a kink the slope is torch 2.13's.
At x = NaN, dx is g for ReLU, 0 for ReLU6 and hard-sigmoid, NaN for hard-swish: torch's values
(for ReLU6 and hard-swish, those of its vectorised loop; its scalar loop, which takes short
arrays and the last few elements of others, gives g).
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function


class ReLUFunction(Function):
    """y = max(x, 0); dx = g·[not x ≤ 0] (0 at x = 0). See docs/derivations.md#relu."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        # keeps −0 and NaN, as torch.relu does
        return np.where(x < 0, 0, x)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (np.where(x <= 0, 0, g),)


class ReLU6Function(Function):
    """y = min(max(x, 0), 6); dx = g·[0 < x < 6] (0 at x = 0 and x = 6).
    See docs/derivations.md#relu6."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return np.clip(x, 0, 6)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (np.where((0 < x) & (x < 6), g, 0),)


class HardSigmoidFunction(Function):
    """y = relu6(x + 3)/6; dx = g/6·[−3 < x < 3] (0 at x = ±3).
    See docs/derivations.md#hard-sigmoid."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (np.where((-3 < x) & (x < 3), g / 6, 0),)


class HardSwishFunction(Function):
    """y = x·relu6(x + 3)/6; dx = g·(0 for x ≤ −3, (2x + 3)/6 for −3 < x < 3, 1 for x ≥ 3).
    See docs/derivations.md#hard-swish."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):  # x = −inf: 0·(−inf) = NaN, as torch
            return x * np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        slope = np.where(x <= -3, 0, np.where(x >= 3, 1, (2 * x + 3) / 6))
        return (g * slope,)
