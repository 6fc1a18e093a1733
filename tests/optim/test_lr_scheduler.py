"""Learning-rate schedules against torch.optim.lr_scheduler: the same lr (and momentum) at
every one of ~30 steps, per group, and state-dict round trips."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from minigrad import optim
from minigrad.nn.parameter import Parameter
from minigrad.optim import lr_scheduler
from minigrad.serialization import load, save

STEPS = 30


def _optimizers(name: str = "SGD", **kwargs):
    """A minigrad and a torch optimizer over two groups with different base lrs."""
    mg = [Parameter(np.ones(2)), Parameter(np.ones(3))]
    th = [torch.ones(2, dtype=torch.float64, requires_grad=True),
          torch.ones(3, dtype=torch.float64, requires_grad=True)]
    kwargs = {"lr": 0.1, **kwargs}
    mg_opt = getattr(optim, name)([{"params": mg[:1]}, {"params": mg[1:], "lr": 0.03}], **kwargs)
    th_opt = getattr(torch.optim, name)([{"params": th[:1]}, {"params": th[1:], "lr": 0.03}],
                                        **kwargs)
    return mg_opt, th_opt


def _build(mg_opt, th_opt, make):
    return make(lr_scheduler, mg_opt), make(torch.optim.lr_scheduler, th_opt)


def _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched, steps: int = STEPS,
                          momentum_key: str | None = None) -> None:
    for step in range(steps):
        np.testing.assert_allclose(mg_sched.get_last_lr(), th_sched.get_last_lr(), rtol=1e-12,
                                   atol=1e-15, err_msg=f"step {step}")
        mg_lrs = [g["lr"] for g in mg_opt.param_groups]
        np.testing.assert_allclose(mg_lrs, [g["lr"] for g in th_opt.param_groups], rtol=1e-12)
        if momentum_key is not None:
            np.testing.assert_allclose([_momentum(g, momentum_key) for g in mg_opt.param_groups],
                                       [_momentum(g, momentum_key) for g in th_opt.param_groups],
                                       rtol=1e-12, err_msg=f"momentum at step {step}")
        assert mg_sched.last_epoch == th_sched.last_epoch
        mg_opt.step()
        th_opt.step()
        mg_sched.step()
        th_sched.step()


def _momentum(group, key):
    return group["betas"][0] if key == "betas" else group[key]


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=8),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                              total_iters=12),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_scheduler_lr_sequence_matches_torch(name) -> None:
    mg_opt, th_opt = _optimizers()
    mg_sched, th_sched = _build(mg_opt, th_opt, SCHEDULES[name])
    _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched)


def test_sequential_linear_warmup_then_cosine_matches_torch() -> None:
    mg_opt, th_opt = _optimizers()

    def make(module, opt):
        warmup = module.LinearLR(opt, start_factor=0.01, total_iters=5)
        cosine = module.CosineAnnealingLR(opt, T_max=20, eta_min=1e-4)
        return module.SequentialLR(opt, schedulers=[warmup, cosine], milestones=[5])

    mg_sched, th_sched = _build(mg_opt, th_opt, make)
    _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched)


def test_sequential_of_three_with_step_decay_matches_torch() -> None:
    mg_opt, th_opt = _optimizers()

    def make(module, opt):
        parts = [module.LinearLR(opt, start_factor=0.5, total_iters=3),
                 module.StepLR(opt, step_size=3, gamma=0.5),
                 module.CosineAnnealingLR(opt, T_max=6)]
        return module.SequentialLR(opt, schedulers=parts, milestones=[4, 12])

    mg_sched, th_sched = _build(mg_opt, th_opt, make)
    _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched)


@pytest.mark.parametrize("optimizer,key", [("SGD", "momentum"), ("Adam", "betas")])
@pytest.mark.parametrize("options", [
    {},
    {"anneal_strategy": "linear", "pct_start": 0.25},
    {"three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0},
])
def test_one_cycle_lr_and_momentum_match_torch(optimizer, key, options) -> None:
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    mg_opt, th_opt = _optimizers(optimizer, **extra)

    def make(module, opt):
        return module.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=STEPS, **options)

    mg_sched, th_sched = _build(mg_opt, th_opt, make)
    _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched, steps=STEPS, momentum_key=key)


def test_one_cycle_lr_from_epochs_and_steps_matches_torch() -> None:
    mg_opt, th_opt = _optimizers(momentum=0.9)

    def make(module, opt):
        return module.OneCycleLR(opt, max_lr=1.0, epochs=3, steps_per_epoch=10,
                                 cycle_momentum=False)

    mg_sched, th_sched = _build(mg_opt, th_opt, make)
    _assert_same_sequence(mg_opt, th_opt, mg_sched, th_sched)


def test_one_cycle_lr_refuses_to_step_past_the_cycle() -> None:
    mg_opt, _ = _optimizers(momentum=0.9)
    sched = lr_scheduler.OneCycleLR(mg_opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 4 times"):
        sched.step()


@pytest.mark.parametrize("make", [
    lambda m, o: m.CosineAnnealingLR(o, T_max=10),
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, total_iters=4),
                                    m.CosineAnnealingLR(o, T_max=8)], milestones=[4]),
    lambda m, o: m.OneCycleLR(o, max_lr=0.4, total_steps=STEPS),
], ids=["cosine", "sequential", "one-cycle"])
def test_scheduler_resumes_from_saved_state_dicts(make, tmp_path) -> None:
    mg_opt, th_opt = _optimizers(momentum=0.9)
    mg_sched, th_sched = _build(mg_opt, th_opt, make)
    for _ in range(6):
        mg_opt.step()
        mg_sched.step()
        th_opt.step()
        th_sched.step()
    save({"optimizer": mg_opt.state_dict(), "scheduler": mg_sched.state_dict()},
         tmp_path / "checkpoint.npz")
    fresh_opt, _ = _optimizers(momentum=0.9)
    fresh_sched = make(lr_scheduler, fresh_opt)
    checkpoint = load(tmp_path / "checkpoint.npz")
    fresh_opt.load_state_dict(checkpoint["optimizer"])
    fresh_sched.load_state_dict(checkpoint["scheduler"])
    _assert_same_sequence(fresh_opt, th_opt, fresh_sched, th_sched, steps=STEPS - 7)


def test_scheduler_arguments_are_checked() -> None:
    mg_opt, _ = _optimizers()
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        lr_scheduler.StepLR(mg_opt, step_size=0)
    with pytest.raises(ValueError, match="LinearLR: start_factor .* got 0"):
        lr_scheduler.LinearLR(mg_opt, start_factor=0)
    with pytest.raises(ValueError, match="SequentialLR: 2 schedulers need 1 milestones, got 2"):
        lr_scheduler.SequentialLR(mg_opt, [lr_scheduler.StepLR(mg_opt, 2),
                                           lr_scheduler.StepLR(mg_opt, 3)], milestones=[2, 3])
    with pytest.raises(TypeError, match="CosineAnnealingLR: expected an Optimizer"):
        lr_scheduler.CosineAnnealingLR(object(), T_max=3)


def _stepped(make):
    mg_opt, _ = _optimizers(momentum=0.9)
    sched = make(lr_scheduler, mg_opt)
    for _ in range(3):
        mg_opt.step()
        sched.step()
    return mg_opt, sched


def _sequential(m, o):
    return m.SequentialLR(o, [m.LinearLR(o, total_iters=4), m.StepLR(o, 3)], milestones=[4])


BAD_STATES = [
    # (schedule, change to its state dict, error, message)
    (SCHEDULES["StepLR"], lambda sd: None, TypeError,
     r"StepLR.load_state_dict: expected a dict returned by state_dict\(\), got None"),
    (SCHEDULES["StepLR"], lambda sd: {k: v for k, v in sd.items() if k != "last_epoch"},
     ValueError, r"StepLR.load_state_dict: the state dict lacks the key 'last_epoch'"),
    (SCHEDULES["StepLR"], lambda sd: {**sd, "epoch": 3}, ValueError,
     r"StepLR.load_state_dict: unexpected key 'epoch'"),
    (SCHEDULES["StepLR"], lambda sd: {**sd, "gamma": "0.5"}, TypeError,
     r"StepLR.load_state_dict: 'gamma' must be like 0.5, got '0.5'"),
    (SCHEDULES["MultiStepLR"], lambda sd: {**sd, "milestones": [3, None]}, TypeError,
     r"MultiStepLR.load_state_dict: 'milestones' must be like \[3, 7, 7, 20\]"),
    (SCHEDULES["CosineAnnealingLR"], lambda sd: {**sd, "last_epoch": 2.5}, ValueError,
     r"CosineAnnealingLR.load_state_dict: 'last_epoch' must be an int >= -1, got 2.5"),
    (SCHEDULES["LinearLR"], lambda sd: {**sd, "base_lrs": [0.1]}, ValueError,
     r"LinearLR.load_state_dict: 'base_lrs' has 1 values, the optimizer has 2 param groups"),
    (_sequential, lambda sd: {**sd, "_schedulers": sd["_schedulers"][:1]}, ValueError,
     r"SequentialLR.load_state_dict: '_schedulers' must hold 2 state dicts"),
    (_sequential, lambda sd: {**sd, "_schedulers": [sd["_schedulers"][0], None]}, TypeError,
     r"StepLR.load_state_dict: expected a dict returned by state_dict\(\), got None"),
]


@pytest.mark.parametrize("make,change,error,message", BAD_STATES,
                         ids=[c[3][:45] for c in BAD_STATES])
def test_bad_scheduler_state_dict_is_refused_and_changes_nothing(make, change, error,
                                                                 message) -> None:
    opt, sched = _stepped(make)
    before = copy.deepcopy(sched.state_dict())
    lrs = [g["lr"] for g in opt.param_groups]
    with pytest.raises(error, match=message):
        sched.load_state_dict(change(copy.deepcopy(before)))
    assert sched.state_dict() == before
    assert [g["lr"] for g in opt.param_groups] == lrs


def test_scheduler_constructors_name_a_bad_argument() -> None:
    mg_opt, _ = _optimizers()
    with pytest.raises(TypeError, match="MultiStepLR: milestones must be a list of ints, "
                                        "got None"):
        lr_scheduler.MultiStepLR(mg_opt, None)
    with pytest.raises(TypeError, match=r"MultiStepLR: milestones must be a list of ints, "
                                        r"got \[2, 3.5\]"):
        lr_scheduler.MultiStepLR(mg_opt, [2, 3.5])
    with pytest.raises(TypeError, match="LinearLR: start_factor must be a number, got None"):
        lr_scheduler.LinearLR(mg_opt, start_factor=None)
    with pytest.raises(TypeError, match="SequentialLR: schedulers must be a list of LR "
                                        "schedulers, got None"):
        lr_scheduler.SequentialLR(mg_opt, None, milestones=[])
    with pytest.raises(TypeError, match="OneCycleLR: pct_start must be a number, got '0.3'"):
        lr_scheduler.OneCycleLR(mg_opt, max_lr=0.1, total_steps=5, pct_start="0.3")
