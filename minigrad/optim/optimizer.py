"""`Optimizer`: parameter groups, per-parameter state, `step`, `zero_grad` and state dicts.

Subclasses supply `_check_group(group)` (raise on bad hyper-parameters) and
`_update(data, g, state, group)`, which changes `data` (the parameter's array) in place.
State dicts follow torch's layout: `{"state": {index: {...}}, "param_groups": [{..., "params":
[index, ...]}]}`, indices counting parameters across groups in order. Per-parameter buffers are
NumPy arrays of the parameter's shape and dtype (0-d ones too, updated in place), step counts
are floats; `load_state_dict` checks all of it first (see `state_checks`), so resuming
continues bit for bit.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from numbers import Real
from typing import Any, TypeVar, cast, overload

import numpy as np

from minigrad.autograd import enable_grad, no_grad
from minigrad.optim.state_checks import cast_entry, describe, entry_problem, group_problem
from minigrad.tensor import Tensor, check_grad_fits

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


_Loss = TypeVar("_Loss")  # what a `step(closure)` closure returns


class Optimizer(ABC):
    """Base class of the optimizers.

    Args:
        params: an iterable of Parameters, or of dicts with a `"params"` entry and per-group
            options overriding `defaults`.
        defaults: the options every group gets unless it sets its own.
    """

    # per-parameter state: arrays shaped like the parameter, step counts, and the entries a
    # non-empty state must hold (subclasses fill these in)
    _state_arrays: tuple[str, ...] = ()
    _state_counts: tuple[str, ...] = ()
    _state_required: tuple[str, ...] = ()
    # options a saved group may lack (files from older torch), with the value they then take
    _optional_options: dict[str, Any] = {"maximize": False}

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        if callable(getattr(params, "parameters", None)):
            raise TypeError(f"{self._name}: params must be an iterable of Parameters or of "
                            f"dicts, got a {type(params).__name__} module; pass its "
                            f".parameters()")
        if not isinstance(params, Iterable):
            raise TypeError(f"{self._name}: params must be an iterable of Parameters or of "
                            f"dicts, got {describe(params)}")
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{self._name}: params must be an iterable of Parameters or of "
                            f"dicts, got a single {type(params).__name__}")
        groups = self._ordered(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        self._check_group(defaults)
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the missing ones from `defaults`)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a param group must be a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        group = {**self.defaults, **param_group}
        group["params"] = self._group_params(param_group["params"])
        self._check_group(group)
        self.param_groups.append(group)

    def _ordered(self, params: Any) -> list[Any]:
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: parameters must be in an ordered collection "
                            "(a set's order changes between runs); use a list")
        return list(params)

    def _group_params(self, params: Any) -> list[Tensor]:
        params = [params] if isinstance(params, Tensor) else self._ordered(params)
        for p in params:
            self._check_param(p)
        known = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or known & {id(p) for p in params}:
            raise ValueError(f"{self._name}: a parameter appears more than once "
                             "(in this group or in an earlier one)")
        return params

    def _check_param(self, p: Any) -> None:
        if not isinstance(p, Tensor):
            raise TypeError(f"{self._name}: can only optimize Tensors, got {type(p).__name__}")
        if p.dtype.kind != "f":
            raise ValueError(f"{self._name}: can only optimize floating point tensors, "
                             f"got dtype {p.dtype}")
        if not p.is_leaf:
            raise ValueError(f"{self._name}: can't optimize a non-leaf tensor")

    @abstractmethod
    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError/TypeError naming the optimizer and the option if one is bad."""

    @abstractmethod
    def _update(self, data: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply one update to `data` in place, given its gradient `g` and its `state`."""

    def _check_number(self, group: dict[str, Any], key: str, low: float = 0.0,
                      high: float = math.inf, high_open: bool = False) -> None:
        """`group[key]` is a real number in [low, high] (or [low, high)); NaN fails."""
        value = group[key]
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{self._name}: {key} must be a number, got {value!r}")
        number = cast(float, value)  # a Real compares with floats (typeshed's Real cannot say so)
        inside = low <= number < high if high_open else low <= number <= high
        if not inside:
            closing = ")" if high_open else "]"
            bound = f">= {low}" if high == math.inf else f"in [{low}, {high}{closing}"
            raise ValueError(f"{self._name}: invalid {key} {value!r}, it must be {bound}")

    def _check_flags(self, group: dict[str, Any], *keys: str) -> None:
        """Each `group[key]` is a bool (NumPy's too)."""
        for key in keys:
            if not isinstance(group[key], (bool, np.bool_)):
                raise TypeError(f"{self._name}: {key} must be a bool, got {group[key]!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or zero it in place with `set_to_none=False`)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data.fill(0)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], _Loss]) -> _Loss: ...

    def step(self, closure: Callable[[], _Loss] | None = None) -> _Loss | None:
        """Update every parameter that has a gradient; returns `closure()` if one is given.

        Every group, gradient and state entry to be used is checked before the first parameter
        changes, so a step that raises leaves parameters and state exactly as they were.
        """
        loss = None
        if closure is not None and not callable(closure):
            raise TypeError(f"{self._name}.step: closure must be callable, "
                            f"got {describe(closure)}")
        if closure is not None:
            with enable_grad():
                loss = closure()
        work = self._pending_updates()
        # overflow gives inf/nan as in torch, never a FloatingPointError half way through
        # (np.seterr(all="raise") set by the caller would otherwise stop mid-step)
        with no_grad(), np.errstate(all="ignore"):
            for group, p, g in work:
                self._update(p.data, g, self.state.setdefault(p, {}), group)
                p._bump_version()
        return loss

    def _pending_updates(self) -> list[tuple[dict[str, Any], Tensor, np.ndarray]]:
        """(group, parameter, gradient) of every update, once all of them are checked."""
        work = []
        index = 0
        for group in self.param_groups:
            self._check_group(group)
            for p in group["params"]:
                if p.grad is not None:
                    work.append((group, p, self._checked_grad(p, index)))
                    if p in self.state:
                        self._raise_state_problem(f"{self._name}.step: state[{index}]",
                                                  self.state[p], p, loading=False)
                index += 1
        return work

    def _checked_grad(self, p: Tensor, index: int) -> np.ndarray:
        if not isinstance(p.grad, (Tensor, np.ndarray)):
            raise TypeError(f"{self._name}.step: the gradient of parameter {index} must be a "
                            f"Tensor, got {describe(p.grad)}")
        g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
        check_grad_fits(f"{self._name}.step", "a gradient", g, "its parameter", p)
        return g

    def state_dict(self) -> dict[str, Any]:
        """Options and state with parameters replaced by their index (arrays are copies)."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [{**{k: v for k, v in group.items() if k != "params"},
                   "params": [index[id(p)] for p in group["params"]]}
                  for group in self.param_groups]
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state from `state_dict()` output (as saved by minigrad.save).

        Everything is checked first (each group's keys and options; each state entry's type,
        dtype and shape); on error nothing changes. State arrays are copied in their
        parameter's dtype, 0-d ones too.
        """
        saved_groups, saved_state = self._checked_layout(state_dict)
        groups = [self._loaded_group(i, saved, group)
                  for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups))]
        order = [int(i) for saved in saved_groups for i in saved["params"]]
        if len(set(order)) != len(order):
            raise ValueError(f"{self._name}.load_state_dict: a parameter index appears twice "
                             f"in param_groups: {order}")
        by_index = dict(zip(order, self._all_params()))
        state = {}
        for key, entry in saved_state.items():
            p = by_index[_state_index(self._name, key, by_index)]
            self._raise_state_problem(f"{self._name}.load_state_dict: state[{key!r}]", entry, p)
            state[p] = cast_entry(entry, p, self._state_arrays)
        for group, new in zip(self.param_groups, groups):
            group.clear()
            group.update(new)
        self.state = state

    def _checked_layout(self, state_dict: Any) -> tuple[list[Any], Mapping[Any, Any]]:
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}: expected a dict with keys 'state' and 'param_groups', "
                            f"got {describe(state_dict)}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}: the state dict lacks the key {key!r}")
        extra = sorted(map(repr, set(state_dict) - {"state", "param_groups"}))
        if extra:
            raise ValueError(f"{name}: unexpected key {extra[0]} (expected 'state' and "
                             "'param_groups')")
        saved, state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved, (list, tuple)):
            raise TypeError(f"{name}: 'param_groups' must be a list, got {describe(saved)}")
        if not isinstance(state, Mapping):
            raise TypeError(f"{name}: 'state' must be a dict, got {describe(state)}")
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}: {len(saved)} parameter groups saved, the optimizer has "
                             f"{len(self.param_groups)}")
        return list(saved), state

    def _loaded_group(self, i: int, saved: Any, group: dict[str, Any]) -> dict[str, Any]:
        """Saved group `i` checked and made ready to replace `group` (which keeps its params)."""
        where = f"{self._name}.load_state_dict: param_groups[{i}]"
        required = tuple(k for k in self.defaults if k not in self._optional_options)
        problem = group_problem(saved, required)
        if problem is not None:
            raise problem[0](_joined(where, problem[1]))
        if len(saved["params"]) != len(group["params"]):
            raise ValueError(f"{self._name}.load_state_dict: group {i} has "
                             f"{len(saved['params'])} parameters saved, "
                             f"the optimizer's has {len(group['params'])}")
        new = {**self._optional_options,
               **{k: v for k, v in saved.items() if k != "params"}, "params": group["params"]}
        try:
            self._check_group(new)
        except (TypeError, ValueError) as error:
            message = str(error).removeprefix(f"{self._name}: ")
            raise type(error)(f"{where}: {message}") from None
        return new

    def _raise_state_problem(self, where: str, entry: Any, p: Tensor,
                             loading: bool = True) -> None:
        problem = entry_problem(entry, p, self._state_arrays, self._state_counts,
                                self._state_required, loading)
        if problem is not None:
            raise problem[0](_joined(where, problem[1]))

    def _all_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]


def _joined(where: str, problem: str) -> str:
    return where + problem if problem.startswith("[") else f"{where} {problem}"


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _state_index(name: str, key: Any, by_index: dict[int, Tensor]) -> int:
    """A saved state key as the int index it stands for (checked against the groups)."""
    index = int(key) if isinstance(key, (int, np.integer, str)) and str(key).isdigit() else None
    if index not in by_index:
        raise ValueError(f"{name}.load_state_dict: state refers to parameter {key!r}, "
                         f"which no parameter group holds")
    return index
