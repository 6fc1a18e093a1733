"""Pointwise (1×1, stride 1, no padding, one group) convolution: one matrix product per pass."""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.threads import for_each_part

# below this many pixels per plane, the weight gradient is one GEMM over N*H*W (measured here)
SMALL_PLANE = 16


class PointwiseConv2d(Function):
    """1×1 convolution: every pixel's channel vector is multiplied by the same matrix.

    With W = w as (C_out, C_in) and x as (N, C_in, H·W), NCHW already has the layout a
    matrix product wants, so nothing is transposed or copied:

        forward:  y[n] = W · x[n] + b                 (N products (C_out, C_in)·(C_in, H·W))
        backward: dx[n] = Wᵀ · g[n]
                  dW    = Σ_n g[n] · x[n]ᵀ            (the sum over N, H, W of g·xᵀ)
                  db    = Σ_{n,h,w} g

    The N products of each pass are shared out over the threads, a batch slice each.
    Saved: x, w.  See docs/derivations.md#pointwise-11-convolution.
    """

    @staticmethod
    def forward(ctx: Context, x, w, b):
        n, c_in, h, width = x.shape
        c_out = w.shape[0]
        ctx.save_for_backward(x, w)
        # (N, C_in, H, W) -> (N, C_in, H*W); (C_out, C_in, 1, 1) -> (C_out, C_in)
        x3, w2 = x.reshape(n, c_in, h * width), w.reshape(c_out, c_in)
        y = np.empty((n, c_out, h * width), dtype=x.dtype)

        def product(rows: slice) -> None:
            np.matmul(w2, x3[rows], out=y[rows])

        for_each_part(product, n, x.nbytes + y.nbytes)
        if b is not None:
            y += b[:, None]
        return y.reshape(n, c_out, h, width)

    @staticmethod
    def backward(ctx: Context, g):
        x, w = ctx.saved_tensors
        n, c_in, h, width = x.shape
        c_out = w.shape[0]
        # (N, C_out, H, W) -> (N, C_out, H*W); (N, C_in, H, W) -> (N, C_in, H*W)
        g3, x3 = g.reshape(n, c_out, h * width), x.reshape(n, c_in, h * width)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = _input_grad(g3, w.reshape(c_out, c_in)).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            dw = _weight_grad(g3, x3).reshape(w.shape)
        if ctx.needs_input_grad[2]:
            db = g3.sum(axis=(0, 2))
        return dx, dw, db


def _input_grad(g3: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """dx[n] = Wᵀ · g[n]: (C_in, C_out) · (N, C_out, H*W) -> (N, C_in, H*W), batch slices over
    the threads."""
    dx = np.empty((g3.shape[0], w2.shape[1], g3.shape[2]), dtype=g3.dtype)

    def product(rows: slice) -> None:
        np.matmul(w2.T, g3[rows], out=dx[rows])

    for_each_part(product, g3.shape[0], g3.nbytes + dx.nbytes)
    return dx


def _weight_grad(g3: np.ndarray, x3: np.ndarray) -> np.ndarray:
    """dW = Σ_n g[n]·x[n]ᵀ (C_out, C_in): one partial sum per batch slice over the threads,
    the partial sums added in batch order so that the result does not depend on timing."""
    sums: dict[int, np.ndarray] = {}

    def partial_sum(rows: slice) -> None:
        if x3.shape[2] >= SMALL_PLANE:
            # (n, C_out, H*W) · (n, H*W, C_in) -> (n, C_out, C_in), summed over n
            sums[rows.start] = np.matmul(g3[rows], x3[rows].transpose(0, 2, 1)).sum(axis=0)
        else:
            # tiny planes: n rank-(H*W) products are slower than one GEMM over n*H*W
            sums[rows.start] = np.tensordot(g3[rows], x3[rows], axes=([0, 2], [0, 2]))

    for_each_part(partial_sum, g3.shape[0], g3.nbytes + x3.nbytes)
    if not sums:  # an empty batch
        return np.zeros((g3.shape[1], x3.shape[1]), dtype=g3.dtype)
    return sum(sums[start] for start in sorted(sums))
