"""Pointwise (1×1, stride 1, no padding, one group) convolution: one matrix product per pass."""

from __future__ import annotations

from functools import partial

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.fast.threads import for_each_part, get_num_threads, run_tasks, split_batch

# below this many pixels per plane, the weight gradient is one GEMM over N*H*W rather than N
# products of rank H*W: on 4×4 planes the GEMM measured 1.2–3.5× faster here, on 5×5
# 1.05–2.5×, and from 6×6 on the two were about even
SMALL_PLANE = 32


class PointwiseConv2d(Function):
    """1×1 convolution: every pixel's channel vector is multiplied by the same matrix.

    With W = w as (C_out, C_in) and x as (N, C_in, H·W), NCHW already has the layout a
    matrix product wants, so nothing is transposed or copied:

        forward:  y[n] = W · x[n] + b                 (N products (C_out, C_in)·(C_in, H·W))
        backward: dx[n] = Wᵀ · g[n]
                  dW    = Σ_n g[n] · x[n]ᵀ            (the sum over N, H, W of g·xᵀ)
                  db    = Σ_{n,h,w} g

    Threads: the forward's N products are shared out over the threads, a batch slice each.
    The backward's two passes are independent, so they run side by side: on two threads,
    one thread computes dx and the other dW, each on the whole batch (one hand-off and
    whole-batch products, measured 10–30% faster than splitting each pass over the batch);
    with more threads each pass is also split over the batch. dW is then the same bit for
    bit on one thread and on two.
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
        want_dx, want_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dx3 = np.empty(x3.shape, dtype=g.dtype) if want_dx else None
        dw_parts: dict[int, np.ndarray] = {}
        # the threads shared between the passes, each pass split into that many batch slices
        parts = split_batch(n, get_num_threads() // max(1, want_dx + want_dw))
        tasks = []
        if want_dx:
            # dx[n] = Wᵀ · g[n]: (C_in, C_out) · (n, C_out, H*W) -> (n, C_in, H*W)
            tasks += [partial(np.matmul, w.reshape(c_out, c_in).T, g3[rows], out=dx3[rows])
                      for rows in parts]
        if want_dw:
            tasks += [partial(_weight_grad_part, g3, x3, rows, dw_parts) for rows in parts]
        run_tasks(tasks, (want_dx + want_dw) * (g3.nbytes + x3.nbytes))
        dx = None if dx3 is None else dx3.reshape(x.shape)
        dw = None
        if want_dw:
            # the parts added in batch order, so that the result does not depend on timing
            dw = (sum(dw_parts[start] for start in sorted(dw_parts)) if dw_parts
                  else np.zeros((c_out, c_in), dtype=g.dtype)).reshape(w.shape)  # N = 0
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
