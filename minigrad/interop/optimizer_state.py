"""Optimizer state across to PyTorch and back, so that training continues where it stopped.

`torch_optimizer_state(opt)` is `opt.state_dict()` in torch's layout and types (momentum
buffers and moments as torch tensors, `step` as torch's float32 scalar tensor), ready for
`torch_optimizer.load_state_dict`. `load_torch_optimizer_state(opt, state)` is the inverse.
Both frameworks number parameters by their position across the groups, so the torch optimizer
must hold the translated module's parameters in the order the minigrad one held the originals
(`optimizer(model.parameters())` on both sides does). SGD, Adam, AdamW and RMSprop share
their update rules, option names and state names with torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim import SGD, Adam, AdamW, Optimizer, RMSprop

_SUPPORTED = (SGD, Adam, AdamW, RMSprop)
# torch's options that choose an implementation, not an update rule: minigrad has one
_TORCH_IMPLEMENTATION_OPTIONS = ("foreach", "capturable", "differentiable", "fused")


def torch_optimizer_state(optimizer: Optimizer) -> dict[str, Any]:
    """`optimizer`'s state dict as the same torch optimizer's: load it with
    `torch.optim.<same class>(torch_model.parameters()).load_state_dict(state)`.

    Raises:
        TypeError: `optimizer` is not a minigrad SGD, Adam, AdamW or RMSprop.
    """
    import torch

    _check_supported("torch_optimizer_state", optimizer)
    saved = optimizer.state_dict()
    state = {index: {key: _to_torch_value(torch, key, value) for key, value in entry.items()}
             for index, entry in saved["state"].items()}
    return {"state": state, "param_groups": saved["param_groups"]}


def load_torch_optimizer_state(optimizer: Optimizer, state_dict: dict[str, Any]) -> None:
    """Load a torch optimizer's `state_dict()` into the minigrad optimizer of the same class.

    Tensors become NumPy arrays of the parameters' dtypes and torch's implementation flags
    (`foreach`, `fused`, ...) are dropped; everything is checked first, on error nothing
    changes.

    Raises:
        TypeError: `optimizer` is not a minigrad SGD, Adam, AdamW or RMSprop.
        ValueError: a group lacks one of `optimizer`'s options (the state of another class),
            or the groups, parameter counts or state shapes differ.
    """
    _check_supported("load_torch_optimizer_state", optimizer)
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        raise ValueError("load_torch_optimizer_state: expected a torch optimizer state dict "
                         "(a dict with keys 'state' and 'param_groups')")
    groups = [_minigrad_group(optimizer, group) for group in state_dict["param_groups"]]
    state = {index: {key: _to_numpy(value) for key, value in entry.items()}
             for index, entry in state_dict["state"].items()}
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _check_supported(op: str, optimizer: Any) -> None:
    if type(optimizer) not in _SUPPORTED:
        names = ", ".join(cls.__name__ for cls in _SUPPORTED)
        raise TypeError(f"{op}: expected a minigrad {names} optimizer, "
                        f"got {type(optimizer).__name__}")


def _to_torch_value(torch: Any, key: str, value: Any) -> Any:
    if key == "step":
        # torch keeps the step count as a float32 scalar tensor
        return torch.tensor(float(value), dtype=torch.float32)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    return value


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):  # a torch tensor
        return np.array(value.detach().cpu().numpy(), copy=True)
    return value


def _minigrad_group(optimizer: Optimizer, group: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in optimizer.defaults if key not in group]
    if missing:
        raise ValueError(f"load_torch_optimizer_state: a parameter group has no {missing[0]!r}, "
                         f"which {type(optimizer).__name__} needs: was the state saved from "
                         f"another optimizer class?")
    kept = {key: value for key, value in group.items()
            if key not in _TORCH_IMPLEMENTATION_OPTIONS}
    return {key: _to_numpy(value) if hasattr(value, "detach") else value
            for key, value in kept.items()}
