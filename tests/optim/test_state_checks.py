"""Optimizer state is checked where it enters: `load_state_dict` refuses a bad group or state
entry (naming the optimizer, the entry and the value) before changing anything, and `step`
refuses bad gradients or state before it moves any parameter."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn.parameter import Parameter

SHAPES = [(2, 2), (), (3,), (1, 2, 2, 2)]


def _trained(name: str, **kwargs) -> tuple[optim.Optimizer, list[Parameter]]:
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]
    opt = getattr(optim, name)(params, lr=0.1, **kwargs)
    for _ in range(2):
        for p in params:
            p.grad = minigrad.tensor(np.array(rng.standard_normal(p.shape), dtype=np.float32))
        opt.step()
    return opt, params


def _snapshot(opt, params):
    return [p.data.copy() for p in params], copy.deepcopy(opt.state_dict())


def _assert_unchanged(opt, params, snapshot) -> None:
    data, saved = snapshot
    for p, before in zip(params, data):
        np.testing.assert_array_equal(p.data, before)
    now = opt.state_dict()
    assert now["param_groups"] == saved["param_groups"]
    assert now["state"].keys() == saved["state"].keys()
    for index, entry in saved["state"].items():
        assert now["state"][index].keys() == entry.keys()
        for key, value in entry.items():
            assert type(now["state"][index][key]) is type(value)
            np.testing.assert_array_equal(now["state"][index][key], value)


def _set(path, value):
    """A change to a state dict: set `sd[path[0]][path[1]]...` to `value` (or delete it)."""
    def change(sd):
        *parents, last = path
        node = sd
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return sd
    return change


_DELETE = object()

LOAD_CASES = [
    # (optimizer, options, change, error, message)
    ("SGD", dict(momentum=0.9), _set(("state", 1, "momentum_buffer"), [0.5]),
     TypeError,
     r"SGD.load_state_dict: state\[1\]\['momentum_buffer'\] must be an array, got \[0.5\]"),
    ("SGD", dict(momentum=0.9), _set(("state", 0, "momentum_buffer"), np.zeros((), np.float32)),
     ValueError,
     r"state\[0\]\['momentum_buffer'\] has shape \(\), its parameter has shape \(2, 2\)"),
    ("SGD", dict(momentum=0.9), _set(("state", 3, "momentum_buffer"), np.zeros((2, 2, 2))),
     ValueError, r"state\[3\]\['momentum_buffer'\] has shape \(2, 2, 2\)"),
    ("SGD", dict(momentum=0.9), _set(("state", 2, "momentum_buffer"), np.zeros(3, np.int64)),
     TypeError, r"state\[2\]\['momentum_buffer'\] must be a floating point array, got dtype int64"),
    ("SGD", dict(momentum=0.9), _set(("state", 1, "momentum_buffer"), "0.5"),
     TypeError, r"state\[1\]\['momentum_buffer'\] must be an array, got '0.5'"),
    ("SGD", dict(momentum=0.9), _set(("state", 1, "velocity"), np.zeros(())),
     ValueError, r"state\[1\] has an unknown entry 'velocity'"),
    ("SGD", dict(momentum=0.9), _set(("state", 1), [1.0]),
     TypeError, r"state\[1\] must be a dict, got \[1.0\]"),
    ("SGD", dict(momentum=0.9), _set(("state", 7), {}),
     ValueError, r"state refers to parameter 7"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "momentum"), _DELETE),
     ValueError, r"SGD.load_state_dict: param_groups\[0\] lacks the key 'momentum'"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "params"), _DELETE),
     ValueError, r"param_groups\[0\] lacks the key 'params'"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "params"), [0, 1, 1, 2]),
     ValueError, r"a parameter index appears twice in param_groups: \[0, 1, 1, 2\]"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "params"), "0123"),
     TypeError, r"param_groups\[0\]\['params'\] must be a list of ints, got '0123'"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "nesterov"), "yes"),
     TypeError, r"param_groups\[0\]: nesterov must be a bool, got 'yes'"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0, "lr"), None),
     TypeError, r"param_groups\[0\]: lr must be a number, got None"),
    ("SGD", dict(momentum=0.9), _set(("param_groups", 0), None),
     TypeError, r"param_groups\[0\] must be a dict, got None"),
    ("SGD", dict(momentum=0.9), _set(("param_groups",), {"lr": 0.1}),
     TypeError, r"'param_groups' must be a list, got \{'lr': 0.1\}"),
    ("SGD", dict(momentum=0.9), _set(("state",), None),
     TypeError, r"'state' must be a dict, got None"),
    ("SGD", dict(momentum=0.9), _set(("state",), _DELETE),
     ValueError, r"the state dict lacks the key 'state'"),
    ("Adam", dict(amsgrad=True), _set(("state", 1, "max_exp_avg_sq"), [0.1]),
     TypeError, r"Adam.load_state_dict: state\[1\]\['max_exp_avg_sq'\] must be an array"),
    ("Adam", dict(amsgrad=True), _set(("state", 3, "max_exp_avg_sq"), np.zeros(8)),
     ValueError, r"state\[3\]\['max_exp_avg_sq'\] has shape \(8,\)"),
    ("Adam", dict(), _set(("state", 0, "exp_avg_sq"), _DELETE),
     ValueError, r"Adam.load_state_dict: state\[0\] lacks 'exp_avg_sq'"),
    ("Adam", dict(), _set(("state", 0, "step"), -1.0),
     ValueError, r"state\[0\]\['step'\] must be a whole number >= 0, got -1.0"),
    ("Adam", dict(), _set(("state", 0, "step"), "2"),
     TypeError, r"state\[0\]\['step'\] must be a number, got '2'"),
    ("Adam", dict(), _set(("param_groups", 0, "betas"), 0.9),
     ValueError, r"Adam.load_state_dict: param_groups\[0\]: betas must be a pair"),
    ("AdamW", dict(), _set(("param_groups", 0, "amsgrad"), None),
     TypeError, r"AdamW.load_state_dict: param_groups\[0\]: amsgrad must be a bool, got None"),
    ("RMSprop", dict(centered=True), _set(("state", 2, "grad_avg"), np.zeros(())),
     ValueError, r"RMSprop.load_state_dict: state\[2\]\['grad_avg'\] has shape \(\)"),
    ("RMSprop", dict(momentum=0.5), _set(("state", 1, "momentum_buffer"), (0.0,)),
     TypeError, r"state\[1\]\['momentum_buffer'\] must be an array, got \(0.0,\)"),
]


@pytest.mark.parametrize("name,options,change,error,message", LOAD_CASES,
                         ids=[f"{c[0]}-{c[4][-40:]}" for c in LOAD_CASES])
def test_bad_state_dict_is_refused_before_anything_changes(name, options, change, error,
                                                            message) -> None:
    opt, params = _trained(name, **options)
    snapshot = _snapshot(opt, params)
    broken = copy.deepcopy(opt.state_dict())
    broken["param_groups"][0]["lr"] = 0.5  # a good change that must not be applied either
    broken = change(broken)
    with pytest.raises(error, match=message) as info:
        opt.load_state_dict(broken)
    assert type(info.value) is error
    _assert_unchanged(opt, params, snapshot)


@pytest.mark.parametrize("name,options", [("SGD", dict(momentum=0.9)), ("Adam", {}),
                                          ("Adam", dict(amsgrad=True)), ("AdamW", {}),
                                          ("RMSprop", dict(momentum=0.5, centered=True))])
def test_loaded_state_is_arrays_of_the_parameters_dtype_also_for_0d_parameters(name,
                                                                               options) -> None:
    opt, params = _trained(name, **options)
    saved = opt.state_dict()
    for entry in saved["state"].values():  # as torch saves them: float64 arrays, 0-d steps
        for key, value in entry.items():
            entry[key] = np.asarray(value, dtype=np.float64)
    fresh = getattr(optim, name)(params, lr=1.0, **options)
    fresh.load_state_dict(saved)
    for p in params:
        for key, value in fresh.state[p].items():
            if key == "step":
                assert type(value) is float
            else:
                assert type(value) is np.ndarray and value.dtype == np.float32, key
                assert value.shape == p.shape, key


def test_old_files_with_python_floats_for_0d_state_still_load_as_arrays() -> None:
    opt, params = _trained("SGD", momentum=0.9)
    saved = opt.state_dict()
    saved["state"][1]["momentum_buffer"] = float(saved["state"][1]["momentum_buffer"])
    opt.load_state_dict(saved)
    assert type(opt.state[params[1]]["momentum_buffer"]) is np.ndarray


def test_torch_style_none_momentum_buffer_is_dropped() -> None:
    opt, params = _trained("SGD")
    saved = opt.state_dict()
    saved["state"] = {i: {"momentum_buffer": None} for i in range(len(params))}
    opt.load_state_dict(saved)
    assert all("momentum_buffer" not in opt.state[p] for p in params)


STEP_CASES = [
    # (what breaks, error, message)
    (lambda opt, params: opt.state[params[3]].__setitem__("momentum_buffer", [0.0] * 8),
     TypeError, r"SGD.step: state\[3\]\['momentum_buffer'\] must be an array, got \[0.0,"),
    (lambda opt, params: opt.state[params[1]].__setitem__("momentum_buffer", 0.5),
     TypeError, r"SGD.step: state\[1\]\['momentum_buffer'\] must be an array, got 0.5"),
    (lambda opt, params: opt.state[params[2]].__setitem__("momentum_buffer", np.zeros(())),
     ValueError, r"SGD.step: state\[2\]\['momentum_buffer'\] has shape \(\)"),
    (lambda opt, params: setattr(params[3], "grad", "x"),
     TypeError, r"SGD.step: the gradient of parameter 3 must be a Tensor, got 'x'"),
    (lambda opt, params: setattr(params[3], "grad", [[1.0]]),
     TypeError, r"SGD.step: the gradient of parameter 3 must be a Tensor, got \[\[1.0\]\]"),
]


@pytest.mark.parametrize("breaks,error,message", STEP_CASES,
                         ids=[c[2][:50] for c in STEP_CASES])
def test_step_with_bad_state_or_gradient_moves_no_parameter(breaks, error, message) -> None:
    opt, params = _trained("SGD", momentum=0.9)
    for p in params:
        p.grad = minigrad.ones(*p.shape)
    data = [p.data.copy() for p in params]
    buffers = {i: np.array(opt.state[p]["momentum_buffer"]) for i, p in enumerate(params)}
    try:
        breaks(opt, params)
    except (TypeError, ValueError):
        pass  # a Tensor that refuses a bad .grad when it is set is fine too
    else:
        with pytest.raises(error, match=message):
            opt.step()
    for i, p in enumerate(params):
        np.testing.assert_array_equal(p.data, data[i])
        if isinstance(opt.state[p]["momentum_buffer"], np.ndarray) and \
                opt.state[p]["momentum_buffer"].shape == p.shape:
            np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], buffers[i])


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_overflow_under_numpy_raise_mode_gives_inf_as_torch_and_never_stops_mid_step(name):
    params = [Parameter(np.ones(3, np.float32)), Parameter(np.ones(2, np.float32))]
    opt = getattr(optim, name)(params, lr=1.0)
    params[0].grad = minigrad.tensor(np.ones(3, np.float32))
    params[1].grad = minigrad.tensor(np.full(2, 3e38, np.float32))  # g * g overflows
    with np.errstate(all="raise"):
        opt.step()
    assert not np.array_equal(params[0].data, np.ones(3))  # the first one moved as well
    import torch

    theirs = [torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)]
    their_opt = getattr(torch.optim, name)(theirs, lr=1.0)
    theirs[0].grad, theirs[1].grad = torch.ones(3), torch.full((2,), 3e38)
    their_opt.step()
    for p, q in zip(params, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6)
