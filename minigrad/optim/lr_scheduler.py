"""Learning-rate schedules that set `group["lr"]` on each `step()`, with torch's exact sequences.

Like torch, most schedules are recursive (each `step()` rescales the current `lr`), so a change
made to `lr` from outside carries on; `_closed_form_lr()` gives the value from `base_lrs` alone
(used by `SequentialLR` when it hands over to the next schedule).
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

from minigrad.optim.optimizer import Optimizer
from minigrad.optim.state_checks import describe


def _check_number(owner: str, name: str, value: Any, low: float = 0.0,
                  low_open: bool = False) -> None:
    """`value` is a finite real number >= `low` (> `low` with `low_open`); NaN fails."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low or (low_open and value == low):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{owner}: {name} must be a finite number {bound}, got {value!r}")


class LRScheduler:
    """Base class: `step()` advances `last_epoch` and writes `get_lr()` into the groups.

    Args:
        optimizer: the optimizer whose groups' `lr` this schedule sets.
        last_epoch: index of the last epoch when resuming; -1 starts afresh (and records
            each group's current `lr` as its `initial_lr`).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, "
                            f"got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{type(self).__name__}: last_epoch must be an int >= -1, "
                             f"got {last_epoch!r}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(f"{type(self).__name__}: resuming at last_epoch={last_epoch} "
                                 f"needs 'initial_lr' in param_groups[{i}]; load the "
                                 "optimizer's state dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for `last_epoch` (already advanced by `step`)."""
        return self._current_lrs()

    def step(self) -> None:
        """Advance one epoch (or one batch, for schedules stepped per batch)."""
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest `step()`."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (plain numbers and lists, for minigrad.save)."""
        return {k: v for k, v in vars(self).items() if k not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned; checked first (keys, kinds of values), so a
        bad state dict raises and changes nothing."""
        self.__dict__.update(self._checked_state(state_dict))

    def _checked_state(self, state_dict: Any) -> dict[str, Any]:
        """A private copy of `state_dict` once it has this schedule's keys, each holding a value
        of the kind it holds now (numbers, strings, lists of them, ...)."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}: expected a dict returned by state_dict(), "
                            f"got {describe(state_dict)}")
        current = self.state_dict()
        for key in current:
            if key not in state_dict:
                raise ValueError(f"{name}: the state dict lacks the key {key!r}")
        for key, value in state_dict.items():
            if key not in current:
                raise ValueError(f"{name}: unexpected key {key!r} in the state dict")
            if key != "_schedulers" and not _same_kind(current[key], value):
                raise TypeError(f"{name}: {key!r} must be like {current[key]!r}, "
                                f"got {describe(value)}")
        epoch = state_dict["last_epoch"]
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < -1:
            raise ValueError(f"{name}: 'last_epoch' must be an int >= -1, got {epoch!r}")
        if "base_lrs" in current and len(state_dict["base_lrs"]) != len(current["base_lrs"]):
            raise ValueError(f"{name}: 'base_lrs' has {len(state_dict['base_lrs'])} values, "
                             f"the optimizer has {len(current['base_lrs'])} param groups")
        return copy.deepcopy({k: v for k, v in state_dict.items() if k != "_schedulers"})


def _same_kind(now: Any, new: Any) -> bool:
    """`new` can stand where `now` is: numbers for numbers, lists for lists (element by element
    like the first), dicts with the same keys, ..."""
    if isinstance(now, bool) or now is None or isinstance(now, str):
        return type(new) is type(now) or (now is None and new is None)
    if isinstance(now, Real):
        return isinstance(new, Real) and not isinstance(new, bool)
    if isinstance(now, (list, tuple)):
        return isinstance(new, (list, tuple)) and (
            not now or all(_same_kind(now[0], item) for item in new))
    if isinstance(now, Mapping):
        return isinstance(new, Mapping) and set(new) == set(now) and all(
            _same_kind(now[k], new[k]) for k in now)
    return True


def _int_list(owner: str, name: str, values: Any) -> list[int]:
    """`values` as a list of ints, or a TypeError naming `owner`, `name` and the value."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"{owner}: {name} must be a list of ints, got {describe(values)}")
    values = list(values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{owner}: {name} must be a list of ints, got {values!r}")
    return values


class StepLR(LRScheduler):
    """Multiply `lr` by `gamma` every `step_size` epochs: lr_t = base * gamma^(t // step_size).

    Args:
        optimizer: the wrapped optimizer.
        step_size: period of the decay, in epochs (> 0).
        gamma: the decay factor.
        last_epoch: see `LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        _check_number("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply `lr` by `gamma` at each milestone epoch (twice if it is listed twice).

    Args:
        optimizer: the wrapped optimizer.
        milestones: epoch indices, increasing.
        gamma: the decay factor.
        last_epoch: see `LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = _int_list("MultiStepLR", "milestones", milestones)
        if milestones != sorted(milestones):
            raise ValueError(f"MultiStepLR: milestones must be increasing, got {milestones}")
        _check_number("MultiStepLR", "gamma", gamma)
        self.milestones = milestones
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._current_lrs()
        return [lr * self.gamma**hits for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        passed = bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale `lr` by a factor going linearly from `start_factor` to `end_factor` over
    `total_iters` epochs, then hold it (a warm-up with the defaults).

    Args:
        optimizer: the wrapped optimizer.
        start_factor: factor at epoch 0, in (0, 1].
        end_factor: factor from epoch `total_iters` on, in [0, 1].
        total_iters: length of the ramp, in epochs.
        last_epoch: see `LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        _check_number("LinearLR", "start_factor", start_factor)
        _check_number("LinearLR", "end_factor", end_factor)
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        if isinstance(total_iters, bool) or not isinstance(total_iters, int) or total_iters <= 0:
            raise ValueError(f"LinearLR: total_iters must be a positive int, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # ratio of consecutive factors: f(t) / f(t-1)
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base `lr` to `eta_min` over `T_max` epochs (no restarts):
    lr_t = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed recursively
    from the current `lr` as torch does, rising again after `T_max`.

    Args:
        optimizer: the wrapped optimizer.
        T_max: half period, in epochs (> 0).
        eta_min: the lowest learning rate.
        last_epoch: see `LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_number("CosineAnnealingLR", "T_max", T_max, low_open=True)
        _check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period = self.last_epoch, self.T_max
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - period) % (2 * period) == 0:
            # at the trough the ratio below is 0/0; step up by the first increment instead
            rise = (1 - math.cos(math.pi / period)) / 2
            return [lr + (base - self.eta_min) * rise
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run `schedulers[i]` from `milestones[i-1]` until `milestones[i]` (e.g. a `LinearLR`
    warm-up followed by `CosineAnnealingLR`); each later one starts from its epoch 0.

    Args:
        optimizer: the optimizer all the schedulers wrap.
        schedulers: the schedules, in order (constructed on `optimizer`).
        milestones: the epochs where one hands over to the next; one fewer than schedulers.
        last_epoch: see `LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        _check_sequence(optimizer, schedulers, milestones)
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            _undo_initial_step(scheduler)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        own = self._checked_state(state_dict)
        nested = state_dict["_schedulers"]
        if not isinstance(nested, (list, tuple)) or len(nested) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: '_schedulers' must hold "
                             f"{len(self._schedulers)} state dicts, got {describe(nested)}")
        checked = [s._checked_state(state) for s, state in zip(self._schedulers, nested)]
        self.__dict__.update(own)
        for scheduler, state in zip(self._schedulers, checked):
            scheduler.__dict__.update(state)


def _undo_initial_step(scheduler: LRScheduler) -> None:
    """Every scheduler took its initial step when it was built; take it back (recursively)."""
    nested = getattr(scheduler, "_schedulers", None)
    if nested is None:
        scheduler.last_epoch -= 1
    else:
        for inner in nested:
            _undo_initial_step(inner)


def _check_sequence(optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                    milestones: Sequence[int]) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"SequentialLR: expected an Optimizer, got {describe(optimizer)}")
    if not isinstance(schedulers, (list, tuple)) or not all(
            isinstance(s, LRScheduler) for s in schedulers):
        raise TypeError(f"SequentialLR: schedulers must be a list of LR schedulers, "
                        f"got {describe(schedulers)}")
    _int_list("SequentialLR", "milestones", milestones)
    if len(schedulers) < 1:
        raise ValueError("SequentialLR: expected at least one scheduler, got none")
    for i, scheduler in enumerate(schedulers):
        if getattr(scheduler, "optimizer", None) is not optimizer:
            raise ValueError(f"SequentialLR: scheduler {i} ({type(scheduler).__name__}) "
                             "wraps a different optimizer")
    if len(milestones) != len(schedulers) - 1:
        raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need "
                         f"{len(schedulers) - 1} milestones, got {len(milestones)}")


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), per batch: `lr` rises from max_lr/div_factor to
    `max_lr` over the first `pct_start` of the steps, then anneals to
    initial_lr/final_div_factor; momentum (SGD's, or Adam's beta1) moves the opposite way
    between `max_momentum` and `base_momentum`.

    Args:
        optimizer: the wrapped optimizer.
        max_lr: peak learning rate (one per group, or one for all).
        total_steps: length of the cycle; or give `epochs` and `steps_per_epoch`.
        epochs, steps_per_epoch: the cycle is their product when `total_steps` is None.
        pct_start: fraction of the cycle spent rising, in [0, 1].
        anneal_strategy: 'cos' or 'linear'.
        cycle_momentum: cycle momentum inversely to the learning rate.
        base_momentum, max_momentum: the momentum range (per group or one for all).
        div_factor: initial_lr = max_lr / div_factor.
        final_div_factor: min_lr = initial_lr / final_div_factor.
        three_phase: rise, fall back to initial_lr symmetrically, then annihilate to min_lr.
        last_epoch: index of the last batch when resuming.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        _check_number("OneCycleLR", "pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = _phases(self.total_steps, pct_start, three_phase)
        peaks = _checked_peaks(optimizer, max_lr, div_factor, final_div_factor,
                               {"base_momentum": base_momentum, "max_momentum": max_momentum})
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, peaks):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._setup_momentum(base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _setup_momentum(self, base_momentum: Any, max_momentum: Any, last_epoch: int) -> None:
        defaults = self.optimizer.defaults
        if "momentum" not in defaults and "betas" not in defaults:
            raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum "
                             "or betas")
        self.use_beta1 = "betas" in defaults
        highs = _per_group("max_momentum", self.optimizer, max_momentum)
        lows = _per_group("base_momentum", self.optimizer, base_momentum)
        if last_epoch != -1:
            return
        for group, high, low in zip(self.optimizer.param_groups, highs, lows):
            self._set_momentum(group, high)
            group["max_momentum"] = high
            group["base_momentum"] = low

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, the cycle has "
                             f"{self.total_steps} steps")
        return [self._group_lr(group, step) for group in self.optimizer.param_groups]

    def _group_lr(self, group: dict[str, Any], step: int) -> float:
        """The phase's annealed lr at `step`; sets the group's momentum on the way."""
        phase, start_step = self._phase_at(step)
        pct = (step - start_step) / (phase["end_step"] - start_step)
        if self.cycle_momentum:
            self._set_momentum(group, self._anneal(
                group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
        return self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)

    def _phase_at(self, step: int) -> tuple[dict[str, Any], float]:
        """The phase `step` falls in (the last one takes everything after) and its start."""
        start_step = 0.0
        for phase in self._schedule_phases[:-1]:
            if step <= phase["end_step"]:
                return phase, start_step
            start_step = phase["end_step"]
        return self._schedule_phases[-1], start_step


def _total_steps(total_steps: int | None, epochs: int | None,
                 steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive int, "
                             f"got {total_steps!r}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"OneCycleLR: {name} must be a positive int, got {value!r}")
    return epochs * steps_per_epoch


def _phases(total_steps: int, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
    """Each phase: the step it ends at and the group keys it anneals between."""
    def phase(end_step: float, lrs: tuple[str, str], momenta: tuple[str, str]) -> dict[str, Any]:
        return {"end_step": end_step, "start_lr": lrs[0], "end_lr": lrs[1],
                "start_momentum": momenta[0], "end_momentum": momenta[1]}

    rise = phase(float(pct_start * total_steps) - 1, ("initial_lr", "max_lr"),
                 ("max_momentum", "base_momentum"))
    if not three_phase:
        return [rise, phase(total_steps - 1, ("max_lr", "min_lr"),
                            ("base_momentum", "max_momentum"))]
    return [rise,
            phase(float(2 * pct_start * total_steps) - 2, ("max_lr", "initial_lr"),
                  ("base_momentum", "max_momentum")),
            phase(total_steps - 1, ("initial_lr", "min_lr"), ("max_momentum", "max_momentum"))]


def _checked_peaks(optimizer: Optimizer, max_lr: Any, div_factor: Any, final_div_factor: Any,
                   momenta: dict[str, Any]) -> list[float]:
    """The per-group peak lrs, once every 1cycle number is checked (before any group changes)."""
    peaks = _per_group("max_lr", optimizer, max_lr)
    for value in peaks:
        _check_number("OneCycleLR", "max_lr", value, low_open=True)
    for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
        _check_number("OneCycleLR", name, value, low_open=True)
    for name, value in momenta.items():
        for momentum in _per_group(name, optimizer, value):
            _check_number("OneCycleLR", name, momentum)
    return peaks


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group: a list is checked for length, a scalar is repeated."""
    groups = optimizer.param_groups
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"OneCycleLR: {name} has {len(value)} values, "
                             f"the optimizer has {len(groups)} param groups")
        return list(value)
    return [value] * len(groups)
