"""Losses: cross-entropy (fused log-softmax + NLL), negative log-likelihood, mean squared
error and binary cross-entropy on logits, each with torch's reductions ('mean', 'sum',
'none') and keywords.

Classification losses take the class axis at 1: input (N, C) or (N, C, d1, …) or unbatched
(C,), class-index targets (N,) / (N, d1, …) / (). Per-element losses `l` have the target's
shape; 'mean' divides their sum by a denominator `D` (the summed weights of non-ignored
targets for class-index targets), so its upstream gradient per element is `g / D`.
Derivations: docs/derivations.md#cross-entropy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.ops.elementwise import unbroadcast
from minigrad.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: np.ndarray, reduction: str, denominator: Any) -> np.ndarray:
    """Per-element losses -> the reduced loss (a 0-d array unless reduction is 'none')."""
    if reduction == "none":
        return loss
    total = np.asarray(loss.sum(), dtype=loss.dtype)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: 0/0 = nan, as torch
        return np.asarray(total / denominator, dtype=loss.dtype)


def _upstream(g: np.ndarray, reduction: str, denominator: Any, shape: tuple) -> np.ndarray:
    """The gradient reaching each per-element loss, shape `shape` (the target's)."""
    if reduction == "none":
        return g
    with np.errstate(divide="ignore"):
        per_element = g / denominator if reduction == "mean" else g
    return np.broadcast_to(per_element, shape)


def _softmax_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log p, p) along axis 1, stable: log p = (x − m) − log Σ exp(x − m), m = max."""
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    shifted -= np.log(total)
    e /= total
    return shifted, e


def _gather(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """a[n, index[n, …], …]: (N, C, *d) and (N, *d) -> (N, *d)."""
    return np.take_along_axis(a, index[:, None], axis=1)[:, 0]


class _Targets:
    """Class-index targets with `ignore_index` and class weights resolved once.

    `index` has ignored entries replaced by 0 (safe to gather with), `valid` marks the others,
    `w_t` is each target's weight (0 where ignored), `w` the (C,) weights or None.
    """

    def __init__(self, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                 dtype: np.dtype) -> None:
        self.valid = target != ignore_index
        self.index = np.where(self.valid, target, 0)
        self.w = weight
        self.w_t = self.valid.astype(dtype) if weight is None else weight[self.index] * self.valid

    def class_weights(self, ndim: int) -> np.ndarray | float:
        """The (C,) weights shaped to broadcast along axis 1 of an `ndim`-D input, or 1."""
        return 1.0 if self.w is None else self.w.reshape((-1,) + (1,) * (ndim - 2))


def _batched(x: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unbatched (C,) and () -> (1, C) and (1,)."""
    return (x[None], target[None]) if x.ndim == 1 else (x, target)


class CrossEntropy(Function):
    """l_n = −(1−ε)·w_{t_n}·log p_{n,t_n} − (ε/C)·Σ_c w_c·log p_{n,c},  p = softmax(x_n)
    (ignored targets: l_n = 0). Equivalently l_n = −Σ_c q_{n,c} log p_{n,c} with the weighted,
    smoothed target q_{n,c} = (1−ε)·w_{t_n}·[c = t_n] + (ε/C)·w_c.

    Backward: dx_n = u_n · (s_n·p_n − q_n), s_n = Σ_c q_{n,c} = (1−ε)·w_{t_n} + (ε/C)·Σ_c w_c,
    u_n the upstream gradient of l_n (g, or g/D for 'mean'); 0 for ignored targets. Without
    weights and smoothing this is u·(softmax − onehot). Saved: p and the resolved targets.
    See docs/derivations.md#cross-entropy.
    """

    @staticmethod
    def forward(ctx: Context, x, target, weight=None, ignore_index=-100, reduction="mean",
                label_smoothing=0.0):
        xb, tb = _batched(x, target)
        t = _Targets(tb, weight, ignore_index, x.dtype)
        eps, n_classes = label_smoothing, xb.shape[1]
        # np.where, not a product with the 0/1 mask: an ignored row may hold −inf logits
        with np.errstate(invalid="ignore"):
            log_p, p = _softmax_parts(xb)
            loss = np.where(t.valid, -(1 - eps) * t.w_t * _gather(log_p, t.index), 0)
            if eps > 0:
                smooth = (log_p * t.class_weights(xb.ndim)).sum(axis=1)
                loss -= np.where(t.valid, (eps / n_classes) * smooth, 0)
        ctx.save_for_backward(p, t)
        ctx.eps, ctx.reduction, ctx.in_shape = eps, reduction, x.shape
        ctx.denominator = t.w_t.sum()
        return _reduce(loss.reshape(target.shape) if reduction == "none" else loss, reduction,
                       ctx.denominator)

    @staticmethod
    def backward(ctx: Context, g):
        p, t = ctx.saved_tensors
        eps = ctx.eps
        u = _upstream(g.reshape(t.valid.shape) if ctx.reduction == "none" else g,
                      ctx.reduction, ctx.denominator, t.valid.shape)
        u = np.where(t.valid, u, 0)  # ignored targets get 0 even when D = 0 (u = inf)
        w_sum = p.shape[1] if t.w is None else t.w.sum()
        s = (1 - eps) * t.w_t + (eps / p.shape[1]) * w_sum
        dx = p * (u * s)[:, None]
        if eps > 0:
            dx -= (eps / p.shape[1]) * t.class_weights(p.ndim) * u[:, None]
        onehot_part = _gather(dx, t.index) - (1 - eps) * t.w_t * u
        np.put_along_axis(dx, t.index[:, None], onehot_part[:, None], axis=1)
        return dx.reshape(ctx.in_shape), None


class CrossEntropyProbs(Function):
    """Cross-entropy with class-probability targets y (the input's shape):
    l_n = −Σ_c q_{n,c} log p_{n,c},  q = w_c·((1−ε)·y + ε/C);  'mean' divides by N·d1·…

    Backward: dx_n = u_n·(s_n·p_n − q_n) with s_n = Σ_c q_{n,c};
    dy_{n,c} = −u_n·(1−ε)·w_c·log p_{n,c}. Saved: log p, q.
    See docs/derivations.md#cross-entropy.
    """

    @staticmethod
    def forward(ctx: Context, x, y, weight=None, reduction="mean", label_smoothing=0.0):
        xb, yb = (x[None], y[None]) if x.ndim == 1 else (x, y)
        log_p, _ = _softmax_parts(xb)
        w = 1.0 if weight is None else weight.reshape((-1,) + (1,) * (xb.ndim - 2))
        q = w * ((1 - label_smoothing) * yb + label_smoothing / xb.shape[1])
        loss = -(q * log_p).sum(axis=1)
        ctx.save_for_backward(log_p, q)
        ctx.w, ctx.eps, ctx.reduction, ctx.in_shape = w, label_smoothing, reduction, x.shape
        ctx.denominator = loss.size
        out_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
        return _reduce(loss.reshape(out_shape) if reduction == "none" else loss, reduction,
                       ctx.denominator)

    @staticmethod
    def backward(ctx: Context, g):
        log_p, q = ctx.saved_tensors
        shape = log_p.shape[:1] + log_p.shape[2:]
        u = _upstream(g.reshape(shape) if ctx.reduction == "none" else g, ctx.reduction,
                      ctx.denominator, shape)[:, None]
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = (u * (np.exp(log_p) * q.sum(axis=1, keepdims=True) - q)).reshape(ctx.in_shape)
        if ctx.needs_input_grad[1]:
            dy = (-(1 - ctx.eps) * u * ctx.w * log_p).reshape(ctx.in_shape)
        return dx, dy


class NLLLoss(Function):
    """l_n = −w_{t_n}·x_{n,t_n} (0 for ignored targets); 'mean' divides by D = Σ_n w_{t_n}.

    Backward: dx_{n,c} = −u_n·w_{t_n}·[c = t_n], u_n the upstream gradient of l_n.
    Saved: the resolved targets. See docs/derivations.md#cross-entropy.
    """

    @staticmethod
    def forward(ctx: Context, x, target, weight=None, ignore_index=-100, reduction="mean"):
        xb, tb = _batched(x, target)
        t = _Targets(tb, weight, ignore_index, x.dtype)
        with np.errstate(invalid="ignore"):  # an ignored target's logit may be −inf
            loss = np.where(t.valid, -t.w_t * _gather(xb, t.index), 0)
        ctx.save_for_backward(t)
        ctx.reduction, ctx.in_shape = reduction, x.shape
        ctx.denominator = t.w_t.sum()
        return _reduce(loss.reshape(target.shape) if reduction == "none" else loss, reduction,
                       ctx.denominator)

    @staticmethod
    def backward(ctx: Context, g):
        (t,) = ctx.saved_tensors
        u = _upstream(g.reshape(t.valid.shape) if ctx.reduction == "none" else g,
                      ctx.reduction, ctx.denominator, t.valid.shape)
        # unbatched (C,) is handled as (1, C)
        dx = np.zeros(ctx.in_shape if len(ctx.in_shape) > 1 else (1, *ctx.in_shape), g.dtype)
        picked = -np.where(t.valid, u, 0) * t.w_t  # where first: u may be inf when D = 0
        np.put_along_axis(dx, t.index[:, None], picked[:, None].astype(g.dtype), axis=1)
        return dx.reshape(ctx.in_shape), None


class MSELoss(Function):
    """l = (x − y)² elementwise (broadcast); 'mean' divides by the number of elements.

    Backward: dx = 2·u·(x − y), dy = −dx (each summed back to its input's shape), u the
    upstream gradient of l. Saved: x − y.
    """

    @staticmethod
    def forward(ctx: Context, x, y, reduction="mean"):
        diff = np.subtract(x, y)
        ctx.save_for_backward(diff)
        ctx.reduction, ctx.shapes = reduction, (np.shape(x), np.shape(y))
        return _reduce(diff * diff, reduction, diff.size)

    @staticmethod
    def backward(ctx: Context, g):
        (diff,) = ctx.saved_tensors
        u = _upstream(g, ctx.reduction, diff.size, diff.shape)
        d = 2 * u * diff
        dx = unbroadcast(d, ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-d, ctx.shapes[1]) if ctx.needs_input_grad[1] else None
        return dx, dy



class BCEWithLogits(Function):
    """Binary cross-entropy on logits, per element (x, y, w, p_w broadcast to x's shape):
    l = −w·(p_w·y·log σ(x) + (1 − y)·log(1 − σ(x))) = w·((1 − y)·x + L·softplus(−x)),
    L = 1 + (p_w − 1)·y, with softplus(−x) = log(1 + e^(−|x|)) + max(−x, 0) (stable).

    Backward (u the upstream gradient of l): dx = u·w·((1 − y) − L·σ(−x)), which is u·w·(σ(x) − y)
    when p_w = 1; dy = u·w·((p_w − 1)·softplus(−x) − x). w and p_w get no gradient (as torch).
    Saved: x, y. See docs/derivations.md#binary-cross-entropy-with-logits.
    """

    @staticmethod
    def forward(ctx: Context, x, y, weight=None, pos_weight=None, reduction="mean"):
        w = 1.0 if weight is None else weight
        big_l = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = w * ((1 - y) * x + big_l * _softplus_neg(x))
        ctx.save_for_backward(x, y)
        ctx.w, ctx.pw, ctx.big_l, ctx.reduction = w, pos_weight, big_l, reduction
        return _reduce(loss.astype(x.dtype, copy=False), reduction, x.size)

    @staticmethod
    def backward(ctx: Context, g):
        x, y = ctx.saved_tensors
        uw = _upstream(g, ctx.reduction, x.size, x.shape) * ctx.w
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = (uw * ((1 - y) - ctx.big_l * _sigmoid_neg(x))).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            slope = -x if ctx.pw is None else (ctx.pw - 1) * _softplus_neg(x) - x
            dy = (uw * slope).astype(y.dtype, copy=False)
        return dx, dy


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """softplus(−x) = log(1 + e^(−x)) without overflow."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)


def _sigmoid_neg(x: np.ndarray) -> np.ndarray:
    """σ(−x) = 1 / (1 + e^x), stable on both sides."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, e, 1.0) / (1 + e)


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_input(op: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    if x.ndim == 0 or x.shape[min(1, x.ndim - 1)] == 0:
        raise ValueError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...) with C >= 1, "
                         f"got shape {x.shape}")


def _check_index_target(op: str, x: Tensor, target: np.ndarray, ignore_index: int) -> None:
    """Integer class indices of shape (N, d1, ...) (or () for a (C,) input), each in
    [0, C) or equal to ignore_index."""
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    expected = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {x.shape} needs a target of shape {expected}, "
                         f"got {target.shape}")
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    bad = (target != ignore_index) & ((target < 0) | (target >= n_classes))
    if bad.any():
        raise ValueError(f"{op}: target {int(target[bad].flat[0])} is out of bounds for "
                         f"{n_classes} classes (valid: 0 to {n_classes - 1}, or "
                         f"ignore_index={ignore_index})")


def _weight(op: str, weight: Any, x: Tensor) -> np.ndarray | None:
    """The (C,) class weights in the input's dtype, or None."""
    if weight is None:
        return None
    w = _as_array(weight)
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: weight must be numeric, got dtype {w.dtype}")
    if w.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},) for input of shape "
                         f"{x.shape}, got {w.shape}")
    return w.astype(x.dtype, copy=False)


def _check_ignore_index(op: str, ignore_index: Any) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")


def _check_smoothing(label_smoothing: float) -> None:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float,
                                                                             np.number)):
        raise TypeError(f"cross_entropy: label_smoothing must be a number, "
                        f"got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                         f"got {label_smoothing}")


def _probability_target(x: Tensor, target: Any, ignore_index: int) -> Tensor | np.ndarray:
    y = target if isinstance(target, Tensor) else np.asarray(target)
    if y.shape == (x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()):
        raise TypeError(f"cross_entropy: class-index targets must be integers, got {y.dtype} "
                        f"of shape {y.shape} (float targets are class probabilities of the "
                        f"input's shape {x.shape})")
    if y.shape != x.shape:
        raise ValueError(f"cross_entropy: float targets are class probabilities and need the "
                         f"input's shape {x.shape}, got {y.shape}; class indices must be integers")
    if ignore_index != -100:
        raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported for "
                         "class-probability (float) targets")
    if y.dtype != x.dtype:
        raise TypeError(f"cross_entropy: probability target dtype {y.dtype} differs from "
                        f"the input's {x.dtype}")
    return y


def _legacy_reduction(op: str, size_average: bool | None, reduce: bool | None,
                      reduction: str) -> str:
    """torch's deprecated `size_average` / `reduce` flags, when given, decide the reduction
    (each defaults to True): reduce=False -> 'none', else size_average -> 'mean' or 'sum'."""
    if size_average is None and reduce is None:
        _check_reduction(op, reduction)
        return reduction
    for name, flag in (("size_average", size_average), ("reduce", reduce)):
        if flag is not None and not isinstance(flag, bool):
            raise TypeError(f"{op}: {name} must be a bool or None, got {flag!r} "
                            f"(pass the reduction by keyword: reduction={flag!r})")
    warnings.warn(f"{op}: size_average and reduce are deprecated (as in torch); "
                  "use reduction='mean', 'sum' or 'none'", UserWarning, stacklevel=3)
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def cross_entropy(input: Tensor, target: Any, weight: Any = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, as `torch.nn.functional.cross_entropy`, fused in one op.

    Args:
        input: logits (N, C), (N, C, d1, ...) or (C,).
        target: int class indices (N,), (N, d1, ...) or (); or float class probabilities of
            the input's shape.
        weight: optional (C,) rescaling weight per class.
        size_average, reduce: torch's deprecated flags; prefer `reduction`.
        ignore_index: targets equal to it contribute nothing (not even to the 'mean' divisor),
            even when their row of logits holds −inf.
        reduction: 'mean' (sum / summed weights of non-ignored targets), 'sum' or 'none'.
        label_smoothing: ε in [0, 1]; the target becomes (1 − ε)·onehot + ε/C.

    A class index outside [0, C) (other than `ignore_index`) raises `ValueError`.
    """
    _check_input("cross_entropy", input)
    reduction = _legacy_reduction("cross_entropy", size_average, reduce, reduction)
    _check_ignore_index("cross_entropy", ignore_index)
    _check_smoothing(label_smoothing)
    w = _weight("cross_entropy", weight, input)
    if _as_array(target).dtype.kind == "f":
        y = _probability_target(input, target, ignore_index)
        return CrossEntropyProbs.apply(input, y, weight=w, reduction=reduction,
                                       label_smoothing=float(label_smoothing))
    t = _as_array(target)
    _check_index_target("cross_entropy", input, t, ignore_index)
    return CrossEntropy.apply(input, t, weight=w, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=float(label_smoothing))


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities, as `torch.nn.functional.nll_loss`.

    Args:
        input: log-probabilities (N, C), (N, C, d1, ...) or (C,).
        target: int class indices (N,), (N, d1, ...) or ().
        weight, size_average, ignore_index, reduce, reduction: as `cross_entropy`.
    """
    _check_input("nll_loss", input)
    reduction = _legacy_reduction("nll_loss", size_average, reduce, reduction)
    _check_ignore_index("nll_loss", ignore_index)
    w = _weight("nll_loss", weight, input)
    t = _as_array(target)
    _check_index_target("nll_loss", input, t, ignore_index)
    return NLLLoss.apply(input, t, weight=w, ignore_index=ignore_index, reduction=reduction)


def mse_loss(input: Tensor, target: Any, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean squared error, as `torch.nn.functional.mse_loss`; shapes broadcast together and
    both input and target get gradients.

    Args:
        weight: optional, the input's shape: l = weight·(x − y)², and 'mean' divides by
            Σ weight instead of the number of elements (torch 2.13's rule).

    Shape: input and target broadcastable; output () unless reduction='none' (broadcast shape).
    """
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    for name, value in (("input", input), ("target", target)):
        if _as_array(value).dtype.kind != "f":
            raise TypeError(f"mse_loss: {name} must be floating point, "
                            f"got {_as_array(value).dtype}")
    x, y = _as_array(input), _as_array(target)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"mse_loss: input shape {x.shape} and target shape {y.shape} "
                         "do not broadcast") from None
    if x.dtype != y.dtype:
        raise TypeError(f"mse_loss: input dtype {x.dtype} and target dtype {y.dtype} differ")
    if weight is None:
        return MSELoss.apply(input, target, reduction=reduction)
    return _weighted_mse(input, target, weight, reduction)


def _weighted_mse(input: Tensor, target: Any, weight: Any, reduction: str) -> Tensor:
    """weight·(x − y)² from the unreduced op, so the weight gets a gradient too."""
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=input.dtype))
    if w.shape != input.shape:
        raise ValueError(f"mse_loss: weight must have the input's shape {input.shape}, "
                         f"got {w.shape}")
    loss = MSELoss.apply(input, target, reduction="none") * w
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable op, as torch's.

    Args:
        input: logits of any shape.
        target: probabilities in [0, 1], the input's shape and a floating dtype (gets a
            gradient when it requires one).
        weight: optional rescaling of each element, broadcastable to the input's shape.
        reduction: 'mean' (over all elements), 'sum' or 'none' (the input's shape).
        pos_weight: optional weight of the positive term, broadcastable to the input's shape
            (usually (C,) for the last axis): > 1 raises recall, < 1 precision.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    y = _as_array(target)
    if input.dtype.kind != "f" or y.dtype.kind != "f":
        raise TypeError(f"{op}: input and target must be floating point, "
                        f"got {input.dtype} and {y.dtype}")
    if y.shape != input.shape:
        raise ValueError(f"{op}: target size {y.shape} must be the same as input size "
                         f"{input.shape}")
    w, pw = (_bce_weight(op, name, value, input) for name, value in
             (("weight", weight), ("pos_weight", pos_weight)))
    return BCEWithLogits.apply(input, target if isinstance(target, Tensor) else y,
                               weight=w, pos_weight=pw, reduction=reduction)


def _bce_weight(op: str, name: str, value: Any, x: Tensor) -> np.ndarray | None:
    """A weight as an array of the input's dtype that broadcasts to the input's shape."""
    if value is None:
        return None
    if isinstance(value, Tensor) and value.requires_grad:
        raise RuntimeError(f"{op}: not differentiable with respect to {name}; "
                           "it cannot require grad (as torch)")
    w = _as_array(value)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: {name} must be numeric, got dtype {w.dtype}")
    try:
        if np.broadcast_shapes(w.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {w.shape} does not broadcast to the input's "
                         f"shape {x.shape}") from None
    return w.astype(x.dtype, copy=False)
