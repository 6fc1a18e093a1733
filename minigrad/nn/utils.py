"""Gradient clipping, as `torch.nn.utils`: rescale or clamp the parameters' `.grad` in place
(`clip_grad_norm_` is `get_total_norm` followed by `clip_grads_with_norm_`); and, from
`minigrad.nn.fusion`, `fuse_conv_bn_eval` / `fuse_conv_bn_weights`."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.nn.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights  # noqa: F401 (re-exported)
from minigrad.tensor import Tensor

Parameters = Tensor | Iterable[Tensor]


def _grads(op: str, parameters: Parameters) -> list[Tensor]:
    """The existing `.grad` tensors of a tensor or an iterable of tensors."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, got {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def _vector_norm(array: np.ndarray, norm_type: float) -> np.ndarray:
    """torch.linalg.vector_norm of the flattened array, in the array's dtype."""
    flat = array.ravel()
    if norm_type == math.inf:
        return np.abs(flat).max(initial=0)
    if norm_type == -math.inf:
        return np.abs(flat).min(initial=math.inf)
    if norm_type == 0:
        return np.asarray(np.count_nonzero(flat), dtype=array.dtype)
    if norm_type == 2:
        return np.sqrt(np.dot(flat, flat))
    return (np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def _norm_order(op: str, norm_type: float | str) -> float:
    try:
        return float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: norm_type must be a number or 'inf', got {norm_type!r}") from None


def get_total_norm(tensors: Parameters, norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The `norm_type` norm of all `tensors` concatenated (a 0-d Tensor), computed as torch
    does: the norm of the per-tensor norms. An empty list gives 0."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = _norm_order("get_total_norm", norm_type)
    if not tensors:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    dtype = np.result_type(*[t.dtype for t in tensors])
    norms = np.stack([_vector_norm(t.data, norm_type).astype(dtype) for t in tensors])
    total = np.asarray(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; set error_if_nonfinite=False to clip anyway")
    return Tensor(total)


def clip_grads_with_norm_(parameters: Parameters, max_norm: float,
                          total_norm: Tensor | float) -> None:
    """Multiply every `.grad` in place by `min(1, max_norm / (total_norm + 1e-6))`."""
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    scale = min(float(max_norm) / (total + 1e-6), 1.0)
    for g in _grads("clip_grads_with_norm_", parameters):
        g.data *= scale
        g._bump_version()


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

    The total norm is the `norm_type` norm of all gradients concatenated; each gradient is
    multiplied in place by `min(1, max_norm / (total_norm + 1e-6))`, as torch.

    Args:
        parameters: a tensor or an iterable of tensors; those without `.grad` are skipped.
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm; `inf` (or `'inf'`) for the largest absolute value.
        error_if_nonfinite: raise `RuntimeError` when the total norm is NaN or infinite.

    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = get_total_norm(_grads("clip_grad_norm_", params), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    grads = _grads("clip_grad_value_", parameters)
    clip_value = float(clip_value)
    for g in grads:
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        g._bump_version()
