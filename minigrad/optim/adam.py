"""Adam and AdamW (decoupled weight decay), with AMSGrad, as torch's single-tensor code path."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsLike


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """`start += weight * (end - start)` in place, rounded as torch's `lerp_`."""
    np.subtract(end, start, out=scratch)
    if weight < 0.5:
        scratch *= weight
        start += scratch
    else:
        # torch switches to end - (end - start) * (1 - weight) for large weights
        scratch *= 1 - weight
        np.subtract(end, scratch, out=start)


class Adam(Optimizer):
    """Adam (Kingma & Ba), step by step as `torch.optim.Adam`:

        t += 1;  g = -grad if maximize else grad
        decoupled: p *= 1 - lr * weight_decay;  otherwise g += weight_decay * p
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v) (amsgrad; then used in place of v)
        p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: Parameters or param-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates of the first and second moment, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0), decoupled from the moments when
            `decoupled_weight_decay` (AdamW).
        amsgrad: normalise by the running maximum of the second moment.
        maximize: ascend the objective instead.
    """

    _state_arrays = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _state_counts = ("step",)
    _state_required = ("step", "exp_avg", "exp_avg_sq")
    _optional_options = {"maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "eps", "weight_decay"):
            self._check_number(group, key)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair of numbers, got {betas!r}")
        group["betas"] = tuple(betas)
        for i, beta in enumerate(betas):
            self._check_number({f"betas[{i}]": beta}, f"betas[{i}]", high=1.0, high_open=True)
        self._check_flags(group, "amsgrad", "maximize", "decoupled_weight_decay")

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            _init_state(state, data)
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        state["step"] += 1.0
        if group["maximize"]:
            g = np.negative(g)
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            data *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = g + weight_decay * data
        scratch = np.empty_like(data)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, g, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq += scratch
        second = exp_avg_sq
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on after some steps
                state["max_exp_avg_sq"] = np.zeros_like(data)
            second = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        _apply_step(data, exp_avg, second, state["step"], group, scratch)


def _init_state(state: dict[str, Any], data: np.ndarray) -> None:
    state["step"] = 0.0
    state["exp_avg"] = np.zeros_like(data)
    state["exp_avg_sq"] = np.zeros_like(data)


def _apply_step(data: np.ndarray, exp_avg: np.ndarray, second: np.ndarray, step: float,
                group: dict[str, Any], scratch: np.ndarray) -> None:
    """p -= step_size * m / (sqrt(v) / sqrt(bias_correction2) + eps), through `scratch`."""
    beta1, beta2 = group["betas"]
    step_size = group["lr"] / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    denom = np.sqrt(second, out=scratch)
    denom /= bias_correction2_sqrt
    denom += group["eps"]
    np.divide(exp_avg, denom, out=scratch)
    scratch *= step_size
    data -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`:
    `p *= 1 - lr * weight_decay` before the Adam step, the moments never see the decay.

    Args: as `Adam`, with `weight_decay` defaulting to 1e-2.
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize,
                         decoupled_weight_decay=True)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        # a state dict saved from Adam must not turn AdamW's decay into an L2 penalty
        group["decoupled_weight_decay"] = True
