"""Inverted dropout: zero each element with probability p and scale the kept ones by 1/(1−p),
so that the expected output equals the input and evaluation needs no rescaling."""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function, is_grad_enabled
from minigrad.random import generator
from minigrad.tensor import Tensor


class Dropout(Function):
    """y = x · m / (1 − p),  m ~ Bernoulli(1 − p) drawn per element at call time.

    Backward: dx = g · m / (1 − p) (the same mask). p = 1 keeps nothing: y = 0, dx = 0.
    Saved: the boolean mask m (one byte per element). With `inplace`, y is written into x.
    """

    @staticmethod
    def forward(ctx: Context, x, p=0.5, inplace=False):
        # uniform draws u ∈ [0, 1): P(u ≥ p) = 1 − p; float32 draws are cheaper and fine-grained
        mask = generator().random(x.shape, dtype=np.float32) >= p
        scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
        y = np.multiply(x, mask, out=x if inplace else None)
        y *= scale
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (mask,) = ctx.saved_tensors
        dx = g * mask
        dx *= ctx.scale
        return (dx,)


def _check(x: Tensor, p: float) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: input must be floating point, got {x.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"dropout: p must be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p has to be between 0 and 1, got p={p}")


def _dropout_inplace(x: Tensor, p: float) -> Tensor:
    """Write the dropped-out values into `x`; when recording, `x` takes over the new node
    (its old producer stays the node's parent), as torch rebases history."""
    recording = is_grad_enabled() and x.requires_grad
    if recording and x.is_leaf:
        raise RuntimeError("dropout: a leaf tensor that requires grad cannot be used with "
                           "inplace=True; use inplace=False")
    if recording and x._base is not None:  # a view: the change is recorded on its base
        from minigrad.ops.inplace import copy_

        return copy_(x, Dropout.apply(x, p=float(p)))
    y = Dropout.apply(x, p=float(p), inplace=True)
    x._bump_version()
    if recording:
        x.grad_fn = y.grad_fn
    return x


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout, as `torch.nn.functional.dropout`.

    Args:
        x: input tensor of any shape.
        p: probability of zeroing an element, in [0, 1].
        training: when False (or p == 0) this is the identity and returns `x` itself.
        inplace: write the result into `x` and return `x`.

    The mask comes from `minigrad.random.generator()`, so `minigrad.manual_seed` repeats it.
    Shape: output as input.
    """
    _check(x, p)
    if not training or p == 0:
        return x
    if inplace:
        return _dropout_inplace(x, p)
    return Dropout.apply(x, p=float(p))
