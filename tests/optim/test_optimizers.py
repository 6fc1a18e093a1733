"""Optimizers against torch.optim: 20 float64 steps from the same parameters and gradients,
a state-dict round trip (through save/load) half way, per-group options, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import optim
from minigrad.nn.parameter import Parameter
from minigrad.serialization import load, save
from tests.strategies import arrays, shapes

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 20

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.4, 0.6), eps=1e-3, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-4, maximize=True)),
]


def _ids(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _gradients(seed: int = 0) -> list[list[np.ndarray | None]]:
    """Per step, one gradient per parameter; the last parameter skips every third step."""
    rng = np.random.default_rng(seed)
    steps = []
    for step in range(STEPS):
        grads = [rng.standard_normal(shape) for shape in SHAPES]
        if step % 3 == 1:
            grads[-1] = None
        steps.append(grads)
    return steps


def _initial(seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES]


def _step_both(mg_opt, mg_params, torch_opt, torch_params, grads) -> None:
    for p, q, g in zip(mg_params, torch_params, grads):
        p.grad = None if g is None else minigrad.tensor(g)
        q.grad = None if g is None else torch.tensor(g)
    mg_opt.step()
    torch_opt.step()


def _assert_params_close(mg_params, torch_params, atol: float = 1e-6) -> None:
    for p, q in zip(mg_params, torch_params):
        np.testing.assert_allclose(p.data, q.detach().numpy(), atol=atol, rtol=0)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_optimizer_matches_torch_with_state_dict_round_trip(case, tmp_path) -> None:
    name, kwargs = case
    start = _initial()
    mg_params = [Parameter(a.copy()) for a in start]
    torch_params = [torch.tensor(a, requires_grad=True) for a in start]
    mg_opt = getattr(optim, name)(mg_params, **kwargs)
    torch_opt = getattr(torch.optim, name)(torch_params, **kwargs)
    grads = _gradients()
    for step_grads in grads[: STEPS // 2]:
        _step_both(mg_opt, mg_params, torch_opt, torch_params, step_grads)
    _assert_params_close(mg_params, torch_params)

    save({"optimizer": mg_opt.state_dict()}, tmp_path / "opt.npz")
    mg_params = [Parameter(p.data.copy()) for p in mg_params]
    mg_opt = getattr(optim, name)(mg_params, lr=123.0)
    mg_opt.load_state_dict(load(tmp_path / "opt.npz")["optimizer"])
    for step_grads in grads[STEPS // 2:]:
        _step_both(mg_opt, mg_params, torch_opt, torch_params, step_grads)
    _assert_params_close(mg_params, torch_params)


unit = st.floats(0.0, 0.99, allow_nan=False)
OPTIONS = {
    "SGD": st.fixed_dictionaries({"lr": st.floats(0.0, 1.0), "momentum": unit,
                                  "dampening": unit, "weight_decay": unit,
                                  "maximize": st.booleans()}),
    "Adam": st.fixed_dictionaries({"lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit),
                                   "eps": st.floats(1e-8, 1.0), "weight_decay": unit,
                                   "amsgrad": st.booleans(), "maximize": st.booleans()}),
    "AdamW": st.fixed_dictionaries({"lr": st.floats(0.0, 1.0), "weight_decay": unit,
                                    "amsgrad": st.booleans()}),
    # centered=False only: with a constant gradient the centered variance v - a*a is 0 up to
    # rounding, and torch's fused multiply-add can take it below 0 (NaN); the fixed cases
    # above check centered RMSprop on gradients that vary
    "RMSprop": st.fixed_dictionaries({"lr": st.floats(0.0, 0.1), "alpha": unit,
                                      "eps": st.floats(1e-8, 1.0), "momentum": unit,
                                      "weight_decay": unit, "maximize": st.booleans()}),
}


@pytest.mark.parametrize("name", list(OPTIONS))
@given(data=st.data())
def test_drawn_options_shapes_and_gradients_match_torch(name, data) -> None:
    shape = data.draw(shapes(min_dims=0, max_dims=3, max_side=4))
    kwargs = data.draw(OPTIONS[name])
    start = data.draw(arrays(shape))
    grads = [data.draw(arrays(shape)) for _ in range(5)]
    mg_params, torch_params = [Parameter(start.copy())], [torch.tensor(start, requires_grad=True)]
    mg_opt = getattr(optim, name)(mg_params, **kwargs)
    torch_opt = getattr(torch.optim, name)(torch_params, **kwargs)
    for g in grads:
        _step_both(mg_opt, mg_params, torch_opt, torch_params, [g])
    np.testing.assert_allclose(mg_params[0].data, torch_params[0].detach().numpy(),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_optimizer_state_dict_layout_matches_torch(name) -> None:
    start = _initial()
    mg_params = [Parameter(a.copy()) for a in start]
    torch_params = [torch.tensor(a, requires_grad=True) for a in start]
    kwargs = dict(lr=0.1, momentum=0.9) if name != "Adam" else dict(lr=0.1)
    mg_opt = getattr(optim, name)(mg_params, **kwargs)
    torch_opt = getattr(torch.optim, name)(torch_params, **kwargs)
    _step_both(mg_opt, mg_params, torch_opt, torch_params, _gradients()[0])
    ours, theirs = mg_opt.state_dict(), torch_opt.state_dict()
    assert list(ours["state"]) == list(theirs["state"])
    for index, entry in theirs["state"].items():
        assert set(ours["state"][index]) == set(entry)
        for key, value in entry.items():
            np.testing.assert_allclose(ours["state"][index][key], value.numpy(), atol=1e-12)
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    assert ours["param_groups"][0]["lr"] == theirs["param_groups"][0]["lr"]


def test_state_dict_arrays_are_copies() -> None:
    p = Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = minigrad.tensor(np.ones(3))
    opt.step()
    saved = opt.state_dict()["state"][0]["momentum_buffer"]
    opt.step()
    np.testing.assert_array_equal(saved, np.ones(3))


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_per_group_options_match_torch(name) -> None:
    start = _initial()
    mg_params = [Parameter(a.copy()) for a in start]
    torch_params = [torch.tensor(a, requires_grad=True) for a in start]
    extra = {"SGD": dict(momentum=0.8, nesterov=True), "Adam": dict(betas=(0.5, 0.9)),
             "RMSprop": dict(centered=True, momentum=0.3)}[name]

    def groups(params):
        return [{"params": params[:1]}, {"params": params[1:], "lr": 0.02, **extra}]

    mg_opt = getattr(optim, name)(groups(mg_params), lr=0.1)
    torch_opt = getattr(torch.optim, name)(groups(torch_params), lr=0.1)
    assert mg_opt.param_groups[1]["lr"] == 0.02 and mg_opt.param_groups[0]["lr"] == 0.1
    for step_grads in _gradients()[:10]:
        _step_both(mg_opt, mg_params, torch_opt, torch_params, step_grads)
    _assert_params_close(mg_params, torch_params)


def test_add_param_group_matches_torch() -> None:
    start = _initial()
    mg_params = [Parameter(a.copy()) for a in start]
    torch_params = [torch.tensor(a, requires_grad=True) for a in start]
    mg_opt = optim.Adam(mg_params[:2], lr=0.1)
    torch_opt = torch.optim.Adam(torch_params[:2], lr=0.1)
    mg_opt.add_param_group({"params": mg_params[2], "lr": 0.5})
    torch_opt.add_param_group({"params": torch_params[2], "lr": 0.5})
    for step_grads in _gradients()[:5]:
        _step_both(mg_opt, mg_params, torch_opt, torch_params, step_grads)
    _assert_params_close(mg_params, torch_params)


BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-0.1), "lr", "-0.1"),
    ("SGD", dict(lr=math.nan), "lr", "nan"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "momentum", "-0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-1.0), "weight_decay", "-1.0"),
    ("SGD", dict(lr=0.1, nesterov=True), "nesterov", "momentum 0"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov", "0.1"),
    ("Adam", dict(betas=(1.0, 0.999)), "betas[0]", "1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "betas[1]", "-0.1"),
    ("Adam", dict(betas=(0.9, math.nan)), "betas[1]", "nan"),
    ("Adam", dict(eps=-1e-8), "eps", "-1e-08"),
    ("AdamW", dict(weight_decay=-0.01), "weight_decay", "-0.01"),
    ("RMSprop", dict(alpha=-0.5), "alpha", "-0.5"),
    ("RMSprop", dict(momentum=math.nan), "momentum", "nan"),
]


@pytest.mark.parametrize("name,kwargs,arg,value", BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_raises_value_error_naming_optimizer_and_value(
        name, kwargs, arg, value) -> None:
    p = Parameter(np.ones(3))
    with pytest.raises(ValueError) as info:
        getattr(optim, name)([p], **kwargs)
    message = str(info.value)
    assert message.startswith(name) and arg in message and value in message
    np.testing.assert_array_equal(p.data, np.ones(3))


def test_bad_per_group_option_leaves_param_groups_unchanged() -> None:
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="SGD: invalid lr -1"):
        opt.add_param_group({"params": [b], "lr": -1})
    assert len(opt.param_groups) == 1


def test_empty_or_non_float_or_repeated_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: .*floating point.*int64"):
        optim.Adam([minigrad.tensor(np.arange(3))])
    p = Parameter(np.ones(3))
    with pytest.raises(ValueError, match="RMSprop: a parameter appears more than once"):
        optim.RMSprop([{"params": [p]}, {"params": [p]}])
    with pytest.raises(TypeError, match="SGD: .*ordered"):
        optim.SGD({p}, lr=0.1)


def _trained_adam(steps: int = 3) -> tuple[optim.Adam, list[Parameter]]:
    params = [Parameter(a.copy()) for a in _initial()]
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    for step_grads in _gradients()[:steps]:
        for p, g in zip(params, step_grads):
            p.grad = minigrad.tensor(np.ones(p.shape) if g is None else g)
        opt.step()
    return opt, params


def _snapshot(opt, params) -> tuple[list[np.ndarray], dict]:
    return [p.data.copy() for p in params], opt.state_dict()


def _assert_unchanged(opt, params, snapshot) -> None:
    data, state = snapshot
    for p, before in zip(params, data):
        np.testing.assert_array_equal(p.data, before)
    now = opt.state_dict()
    assert now["param_groups"] == state["param_groups"]
    for index, entry in state["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(now["state"][index][key], value)


@pytest.mark.parametrize("bad,error", [("shape", ValueError), ("dtype", TypeError)])
def test_failed_step_leaves_every_parameter_and_state_unchanged(bad, error) -> None:
    opt, params = _trained_adam()
    snapshot = _snapshot(opt, params)
    last = params[-1]
    wrong = np.ones((7,)) if bad == "shape" else np.ones(last.shape, dtype=np.float32)
    last.grad.data = wrong  # (`last.grad = ...` refuses it; writing `.grad.data` does not)
    with pytest.raises(error, match=f"Adam.step: a gradient has {bad}"):
        opt.step()
    _assert_unchanged(opt, params, snapshot)


def test_failed_load_state_dict_leaves_optimizer_unchanged() -> None:
    opt, params = _trained_adam()
    snapshot = _snapshot(opt, params)
    broken = opt.state_dict()
    broken["param_groups"][0]["lr"] = 0.5
    broken["state"][1]["exp_avg"] = np.zeros((9,))
    with pytest.raises(ValueError,
                       match=r"Adam.load_state_dict: state\[1\]\['exp_avg'\] has shape \(9,\)"):
        opt.load_state_dict(broken)
    broken = opt.state_dict()
    broken["param_groups"][0]["eps"] = -1.0
    with pytest.raises(ValueError,
                       match=r"Adam.load_state_dict: param_groups\[0\]: invalid eps -1.0"):
        opt.load_state_dict(broken)
    _assert_unchanged(opt, params, snapshot)


def test_zero_grad_sets_none_or_zeros_in_place() -> None:
    p = Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = minigrad.tensor(np.full(3, 2.0))
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(grad.data, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_step_keeps_float32_and_updates_in_place(name) -> None:
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    array = p.data
    version = p._version.value
    opt = getattr(optim, name)([p], lr=0.1)
    p.grad = minigrad.tensor(np.full((2, 3), 0.5, dtype=np.float32))
    opt.step()
    opt.step()
    assert p.data is array and p.data.dtype == np.float32
    assert p._version.value == version + 2
    assert not np.allclose(p.data, 1.0)
    for value in opt.state[p].values():
        assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_step_returns_closure_loss_and_skips_parameters_without_grad() -> None:
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(2.0)
    np.testing.assert_allclose(a.data, [0.0, 0.0])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state
