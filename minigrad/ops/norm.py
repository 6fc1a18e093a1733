"""Batch normalisation as one fused op with a hand-derived backward (train and eval modes).

Symbols, per channel c: `m` values of the channel (N·H·W), `μ` their mean, `σ² ` their biased
variance, `invstd = 1/√(σ² + eps)`, `xc = x − μ`, `x̂ = xc·invstd`, `γ` the weight, `β` the
bias, `g` the incoming gradient. The derivations are in docs/derivations.md#batchnorm-train
and docs/derivations.md#batchnorm-eval.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.ops.activation import ACTIVATION_KERNELS
from minigrad.tensor import Tensor
from minigrad.fast.threads import for_each_chunk, for_each_part


class BatchNormFunction(Function):
    """y = γ·(x − μ)/√(σ² + eps) + β per channel, x of shape (N, C, *S).

    Train: μ, σ² are the batch's (biased variance); the running statistics are updated in
    place, outside the graph, with torch's rule `new = (1 − momentum)·old + momentum·batch`
    and the unbiased variance `σ²·m/(m − 1)`.
    Backward: dx = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ g·x̂, dβ = Σ g.
    Saved: xc (x minus the batch mean), invstd, γ, and β (read by the fused hard-swish only).

    Eval: μ, σ² are the running statistics, so y is affine in x.
    Backward: dx = g·γ·invstd, dγ = Σ g·(x − μ)·invstd, dβ = Σ g.
    Saved: γ·invstd, and x, μ, invstd only when dγ is needed.

    Fused activation (`activation` "relu", "relu6" or "hardswish"; None for none): the op is
    z = f(y), with f applied to each batch chunk of y while it is in cache, so y is never a
    whole array. Backward first forms g·f'(y) chunk by chunk, then goes on as above with it in
    place of g. Saved in addition: z where f' reads the output (ReLU, ReLU6); for hard-swish
    in eval mode, x. Hard-swish's f' reads y, which is recomputed chunk by chunk from xc or x
    (the same operations in the same order, so bit for bit).
    See docs/derivations.md#batchnorm-with-its-activation.
    """

    @staticmethod
    def forward(ctx: Context, x, weight, bias, running_mean=None, running_var=None,
                training=False, momentum=0.1, eps=1e-5, activation=None):
        ctx.training = training
        ctx.fused_activation = activation
        ctx.kernels = None if activation is None else ACTIVATION_KERNELS[activation]
        # (N, C, *S) -> (N, C, L): every statistic is a reduction over axes 0 and 2
        x3 = _as_ncl(x)
        if training:
            y3, mean, var, saved = _train_forward(ctx, x3, weight, bias, eps)
            if running_mean is not None:
                n_per_channel = x3.shape[0] * x3.shape[2]
                _update_running(running_mean, mean, momentum)
                _update_running(running_var, var * (n_per_channel / (n_per_channel - 1)), momentum)
        else:
            y3, saved = _eval_forward(ctx, x, weight, bias, running_mean, running_var, eps)
        y = y3.reshape(x.shape)
        # the output itself, not a view of it, so that autograd notices in-place changes to it
        ctx.save_for_backward(*saved, y if _grad_reads_output(ctx) else None)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        *saved, y = ctx.saved_tensors
        # (N, C, *S) -> (N, C, L)
        g3 = _as_ncl(g)
        fill = None
        if ctx.kernels is not None:
            g3, fill = _activation_grad(ctx, g3, saved, None if y is None else _as_ncl(y))
        backward = _train_backward if ctx.training else _eval_backward
        dx, dweight, dbias = backward(ctx, g3, saved, fill)
        return (None if dx is None else dx.reshape(g.shape)), dweight, dbias


def _grad_reads_output(ctx: Context) -> bool:
    return ctx.kernels is not None and ctx.kernels.grad_from_output


def _train_forward(ctx: Context, x3, weight, bias, eps):
    """(y, μ, σ², what backward needs besides the output: xc, invstd, γ, β)."""
    n_per_channel = x3.shape[0] * x3.shape[2]
    mean = _channel_sum_over_threads(x3) / n_per_channel
    xc, sum_sq = _centre(x3, mean)
    var = sum_sq / n_per_channel
    invstd = 1 / np.sqrt(var + eps)
    y3 = _affine(xc, _scale(invstd, weight), bias, ctx.kernels)
    return y3, mean, var, (xc, invstd, weight, bias)


def _scale(invstd, weight):
    """γ·invstd per channel (invstd alone without γ): the factor on xc, or on x in eval."""
    return invstd if weight is None else weight * invstd


def _centre(x3, mean):
    """xc = x − μ and Σ xc² per channel, in one pass over batch chunks that stay in cache."""
    xc = np.empty(x3.shape, dtype=x3.dtype)
    mean_row = _row(mean, x3)
    sums: dict[int, tuple] = {}

    def centre(rows: slice) -> None:
        np.subtract(_flat(x3[rows]), mean_row, out=_flat(xc[rows]))
        sums[rows.start] = (_channel_dot(xc[rows], xc[rows]),)

    for_each_chunk(centre, x3.shape[0], _sample_bytes(x3))
    return xc, _in_batch_order(sums)[0]


def _channel_sum_over_threads(x3):
    """_channel_sum of a whole array: the per-sample sums one batch slice per thread, then
    added over the batch in one go, so the result is the same on any number of threads."""
    per_sample = np.empty(x3.shape[:2], dtype=x3.dtype)

    def sample_sums(rows: slice) -> None:
        _sample_sums(x3[rows], out=per_sample[rows])

    for_each_part(sample_sums, x3.shape[0], x3.nbytes)
    return per_sample.sum(axis=0)


def _in_batch_order(sums: dict[int, tuple]) -> tuple:
    """Add up per-chunk sums (keyed by the chunk's first row) in batch order, so that the
    result is the same whichever thread finished first."""
    parts = [sums[start] for start in sorted(sums)]
    return tuple(sum(column) for column in zip(*parts))


def _eval_forward(ctx: Context, x, weight, bias, running_mean, running_var, eps):
    """(y, what backward needs besides the output: γ·invstd, the shift, and x, μ, invstd)."""
    invstd = 1 / np.sqrt(running_var + eps)
    scale = _scale(invstd, weight)
    shift = -running_mean * scale
    if bias is not None:
        shift += bias
    # x for dγ, and for a fused activation whose slope reads its input (recomputed from x);
    # x itself, not a reshaped view, so that autograd notices in-place changes to it; a copy
    # of μ, since the running mean may be updated in place before backward runs
    recomputes = ctx.kernels is not None and not ctx.kernels.grad_from_output
    keeps_x = ctx.needs_input_grad[1] or recomputes
    for_weight = (running_mean.copy(), invstd) if ctx.needs_input_grad[1] else (None, None)
    # (N, C, *S) -> (N, C, L)
    y3 = _affine(_as_ncl(x), scale, shift, ctx.kernels)
    return y3, (scale, shift, x if keeps_x else None, *for_weight)


def _affine(x3, scale, shift, kernels=None):
    """f(scale·x + shift) with one (C,) scale and shift per channel; shift may be None, and
    f (the activation's kernels) None for none."""
    y3 = np.empty(x3.shape, dtype=x3.dtype)
    scale_row = _row(scale, x3)
    shift_row = None if shift is None else _row(shift, x3)

    def affine(rows: slice) -> None:
        out = _flat(y3[rows])
        np.multiply(_flat(x3[rows]), scale_row, out=out)
        if shift_row is not None:
            out += shift_row
        if kernels is not None:
            kernels.forward(out, out)

    for_each_chunk(affine, x3.shape[0], _sample_bytes(x3))
    return y3


def _activation_grad(ctx: Context, g3, saved, y3):
    """An empty (N, C, L) array for g·f'(u), u = f's input (the BatchNorm output), and the
    function `fill(rows)` that computes a batch chunk of it, to be called on every chunk
    while the chunk is in cache. f' reads y3 (the output), or u recomputed from the saved xc
    (train) or x (eval) exactly as the forward computed it."""
    kernels = ctx.kernels
    if kernels.grad_from_output:
        source, scale, shift = y3, None, None
    elif ctx.training:
        xc, invstd, weight, bias = saved
        source, scale, shift = xc, _scale(invstd, weight), bias
    else:
        scale, shift, x, _, _ = saved
        source = _as_ncl(x)
    grad = np.empty(g3.shape, dtype=g3.dtype)
    scale_row = None if scale is None else _row(scale, g3)
    shift_row = None if shift is None else _row(shift, g3)

    def activation_grad(rows: slice) -> None:
        at = _flat(source[rows])
        if scale_row is not None:
            at = np.multiply(at, scale_row)
            if shift_row is not None:
                at += shift_row
        kernels.grad(_flat(grad[rows]), _flat(g3[rows]), at)

    return grad, activation_grad


def _update_running(running, batch, momentum):
    """In place, outside the graph: running = (1 − momentum)·running + momentum·batch."""
    running *= 1 - momentum
    running += momentum * batch


def _train_backward(ctx: Context, g3, saved, fill=None):
    """fill: None, or the function that computes each chunk of g3 first (g3 is then ours to
    overwrite with dx)."""
    xc, invstd, weight, _ = saved
    n_per_channel = g3.shape[0] * g3.shape[2]
    sum_g, sum_g_xc = _grad_sums(g3, xc, fill)
    sum_g_xhat = sum_g_xc * invstd
    dx = None
    if ctx.needs_input_grad[0]:
        scale = _scale(invstd, weight)
        # γ·invstd·(g − mean(g) − x̂·mean(g·x̂)) = a·g − b·xc − c per channel, x̂ = xc·invstd
        dx = _combine(g3, xc, scale, scale * invstd * sum_g_xhat / n_per_channel,
                      scale * sum_g / n_per_channel, out=None if fill is None else g3)
    dweight = sum_g_xhat if ctx.needs_input_grad[1] else None
    dbias = sum_g if ctx.needs_input_grad[2] else None
    return dx, dweight, dbias


def _grad_sums(g3, xc, fill=None):
    """Σ g and Σ g·xc per channel, each chunk of g read once while it is in cache (and
    computed first by fill(rows) when given)."""
    sums: dict[int, tuple] = {}

    def grad_sums(rows: slice) -> None:
        if fill is not None:
            fill(rows)
        sums[rows.start] = (_channel_sum(g3[rows]), _channel_dot(g3[rows], xc[rows]))

    for_each_chunk(grad_sums, g3.shape[0], _sample_bytes(g3))
    return _in_batch_order(sums)


def _combine(g3, xc, a, b, c, out=None):
    """a·g − b·xc − c with (C,) vectors a, b, c, chunk by chunk (the temporary stays in cache),
    into a new array or into `out` (which may be g3)."""
    dx = np.empty(g3.shape, dtype=g3.dtype) if out is None else out
    a_row, b_row, c_row = (_row(v, g3) for v in (a, b, c))

    def combine(rows: slice) -> None:
        out = _flat(dx[rows])
        np.multiply(_flat(g3[rows]), a_row, out=out)
        out -= _flat(xc[rows]) * b_row
        out -= c_row

    for_each_chunk(combine, g3.shape[0], _sample_bytes(g3))
    return dx


def _eval_backward(ctx: Context, g3, saved, fill=None):
    """fill: None, or the function that computes each chunk of g3 first."""
    if fill is not None:
        for_each_chunk(fill, g3.shape[0], _sample_bytes(g3))
    scale, _, *for_weight = saved
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
    """A (C,) vector repeated to one (C·L,) row of an (N, C, L) array: broadcast over N, a
    row is much faster in NumPy than a (C, 1) column, whose inner loops are only L long."""
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

    `np.dot` on the (N·C, L) view, not `a3 @ ones`: matmul keeps the GIL when its stack holds
    500 products or fewer (N·C of a batch chunk often does), which stalls the other threads.
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


def batch_norm(
    x: Tensor,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation per channel (axis 1), as `torch.nn.functional.batch_norm`.

    Args:
        x: input of shape (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) running statistics, Tensors or arrays (or None in
            training mode); training mode updates them in place, eval mode normalises with them.
        weight, bias: optional (C,) affine parameters γ and β.
        training: normalise with the batch statistics (True) or the running ones (False).
        momentum: weight of the batch statistic in the running update, in [0, 1].
        eps: added to the variance before the square root, > 0.

    Shape: y has the shape of x.
    """
    return _batch_norm("batch_norm", x, running_mean, running_var, weight, bias, training,
                       momentum, eps, None)


def batch_norm_activation(
    x: Tensor,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    activation: str = "relu",
) -> Tensor:
    """`activation(batch_norm(x, ...))` as one fused op, equal to the two ops bit for bit.

    minigrad's own (torch has no such function): the activation runs on each batch chunk of
    the normalised values while they are in cache, and the normalised values are never kept
    as a whole array. `Conv2dNormActivation` uses it. Arguments as `batch_norm`, and:

    Args:
        activation: "relu", "relu6" or "hardswish".

    Shape: the output has the shape of x.
    """
    if activation not in ACTIVATION_KERNELS:
        known = ", ".join(repr(name) for name in ACTIVATION_KERNELS)
        raise ValueError(f"batch_norm_activation: activation must be one of {known}, "
                         f"got {activation!r}")
    return _batch_norm("batch_norm_activation", x, running_mean, running_var, weight, bias,
                       training, momentum, eps, activation)


def _batch_norm(op, x, running_mean, running_var, weight, bias, training, momentum, eps,
                activation):
    _check_batch_norm(op, x, running_mean, running_var, weight, bias, training, momentum, eps)
    stats = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    y = BatchNormFunction.apply(x, weight, bias, running_mean=stats[0], running_var=stats[1],
                                training=bool(training), momentum=float(momentum),
                                eps=float(eps), activation=activation)
    if training:
        for stat in (running_mean, running_var):
            if isinstance(stat, Tensor):
                stat._bump_version()
    return y


def _check_batch_norm(op, x, running_mean, running_var, weight, bias, training, momentum, eps):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: x must have shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    if channels == 0:
        raise ValueError(f"{op}: x must have at least one channel, got shape {x.shape}")
    named = {"running_mean": running_mean, "running_var": running_var,
             "weight": weight, "bias": bias}
    for name, value in named.items():
        _check_per_channel(op, name, value, x, channels)
    _check_scalars(op, momentum, eps)
    if training and x.numel() <= channels:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, "
                         f"got x of shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False")


def _check_per_channel(op: str, name: str, value: object, x: Tensor, channels: int) -> None:
    if value is None:
        return
    allowed = (Tensor,) if name in ("weight", "bias") else (Tensor, np.ndarray)
    if not isinstance(value, allowed):
        kinds = " or ".join(kind.__name__ for kind in allowed)
        raise TypeError(f"{op}: {name} must be a {kinds} or None, "
                        f"got {type(value).__name__}")
    if value.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {value.dtype}, x has {x.dtype}")
    if value.shape != (channels,):
        raise ValueError(f"{op}: {name} has shape {value.shape}, expected ({channels},) "
                         f"for x of shape {x.shape} ({channels} channels)")


def _check_scalars(op: str, momentum: object, eps: object) -> None:
    for name, value in (("momentum", momentum), ("eps", eps)):
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum}")
    if not eps > 0:
        raise ValueError(f"{op}: eps must be > 0, got {eps}")
