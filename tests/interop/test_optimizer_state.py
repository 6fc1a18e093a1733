"""`torch_optimizer_state` / `load_torch_optimizer_state` (minigrad/interop/optimizer_state.py):
training that crosses to torch (or back) after a few steps continues exactly as if it had
stayed, for SGD, Adam, AdamW and RMSprop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.interop import (
    from_torch,
    load_torch_optimizer_state,
    to_torch,
    torch_optimizer_state,
)

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=1e-2)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=1e-3)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(OPTIMIZERS)]


def _data(rng):
    return rng.standard_normal((16, 3, 6, 6)), rng.integers(0, 4, 16)


def _model():
    # no conv bias before the BatchNorm: its gradient would be rounding noise, which Adam and
    # RMSprop divide by its own size and so turn into full-sized, framework-dependent steps
    return nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 4)).double()


def _mg_steps(model, opt, x, y, n):
    for _ in range(n):
        opt.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x)), minigrad.tensor(y)).backward()
        opt.step()


def _torch_steps(model, opt, x, y, n):
    for _ in range(n):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=IDS)
def test_training_continues_in_torch_as_it_would_have_in_minigrad(name, options, rng):
    x, y = _data(rng)
    stayed = _model()
    moved = _model()
    moved.load_state_dict(stayed.state_dict())
    stay_opt = getattr(optim, name)(stayed.parameters(), **options)
    move_opt = getattr(optim, name)(moved.parameters(), **options)
    _mg_steps(stayed, stay_opt, x, y, 3)
    _mg_steps(moved, move_opt, x, y, 3)
    twin = to_torch(moved)
    torch_opt = getattr(torch.optim, name)(twin.parameters(), lr=123.0)  # lr comes from the state
    torch_opt.load_state_dict(torch_optimizer_state(move_opt))
    assert torch_opt.param_groups[0]["lr"] == options["lr"]
    _mg_steps(stayed, stay_opt, x, y, 3)
    _torch_steps(twin, torch_opt, x, y, 3)
    for key, value in stayed.state_dict().items():
        np.testing.assert_allclose(twin.state_dict()[key].numpy(), value, rtol=1e-9, atol=1e-12,
                                   err_msg=key)


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=IDS)
def test_training_comes_back_from_torch(name, options, rng):
    x, y = _data(rng)
    twin = to_torch(_model())
    torch_opt = getattr(torch.optim, name)(twin.parameters(), **options)
    _torch_steps(twin, torch_opt, x, y, 3)
    back = from_torch(twin)
    back_opt = getattr(optim, name)(back.parameters(), lr=123.0)
    load_torch_optimizer_state(back_opt, torch_opt.state_dict())
    _torch_steps(twin, torch_opt, x, y, 3)
    _mg_steps(back, back_opt, x, y, 3)
    for key, value in back.state_dict().items():
        np.testing.assert_allclose(value, twin.state_dict()[key].numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=key)
    state = back_opt.state_dict()
    assert "foreach" not in state["param_groups"][0]
    assert all(isinstance(v, (np.ndarray, float, type(None)))
               for entry in state["state"].values() for v in entry.values())


def test_state_of_another_optimizer_class_is_refused_unchanged(rng):
    model = _model()
    adam = optim.Adam(model.parameters())
    sgd_state = torch.optim.SGD(to_torch(model).parameters(), lr=0.5).state_dict()
    before = adam.state_dict()
    with pytest.raises(ValueError, match="'betas'.*another optimizer class"):
        load_torch_optimizer_state(adam, sgd_state)
    assert adam.state_dict() == before


def test_unsupported_optimizers_and_states_raise():
    class Custom(optim.SGD):
        pass

    params = list(_model().parameters())
    with pytest.raises(TypeError, match="got Custom"):
        torch_optimizer_state(Custom(params))
    with pytest.raises(TypeError, match="load_torch_optimizer_state"):
        load_torch_optimizer_state(Custom(params), {"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        load_torch_optimizer_state(optim.SGD(params), {"state": {}})
