"""Resuming from state dicts continues bit for bit: N steps straight against k steps, a save
(in memory, or through minigrad.save/load), fresh parameters, optimizer and scheduler, a load
and N - k more steps; with 0-d, 1-d and 4-d float32 parameters, and against torch too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import optim
from minigrad.nn.parameter import Parameter
from minigrad.optim import lr_scheduler

SHAPES = [(), (5,), (2, 3, 2, 2)]
STEPS = 9
STOP = 4

OPTIMIZERS = {
    "SGD": ("SGD", dict(lr=0.1)),
    "SGD-momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "SGD-dampening-decay": ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    "SGD-nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "Adam": ("Adam", dict(lr=0.05)),
    "Adam-amsgrad-decay": ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    "AdamW": ("AdamW", dict(lr=0.05, weight_decay=0.2)),
    "AdamW-amsgrad": ("AdamW", dict(lr=0.05, amsgrad=True)),
    "RMSprop": ("RMSprop", dict(lr=0.01)),
    "RMSprop-centered-momentum": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5,
                                                  weight_decay=0.1)),
}

SCHEDULERS = {
    "none": None,
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.3),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=6),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=3), m.CosineAnnealingLR(o, T_max=6)],
        milestones=[3]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=0.2, total_steps=STEPS + 1),
}

# every optimizer alone, and every scheduler on a momentum SGD and on Adam (OneCycleLR cycles
# SGD's momentum and Adam's beta1)
CASES = ([(opt, "none") for opt in OPTIMIZERS]
         + [(opt, sched) for sched in SCHEDULERS if sched != "none"
            for opt in ("SGD-nesterov", "Adam-amsgrad-decay")])


def _start() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


def _gradient(step: int, index: int, value: np.ndarray) -> np.ndarray | None:
    """A gradient that depends on the parameter (so a wrong resume shows); the 1-d parameter
    has none every third step."""
    if index == 1 and step % 3 == 2:
        return None
    noise = np.random.default_rng(100 * step + index).standard_normal(value.shape)
    return np.array(np.float32(0.7) * value + noise.astype(np.float32), dtype=np.float32)


class Run:
    """Parameters, optimizer and (maybe) scheduler of one minigrad training run."""

    def __init__(self, case: tuple[str, str], start: list[np.ndarray]) -> None:
        name, kwargs = OPTIMIZERS[case[0]]
        self.params = [Parameter(a.copy()) for a in start]
        self.opt = getattr(optim, name)(self.params, **kwargs)
        make = SCHEDULERS[case[1]]
        self.sched = None if make is None else make(lr_scheduler, self.opt)

    def train(self, steps: range) -> None:
        for step in steps:
            for i, p in enumerate(self.params):
                g = _gradient(step, i, p.data)
                p.grad = None if g is None else minigrad.tensor(g)
            self.opt.step()
            if self.sched is not None:
                self.sched.step()

    def checkpoint(self) -> dict:
        return {"optimizer": self.opt.state_dict(),
                "scheduler": None if self.sched is None else self.sched.state_dict()}

    def load(self, checkpoint: dict) -> None:
        self.opt.load_state_dict(checkpoint["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(checkpoint["scheduler"])


def _resumed(case, through_file: bool, tmp_path) -> Run:
    first = Run(case, _start())
    first.train(range(STOP))
    checkpoint = first.checkpoint()
    if through_file:
        minigrad.save(checkpoint, tmp_path / "checkpoint.npz")
        checkpoint = minigrad.load(tmp_path / "checkpoint.npz")
    second = Run(case, [p.data for p in first.params])
    del first
    second.load(checkpoint)
    second.train(range(STOP, STEPS))
    return second


def _assert_state_identical(resumed: optim.Optimizer, straight: optim.Optimizer) -> None:
    a, b = resumed.state_dict(), straight.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for index, entry in b["state"].items():
        assert a["state"][index].keys() == entry.keys()
        for key, value in entry.items():
            got = a["state"][index][key]
            if isinstance(value, np.ndarray):
                assert isinstance(got, np.ndarray), f"state {index}.{key} is {type(got)}"
                assert got.dtype == value.dtype and got.shape == value.shape
                np.testing.assert_array_equal(got, value, err_msg=f"state {index}.{key}")
            else:
                assert got == value, f"state {index}.{key}"


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("case", CASES, ids=[f"{o}-{s}" for o, s in CASES])
def test_resumed_training_is_bit_for_bit_the_uninterrupted_one(case, through_file,
                                                                tmp_path) -> None:
    straight = Run(case, _start())
    straight.train(range(STEPS))
    resumed = _resumed(case, through_file, tmp_path)
    for p, q in zip(resumed.params, straight.params):
        assert p.data.dtype == q.data.dtype == np.float32
        np.testing.assert_array_equal(p.data, q.data)
    _assert_state_identical(resumed.opt, straight.opt)
    if straight.sched is not None:
        assert resumed.sched.get_last_lr() == straight.sched.get_last_lr()
        assert resumed.sched.last_epoch == straight.sched.last_epoch


def _torch_trajectory(case) -> list[np.ndarray]:
    name, kwargs = OPTIMIZERS[case[0]]
    params = [torch.tensor(a, requires_grad=True) for a in _start()]
    opt = getattr(torch.optim, name)(params, **kwargs)
    make = SCHEDULERS[case[1]]
    sched = None if make is None else make(torch.optim.lr_scheduler, opt)
    for step in range(STEPS):
        for i, p in enumerate(params):
            g = _gradient(step, i, p.detach().numpy())
            p.grad = None if g is None else torch.from_numpy(g)
        opt.step()
        if sched is not None:
            sched.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("case", CASES, ids=[f"{o}-{s}" for o, s in CASES])
def test_resumed_training_follows_torchs_uninterrupted_trajectory(case, tmp_path) -> None:
    resumed = _resumed(case, True, tmp_path)
    for p, expected in zip(resumed.params, _torch_trajectory(case)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["SGD-momentum", "Adam-amsgrad-decay", "AdamW",
                                  "RMSprop-centered-momentum"])
def test_loaded_state_of_a_0d_parameter_stays_an_updating_array(name) -> None:
    run = Run((name, "none"), _start())
    run.train(range(2))
    fresh = Run((name, "none"), [p.data for p in run.params])
    fresh.load(run.checkpoint())
    before = {k: np.array(v) for k, v in fresh.opt.state[fresh.params[0]].items()
              if isinstance(v, np.ndarray)}
    assert before, "no per-parameter arrays were loaded"
    fresh.train(range(2, 3))
    for key, old in before.items():
        now = fresh.opt.state[fresh.params[0]][key]
        assert isinstance(now, np.ndarray) and now.shape == () and now.dtype == np.float32, key
        assert not np.array_equal(now, old), f"{key} of the 0-d parameter did not update"


def _as_numpy(value):
    return value.numpy() if isinstance(value, torch.Tensor) else value


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resuming_from_torchs_state_dict_follows_torch(name) -> None:
    """torch's state dict (its tensors as arrays: 0-d float32 steps, extra group keys such
    as 'foreach') loads, and minigrad carries on where torch would."""
    opt_name, kwargs = OPTIMIZERS[name]
    params = [torch.tensor(a, requires_grad=True) for a in _start()]
    opt = getattr(torch.optim, opt_name)(params, **kwargs)

    def train(steps, params, opt, value, wrap):
        for step in steps:
            for i, p in enumerate(params):
                g = _gradient(step, i, value(p))
                p.grad = None if g is None else wrap(g)
            opt.step()

    def torch_value(p):
        return p.detach().numpy()

    train(range(STOP), params, opt, torch_value, torch.from_numpy)
    saved = opt.state_dict()
    state = {"state": {k: {kk: _as_numpy(vv) for kk, vv in v.items()}
                       for k, v in saved["state"].items()},
             "param_groups": saved["param_groups"]}
    ours = [Parameter(p.detach().numpy().copy()) for p in params]
    resumed = getattr(optim, opt_name)(ours, lr=123.0)
    resumed.load_state_dict(state)
    train(range(STOP, STEPS), params, opt, torch_value, torch.from_numpy)
    train(range(STOP, STEPS), ours, resumed, lambda p: p.data, minigrad.tensor)
    for p, q in zip(ours, params):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6)
