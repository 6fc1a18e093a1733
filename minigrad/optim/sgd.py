"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsLike


class SGD(Optimizer):
    """SGD, step by step as `torch.optim.SGD`:

        g = -grad if maximize else grad;  g += weight_decay * p
        buf = g (first step, a copy)  or  buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf   (only with momentum)
        p -= lr * g

    Args:
        params: Parameters or param-group dicts.
        lr: learning rate (>= 0).
        momentum: momentum factor (>= 0); 0 keeps no state.
        dampening: dampening of the momentum's gradient term.
        weight_decay: L2 penalty added to the gradient (>= 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead.
    """

    _state_arrays = ("momentum_buffer",)

    def __init__(self, params: ParamsLike, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "momentum", "weight_decay"):
            self._check_number(group, key)
        self._check_number(group, "dampening", low=-np.inf)
        self._check_flags(group, "nesterov", "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening 0, got "
                             f"momentum {group['momentum']}, dampening {group['dampening']}")

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * data
        if momentum != 0:
            g = _momentum_direction(g, state, momentum, group["dampening"], group["nesterov"])
        data -= group["lr"] * g


def _momentum_direction(g: np.ndarray, state: dict[str, Any], momentum: float,
                        dampening: float, nesterov: bool) -> np.ndarray:
    """Update the momentum buffer in place; return the direction to step along."""
    buf = state.get("momentum_buffer")
    if buf is None:
        # np.array, not .copy(): NumPy arithmetic on 0-d arrays yields immutable scalars
        buf = state["momentum_buffer"] = np.array(g, copy=True)
    else:
        buf *= momentum
        buf += g if dampening == 0 else (1 - dampening) * g
    return g + momentum * buf if nesterov else buf
