"""Fast pointwise (1×1, stride 1, no padding, one group) convolution on the thread pool.

What it does differently from `minigrad.reference.conv.PointwiseConv2d`, and why: the
forward's N per-sample products are shared out over the threads in small batch slices; the
backward's two passes (dx and dW) are independent, so they run side by side: dW as two
partial sums over halves of the batch (two on any number of threads, so that it rounds the
same on all), dx in small batch slices that the threads take as they come free. On tiny
planes dW is one GEMM over N·H·W instead of N products of rank H·W. Measurements:
benchmarks/README.md, "Fast conv kernels".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.fast.threads import (
    batch_parts,
    for_each_part,
    run_tasks,
    split_batch,
    sum_in_batch_order,
)

# dW's partial sums over the batch: two, one per thread on two threads (more threads share out
# dx's slices around them); always two, so that dW rounds the same on any number of threads
WEIGHT_GRAD_PARTS = 2
# below this many pixels per plane, the weight gradient is one GEMM over N*H*W rather than N
# products of rank H*W (the two were about even from 6×6 on)
SMALL_PLANE = 32


class PointwiseConv2d(Function):
    """1×1 convolution, y[n] = W·x[n] + b, its products on the thread pool (module docstring).

    With W = w as (C_out, C_in) and x as (N, C_in, H·W), NCHW already has the layout a
    matrix product wants, so nothing is transposed or copied. Backward: dx[n] = Wᵀ·g[n],
    dW = Σ_n g[n]·x[n]ᵀ, db = Σ g. Saved: x, w. See docs/derivations.md#pointwise-11-convolution.
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
        want_dx, want_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dx3: np.ndarray | None = None
        dw_parts: dict[int, np.ndarray] = {}
        total_bytes = (want_dx + want_dw) * (g3.nbytes + x3.nbytes)
        tasks: list[Callable[[], None]] = []
        if want_dw:
            # first, as the longest tasks: dW in WEIGHT_GRAD_PARTS batch slices, a number that
            # does not depend on the threads, so that dW rounds the same on any number of them
            tasks += [partial(_weight_grad_part, g3, x3, rows, dw_parts)
                      for rows in split_batch(n, WEIGHT_GRAD_PARTS)]
        if want_dx:
            dx3 = np.empty(x3.shape, dtype=g.dtype)
            # dx[n] = Wᵀ · g[n]: (C_in, C_out) · (n, C_out, H*W) -> (n, C_in, H*W), in small
            # batch slices that fill in around dW
            tasks += [partial(np.matmul, w.reshape(c_out, c_in).T, g3[rows], out=dx3[rows])
                      for rows in batch_parts(n, total_bytes)]
        run_tasks(tasks, total_bytes)
        dx = None if dx3 is None else dx3.reshape(x.shape)
        dw = None
        if want_dw:
            dw = sum_in_batch_order(dw_parts, (c_out, c_in), g.dtype).reshape(w.shape)
        db = g3.sum(axis=(0, 2)) if ctx.needs_input_grad[2] else None
        return dx, dw, db


def _weight_grad_part(g3: np.ndarray, x3: np.ndarray, rows: slice,
                      parts: dict[int, np.ndarray]) -> None:
    """Σ_{n in rows} g[n]·x[n]ᵀ (C_out, C_in), stored in parts[rows.start]."""
    if x3.shape[2] >= SMALL_PLANE:
        # (n, C_out, H*W) · (n, H*W, C_in) -> (n, C_out, C_in), summed over n
        parts[rows.start] = np.matmul(g3[rows], x3[rows].transpose(0, 2, 1)).sum(axis=0)
    else:
        # tiny planes: n rank-(H*W) products are slower than one GEMM over n*H*W
        parts[rows.start] = np.tensordot(g3[rows], x3[rows], axes=([0, 2], [0, 2]))
