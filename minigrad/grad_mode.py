"""Grad-mode switches under torch's other names: `set_grad_enabled` (a call, a context manager
and a decorator) and `inference_mode`. They share `no_grad`'s thread-local state in
`minigrad.autograd`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar, overload

from minigrad.autograd import _state, is_grad_enabled

_F = TypeVar("_F", bound=Callable[..., Any])


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn recording on or off, as torch: at once when called (`set_grad_enabled(False)`),
    and back to the mode before the call on leaving `with set_grad_enabled(mode):`."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self.mode, self._previous = mode, is_grad_enabled()
        _state.grad_enabled = mode

    def __call__(self, func: _F) -> _F:
        _state.grad_enabled = self._previous  # as a decorator it changes nothing until called
        return super().__call__(func)

    def _recreate_cm(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        _state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._previous


class inference_mode(contextlib.ContextDecorator):
    """`no_grad` under torch's other name (`inference_mode(False)` changes nothing); also a
    bare decorator. minigrad has no inference tensors: their outputs are plain tensors."""

    mode: bool

    @overload
    def __new__(cls, mode: bool = True) -> inference_mode: ...

    @overload  # used bare, the decorated function comes back (mypy wants an instance here)
    def __new__(cls, mode: _F) -> _F: ...  # type: ignore[misc]

    def __new__(cls, mode: Any = True) -> Any:
        if not isinstance(mode, bool):
            return cls()(mode)
        self = super().__new__(cls)
        self.mode = mode
        return self

    def _recreate_cm(self) -> inference_mode:
        return inference_mode(self.mode)

    def __enter__(self) -> None:
        self._previous = (is_grad_enabled(), getattr(_state, "inference", False))
        if self.mode:
            _state.grad_enabled, _state.inference = False, True

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled, _state.inference = self._previous


def is_inference_mode_enabled() -> bool:
    return getattr(_state, "inference", False)
