"""A small trained model, its optimizer and inputs, and a snapshot of every array a bad call
must leave alone (parameters, buffers, gradients, optimizer state and options, the inputs)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
from minigrad import nn, optim


@dataclass
class World:
    """What a bad call may touch: a Conv-BN-ReLU6-pool-Linear model after one SGD step."""

    model: nn.Module
    opt: optim.Optimizer
    x: minigrad.Tensor
    logits: minigrad.Tensor


def make_world(seed: int = 0) -> World:
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = minigrad.randn(2, 3, 6, 6)
    model(x).sum().backward()
    opt.step()  # momentum buffers exist, BN running statistics moved
    return World(model, opt, x, minigrad.randn(4, 5))


def snapshot(world: World) -> dict[str, Any]:
    """Copies of every array and option of the world."""
    arrays = {f"state_dict.{k}": np.array(v, copy=True)
              for k, v in world.model.state_dict().items()}
    for name, p in world.model.named_parameters():
        arrays[f"grad.{name}"] = None if p.grad is None else p.grad.data.copy()
    for i, state in enumerate(world.opt.state.values()):
        arrays.update({f"opt.state.{i}.{k}": np.array(v, copy=True) for k, v in state.items()})
    groups = [{k: v for k, v in g.items() if k != "params"} for g in world.opt.param_groups]
    arrays["opt.groups"] = copy.deepcopy(groups)
    # summary() swaps forwards and modes while it runs: both must be back afterwards
    arrays["modes"] = [m.training for m in world.model.modules()]
    arrays["shadowed"] = [sorted(vars(m)) for m in world.model.modules()]
    arrays["x"] = world.x.data.copy()
    arrays["logits"] = world.logits.data.copy()
    return arrays


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before.keys() == after.keys(), "the set of arrays/state entries changed"
    for key, value in before.items():
        if isinstance(value, np.ndarray) or isinstance(after[key], np.ndarray):
            assert isinstance(after[key], np.ndarray) and isinstance(value, np.ndarray), \
                f"{key} changed: {value!r} -> {after[key]!r}"
            assert after[key].dtype == value.dtype, f"{key} changed dtype"
            np.testing.assert_array_equal(after[key], value, err_msg=f"{key} changed")
        else:
            assert after[key] == value, f"{key} changed: {value!r} -> {after[key]!r}"


def assert_clear_message(error: BaseException, where: str, bad: str) -> None:
    """The message starts with the function's name and quotes the offending value."""
    message = str(error)
    assert re.match(re.escape(where) + r"\b", message), \
        f"message does not start with {where!r}: {message!r}"
    assert bad in message, f"message does not name {bad!r}: {message!r}"
