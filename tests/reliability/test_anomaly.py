"""`detect_anomaly` names the op (its Function class) and the user's file:line, for a NaN
made in a forward and for one that first appears in a backward; tests/test_autograd.py
checks the op names, these check the places."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import minigrad
from minigrad import nn


def _here(offset: int = 0) -> str:
    """'this file:line' of the caller's line plus `offset`."""
    caller = inspect.currentframe().f_back
    return f"{caller.f_code.co_filename}:{caller.f_lineno + offset}"


def test_detect_anomaly_names_log_and_the_line_of_a_negative_log_in_forward():
    x = minigrad.tensor([2.0, -1.0], requires_grad=True)
    with minigrad.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            where = _here(1)
            (x * 3).log()
    message = str(info.value)
    assert message.startswith("detect_anomaly: Log produced NaN or Inf in its forward")
    assert message.endswith(f"created at {where}")


def test_detect_anomaly_names_sqrt_and_its_line_when_its_backward_first_gives_inf():
    x = minigrad.tensor([0.0, 4.0], requires_grad=True)
    with minigrad.detect_anomaly():
        where = _here(1)
        y = minigrad.sqrt(x)  # finite forward: sqrt(0) = 0; backward 1/(2·sqrt(0)) = inf
        loss = (y * 2).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert re.match(r"detect_anomaly: Sqrt produced NaN or Inf in its backward", message)
    assert message.endswith(f"created at {where}")
    assert x.grad is None  # nothing reached the leaf


class _Scaled(nn.Module):
    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        self.line = _here(1)
        return minigrad.log(x) * 2


def test_detect_anomaly_points_at_the_users_module_not_at_minigrad_internals():
    model = nn.Sequential(nn.Linear(2, 2), _Scaled())
    with minigrad.no_grad():
        model[0].weight.copy_(np.array([[1.0, 0.0], [0.0, -1.0]], np.float32))
        model[0].bias.zero_()
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        model(minigrad.ones(1, 2))
    assert "Log produced NaN or Inf in its forward" in str(info.value)
    assert str(info.value).endswith(f"created at {model[1].line}")


def test_detect_anomaly_in_backward_only_says_how_to_find_the_line():
    x = minigrad.tensor([0.0], requires_grad=True)
    loss = minigrad.sqrt(x).sum()
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        loss.backward()
    assert "Sqrt produced NaN or Inf in its backward" in str(info.value)
    assert "run the forward pass inside detect_anomaly()" in str(info.value)


def test_detect_anomaly_finds_user_code_in_a_checkout_named_minigrad():
    # CI checks the project out as .../minigrad/minigrad: user files there are still the user's
    filename = "/home/runner/work/minigrad/minigrad/tests/test_user.py"
    code = compile("\n\nminigrad.log(minigrad.tensor([-1.0]))\n", filename, "exec")
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        exec(code, {"minigrad": minigrad})
    assert str(info.value).endswith(f"created at {filename}:3")
