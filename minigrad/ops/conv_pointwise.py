"""Pointwise (1×1, stride 1, no padding, one group) convolution: one matrix product per pass."""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function

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

    Saved: x, w.  See docs/derivations.md#pointwise-11-convolution.
    """

    @staticmethod
    def forward(ctx: Context, x, w, b):
        n, c_in, h, width = x.shape
        c_out = w.shape[0]
        ctx.save_for_backward(x, w)
        # (N, C_in, H, W) -> (N, C_in, H*W); (C_out, C_in, 1, 1) -> (C_out, C_in)
        y = np.matmul(w.reshape(c_out, c_in), x.reshape(n, c_in, h * width))
        if b is not None:
            y += b[:, None]
        return y.reshape(n, c_out, h, width)

    @staticmethod
    def backward(ctx: Context, g):
        x, w = ctx.saved_tensors
        n, c_in, h, width = x.shape
        c_out = w.shape[0]
        # (N, C_out, H, W) -> (N, C_out, H*W)
        g3 = g.reshape(n, c_out, h * width)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            # (C_in, C_out) · (N, C_out, H*W) -> (N, C_in, H*W)
            dx = np.matmul(w.reshape(c_out, c_in).T, g3).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            x3 = x.reshape(n, c_in, h * width)
            if h * width >= SMALL_PLANE:
                # (N, C_out, H*W) · (N, H*W, C_in) -> (N, C_out, C_in), summed over N
                dw = np.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
            else:
                # tiny planes: N rank-(H*W) products are slower than one GEMM over N*H*W
                dw = np.tensordot(g3, x3, axes=([0, 2], [0, 2])).reshape(w.shape)
        if ctx.needs_input_grad[2]:
            db = g3.sum(axis=(0, 2))
        return dx, dw, db
