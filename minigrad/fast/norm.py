"""Fast kernel of batch normalisation (train and eval), the same values as
`minigrad/reference/norm.py` in a few passes over memory.

What it does differently: x is viewed as (N, C, L) and every elementwise step runs on batch
chunks that stay in cache (`for_each_chunk`, over minigrad's threads); a (C,) vector is
repeated to one (C·L,) row, which NumPy broadcasts over the batch much faster than a (C, 1)
column; channel sums are BLAS products with a ones vector or an `einsum` that never forms
the product; the partial sums of the chunks are added in batch order, so the result does not
depend on the number of threads. Measurements: benchmarks/README.md.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.fast.chunk_sums import sum_chunks_in_batch_order
from minigrad.fast.threads import for_each_chunk


class BatchNormFunction(Function):
    """As the reference kernel: y = γ·x̂ + β per channel, train or eval mode (see
    docs/derivations.md#batchnorm-train and #batchnorm-eval).

    Train saves xc = x − μ (not x̂), invstd = 1/√(σ² + eps) and γ, and computes
    dx = a·g − b·xc − c per channel in one chunked pass, a = γ·invstd,
    b = a·invstd²·mean(g·xc), c = a·mean(g). Eval folds the statistics into one scale and shift
    per channel, and saves x, a copy of μ and invstd only when dγ is needed.
    """

    @staticmethod
    def forward(ctx: Context, x, weight, bias, running_mean=None, running_var=None,
                training=False, eps=1e-5, batch_stats=None):
        ctx.training = training
        # (N, C, *S) -> (N, C, L): every statistic is a reduction over axes 0 and 2
        x3 = _as_ncl(x)
        if training:
            y3, saved = _train_forward(x3, weight, bias, eps, batch_stats)
        else:
            y3, saved = _eval_forward(ctx, x, weight, bias, running_mean, running_var, eps)
        ctx.save_for_backward(*saved)
        return y3.reshape(x.shape)

    @staticmethod
    def backward(ctx: Context, g):
        # (N, C, *S) -> (N, C, L)
        g3 = _as_ncl(g)
        backward = _train_backward if ctx.training else _eval_backward
        dx, dweight, dbias = backward(ctx, g3, ctx.saved_tensors)
        return (None if dx is None else dx.reshape(g.shape)), dweight, dbias


def _train_forward(x3, weight, bias, eps, batch_stats):
    """(y, what backward needs: xc, invstd, γ); μ and σ² go into batch_stats if given."""
    n_per_channel = x3.shape[0] * x3.shape[2]
    mean = _channel_sum_over_threads(x3) / n_per_channel
    xc, sum_sq = _centre(x3, mean)
    var = sum_sq / n_per_channel
    if batch_stats is not None:
        batch_stats.update(mean=mean, var=var)
    invstd = 1 / np.sqrt(var + eps)
    y3 = _affine(xc, _scale(invstd, weight), bias)
    return y3, (xc, invstd, weight)


def _scale(invstd, weight):
    """γ·invstd per channel (invstd alone without γ): the factor on xc, or on x in eval."""
    return invstd if weight is None else weight * invstd


def _centre(x3, mean):
    """xc = x − μ and Σ xc² per channel, in one pass over batch chunks that stay in cache."""
    xc = np.empty(x3.shape, dtype=x3.dtype)
    mean_row = _row(mean, x3)

    def centre(rows: slice) -> tuple:
        np.subtract(_flat(x3[rows]), mean_row, out=_flat(xc[rows]))
        return (_channel_dot(xc[rows], xc[rows]),)

    (sum_sq,) = sum_chunks_in_batch_order(centre, x3.shape[0], _sample_bytes(x3))
    return xc, sum_sq


def _channel_sum_over_threads(x3):
    """_channel_sum of a whole array: the per-sample sums batch chunk by batch chunk over the
    threads, then added over the batch in one go. The chunks do not depend on the number of
    threads, nor then does the result (BLAS rounds a row's sum differently depending on how
    many rows it is given at once)."""
    per_sample = np.empty(x3.shape[:2], dtype=x3.dtype)

    def sample_sums(rows: slice) -> None:
        _sample_sums(x3[rows], out=per_sample[rows])

    for_each_chunk(sample_sums, x3.shape[0], _sample_bytes(x3))
    return per_sample.sum(axis=0)


def _eval_forward(ctx: Context, x, weight, bias, running_mean, running_var, eps):
    """(y, what backward needs: γ·invstd, and x, μ, invstd when dγ is needed)."""
    invstd = 1 / np.sqrt(running_var + eps)
    scale = _scale(invstd, weight)
    shift = -running_mean * scale
    if bias is not None:
        shift += bias
    # x itself, not a reshaped view, so that autograd notices in-place changes to it; a copy
    # of μ, since the running mean may be updated in place before backward runs
    for_weight = (x, running_mean.copy(), invstd) if ctx.needs_input_grad[1] else ()
    # (N, C, *S) -> (N, C, L)
    y3 = _affine(_as_ncl(x), scale, shift)
    return y3, (scale, *for_weight)


def _affine(x3, scale, shift):
    """scale·x + shift with one (C,) scale and shift per channel; shift may be None."""
    y3 = np.empty(x3.shape, dtype=x3.dtype)
    scale_row = _row(scale, x3)
    shift_row = None if shift is None else _row(shift, x3)

    def affine(rows: slice) -> None:
        out = _flat(y3[rows])
        np.multiply(_flat(x3[rows]), scale_row, out=out)
        if shift_row is not None:
            out += shift_row

    for_each_chunk(affine, x3.shape[0], _sample_bytes(x3))
    return y3


def _train_backward(ctx: Context, g3, saved):
    xc, invstd, weight = saved
    n_per_channel = g3.shape[0] * g3.shape[2]

    def grad_sums(rows: slice) -> tuple:
        return _channel_sum(g3[rows]), _channel_dot(g3[rows], xc[rows])

    sum_g, sum_g_xc = sum_chunks_in_batch_order(grad_sums, g3.shape[0], _sample_bytes(g3))
    sum_g_xhat = sum_g_xc * invstd
    dx = None
    if ctx.needs_input_grad[0]:
        scale = _scale(invstd, weight)
        # γ·invstd·(g − mean(g) − x̂·mean(g·x̂)) = a·g − b·xc − c per channel, x̂ = xc·invstd
        dx = _combine(g3, xc, scale, scale * invstd * sum_g_xhat / n_per_channel,
                      scale * sum_g / n_per_channel)
    dweight = sum_g_xhat if ctx.needs_input_grad[1] else None
    dbias = sum_g if ctx.needs_input_grad[2] else None
    return dx, dweight, dbias


def _combine(g3, xc, a, b, c):
    """a·g − b·xc − c with (C,) vectors a, b, c, chunk by chunk (the temporary stays in cache)."""
    dx = np.empty(g3.shape, dtype=g3.dtype)
    a_row, b_row, c_row = (_row(v, g3) for v in (a, b, c))

    def combine(rows: slice) -> None:
        out = _flat(dx[rows])
        np.multiply(_flat(g3[rows]), a_row, out=out)
        out -= _flat(xc[rows]) * b_row
        out -= c_row

    for_each_chunk(combine, g3.shape[0], _sample_bytes(g3))
    return dx


def _eval_backward(ctx: Context, g3, saved):
    scale, *for_weight = saved
    dx = _affine(g3, scale, None) if ctx.needs_input_grad[0] else None
    dweight = None
    if ctx.needs_input_grad[1]:
        x, mean, invstd = for_weight
        # (N, C, *S) -> (N, C, L)
        dweight = _channel_dot(g3, _channelwise(np.subtract, _as_ncl(x), mean)) * invstd
    dbias = _channel_sum(g3) if ctx.needs_input_grad[2] else None
    return dx, dweight, dbias


def _channelwise(ufunc: np.ufunc, a3: np.ndarray, v: np.ndarray) -> np.ndarray:
    """ufunc(a, v) with the value v[c] for every element of channel c of an (N, C, L) array."""
    return ufunc(_flat(a3), _row(v, a3)).reshape(a3.shape)


def _row(v: np.ndarray, a3: np.ndarray) -> np.ndarray:
    """A (C,) vector repeated to one (C·L,) row of an (N, C, L) array."""
    return np.repeat(v, a3.shape[2])


def _flat(a3: np.ndarray) -> np.ndarray:
    """(N, C, L) -> (N, C·L)."""
    return a3.reshape(a3.shape[0], a3.shape[1] * a3.shape[2])


def _sample_bytes(a3: np.ndarray) -> int:
    return a3.shape[1] * a3.shape[2] * a3.itemsize


def _as_ncl(a: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N, C, L) with L = prod(S), 1 for (N, C); sizes spelled out for N = 0."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _channel_sum(a3: np.ndarray) -> np.ndarray:
    """Σ over axes 0 and 2 of an (N, C, L) array."""
    return _sample_sums(a3).sum(axis=0)


def _sample_sums(a3: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Σ over axis 2 of an (N, C, L) array, (N, C), as a BLAS product with a ones vector
    (into `out`, a C-contiguous (N, C) array, if given).

    `np.dot` on the (N·C, L) view, not `a3 @ ones`: matmul keeps the GIL for stacks of 500
    products or fewer (N·C of a batch chunk often is), which would stall the other threads.
    """
    n, c, length = a3.shape
    out = np.empty((n, c), dtype=a3.dtype) if out is None else out
    if length == 1:
        out[...] = a3[:, :, 0]
        return out
    # (N, C, L) -> (N·C, L) @ (L,) -> (N·C,), written into out as (N, C)
    np.dot(a3.reshape(n * c, length), np.ones(length, dtype=a3.dtype), out=out.reshape(n * c))
    return out


def _channel_dot(a3: np.ndarray, b3: np.ndarray) -> np.ndarray:
    """Σ a·b over axes 0 and 2 of two (N, C, L) arrays, without forming a·b."""
    return np.einsum("ncl,ncl->c", a3, b3)
