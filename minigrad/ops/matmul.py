"""Matrix products: `matmul` (torch.matmul semantics) and `linear` (y = x Wᵀ + b, one fused op).

Both reshape to 2-D where they can, so that the work is one BLAS call instead of a loop of
small products over batch dims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.ops.elementwise import unbroadcast
from minigrad.tensor import Tensor


def _as_operand(op: str, x: Any, like: Any) -> Tensor:
    """Tensors pass; arrays and lists become constants of the other operand's float dtype
    (as Python numbers do in elementwise ops), so a float32 model stays float32."""
    if isinstance(x, Tensor):
        return x
    if np.ndim(x) == 0:
        raise ValueError(f"{op}: both arguments must be at least 1-D, got the scalar {x!r}")
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else None
    return Tensor(x, dtype=dtype)


def _check_dtypes(op: str, *tensors: Tensor | None) -> None:
    dtypes = {t.dtype for t in tensors if t is not None}
    if len(dtypes) > 1:
        names = ", ".join(str(t.dtype) for t in tensors if t is not None)
        raise TypeError(f"{op}: expected one dtype, got {names}; convert with .float() or "
                        ".double()")


def _mm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y, as one BLAS call on (B*M, K) @ (K, N) when only x has batch dims."""
    if x.ndim > 2 and y.ndim == 2:
        # (..., M, K) -> (B*M, K), and the product back to (..., M, N)
        return (x.reshape(-1, x.shape[-1]) @ y).reshape(x.shape[:-1] + y.shape[1:])
    return np.matmul(x, y)


class MatMul(Function):
    """y = a @ b (torch.matmul): 1-D operands are promoted to a row (a) or a column (b) and
    the added dim is removed from y; batch dims broadcast.

    Backward, on the promoted 2-D/batched forms: da = g bᵀ, db = aᵀ g, each summed over the
    batch dims that broadcasting added and reshaped to its input's shape. Saved: a, b.
    See docs/derivations.md#matmul.
    """

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return _mm(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a  # (K,) -> (1, K)
        b2 = b[:, None] if b.ndim == 1 else b  # (K,) -> (K, 1)
        g2 = g[..., None] if b.ndim == 1 else g  # (..., M) -> (..., M, 1)
        g2 = g2[..., None, :] if a.ndim == 1 else g2  # (..., N) -> (..., 1, N)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = unbroadcast(_mm(g2, b2.T if b2.ndim == 2 else np.swapaxes(b2, -1, -2)),
                             a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = _right_grad(a2, b2, g2).reshape(b.shape)
        return da, db


def _right_grad(a2: np.ndarray, b2: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """db = aᵀ g summed over the batch dims that b does not have."""
    if b2.ndim == 2 and a2.ndim > 2:
        # (..., M, K) -> (B*M, K) and (..., M, N) -> (B*M, N): the batch sum happens inside BLAS
        return a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
    return unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape)


def _matmul_shape_error(a: Tensor, b: Tensor) -> str | None:
    if a.ndim == 0 or b.ndim == 0:
        return "both arguments must be at least 1-D"
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != k_b:
        return f"the last dim of the first ({a.shape[-1]}) must equal the contracted dim " \
               f"of the second ({k_b})"
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        return f"batch dims {a.shape[:-2]} and {b.shape[:-2]} do not broadcast"
    return None


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with torch.matmul semantics (vectors, matrices, broadcast batches)."""
    a, b = _as_operand("matmul", a, b), _as_operand("matmul", b, a)
    error = _matmul_shape_error(a, b)
    if error:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied: {error}")
    _check_dtypes("matmul", a, b)
    return MatMul.apply(a, b)


class Linear(Function):
    """y = x Wᵀ + b over the last dim of x (torch.nn.functional.linear), fused in one node.

    With x2 = x as (P, in) (P = product of the leading dims) and g2 = g as (P, out):
    dx = g2 W, dW = g2ᵀ x2 (the sum over leading dims happens inside the product),
    db = Σ_P g2. Saved: x, W. See docs/derivations.md#linear.
    """

    @staticmethod
    def forward(ctx: Context, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        y = x.reshape(-1, x.shape[-1]) @ weight.T  # (*, in) -> (P, in) -> (P, out)
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + weight.shape[:1])  # (P, out) -> (*, out)

    @staticmethod
    def backward(ctx: Context, g):
        x, weight = ctx.saved_tensors
        g2 = g.reshape(-1, weight.shape[0])  # (*, out) -> (P, out)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = (g2 @ weight).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            dw = g2.T @ x.reshape(-1, x.shape[-1])  # (out, P) @ (P, in)
        if ctx.needs_input_grad[2]:
            db = g2.sum(axis=0)
        return dx, dw, db


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b.

    Shape:
        x: (*, in_features), weight: (out_features, in_features), bias: (out_features,);
        y: (*, out_features).
    """
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if x.ndim < 1 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: x of shape {x.shape} and weight of shape {weight.shape} "
                         "do not fit: need x (*, in_features) and weight (out_features, "
                         "in_features)")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"linear: bias has shape {bias.shape}, expected "
                         f"({weight.shape[0]},) for weight of shape {weight.shape}")
    _check_dtypes("linear", x, weight, bias)
    return Linear.apply(x, weight, bias)
