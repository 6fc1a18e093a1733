"""RMSprop (Hinton's lecture 6e), centered and with momentum, as torch's single-tensor path."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.adam import lerp_
from minigrad.optim.optimizer import Optimizer, ParamsLike


class RMSprop(Optimizer):
    """RMSprop, step by step as `torch.optim.RMSprop`:

        g = -grad if maximize else grad;  g += weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        centered: a = lerp(a, g, 1 - alpha), denom = sqrt(v - a * a) + eps
        otherwise denom = sqrt(v) + eps
        momentum > 0: buf = momentum * buf + g / denom, p -= lr * buf
        otherwise p -= lr * g / denom

    Args:
        params: Parameters or param-group dicts.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the squared-gradient average (>= 0).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by the estimated variance of the gradient instead.
        maximize: ascend the objective instead.
    """

    _state_arrays = ("square_avg", "momentum_buffer", "grad_avg")
    _state_counts = ("step",)
    _state_required = ("step", "square_avg")

    def __init__(self, params: ParamsLike, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            self._check_number(group, key)
        self._check_flags(group, "centered", "maximize")

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        _ensure_state(state, data, group)
        state["step"] += 1.0
        alpha = group["alpha"]
        if group["maximize"]:
            g = np.negative(g)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * data
        square_avg = state["square_avg"]
        scratch = np.multiply(g, g, out=np.empty_like(data))
        scratch *= 1 - alpha
        square_avg *= alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1 - alpha, scratch)
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(square_avg, out=scratch)
        scratch += group["eps"]
        _apply_step(data, g, scratch, state, group)


def _ensure_state(state: dict[str, Any], data: np.ndarray, group: dict[str, Any]) -> None:
    """Create the buffers the group's options need (also when an option is switched on later)."""
    if not state:
        state["step"] = 0.0
        state["square_avg"] = np.zeros_like(data)
    if group["momentum"] > 0 and "momentum_buffer" not in state:
        state["momentum_buffer"] = np.zeros_like(data)
    if group["centered"] and "grad_avg" not in state:
        state["grad_avg"] = np.zeros_like(data)


def _apply_step(data: np.ndarray, g: np.ndarray, denom: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
    """p -= lr * (momentum buffer or g / denom); `denom` is overwritten as scratch."""
    step = np.divide(g, denom, out=denom)
    if group["momentum"] > 0:
        buf = state["momentum_buffer"]
        buf *= group["momentum"]
        buf += step
        step = np.multiply(buf, group["lr"], out=denom)
    else:
        step *= group["lr"]
    data -= step
