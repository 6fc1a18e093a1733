"""Reference kernel of batch normalisation, train and eval mode.

x has shape (N, C, *S); every statistic of channel c is over its m = N·prod(S) values. The
running statistics are updated by the op (`minigrad/ops/norm.py`), not here: in train mode
this kernel hands the batch mean and biased variance out through `batch_stats`.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function


class BatchNormFunction(Function):
    """y = γ·x̂ + β, x̂ = (x − μ)/√(σ² + eps); μ, σ² the batch's (train, σ² biased) or the running
    ones (eval). Train: dx = γ/σ·(g − mean(g) − x̂·mean(g·x̂)); eval: dx = g·γ/σ; dγ = Σ g·x̂,
    dβ = Σ g. See docs/derivations.md#batchnorm-train and #batchnorm-eval."""

    @staticmethod
    def forward(ctx: Context, x, weight, bias, running_mean=None, running_var=None,
                training=False, eps=1e-5, batch_stats=None):
        axes = (0, *range(2, x.ndim))            # every axis but the channels'
        column = (-1,) + (1,) * (x.ndim - 2)     # (C,) -> (C, 1, ...), broadcasts over (N, C, *S)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if batch_stats is not None:
                batch_stats.update(mean=mean, var=var)
        else:
            mean, var = running_mean, running_var
        sigma = np.sqrt(var + eps)
        xhat = (x - mean.reshape(column)) / sigma.reshape(column)
        gamma = np.ones_like(sigma) if weight is None else weight
        ctx.training = training
        ctx.save_for_backward(xhat, sigma, gamma)
        y = gamma.reshape(column) * xhat
        return y if bias is None else y + bias.reshape(column)

    @staticmethod
    def backward(ctx: Context, g):
        xhat, sigma, gamma = ctx.saved_tensors
        axes = (0, *range(2, g.ndim))
        column = (-1,) + (1,) * (g.ndim - 2)
        dgamma, dbeta = (g * xhat).sum(axis=axes), g.sum(axis=axes)
        if ctx.training:
            m = g.size // g.shape[1]
            g = g - dbeta.reshape(column) / m - xhat * (dgamma.reshape(column) / m)
        dx = (gamma / sigma).reshape(column) * g
        return dx, dgamma, dbeta
