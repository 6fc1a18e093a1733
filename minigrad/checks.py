"""Argument checks shared by the functional API and the ops: each raises a clear error that
names the op and the bad value or shape (TypeError for types, ValueError for values)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from minigrad.tensor import Tensor


def check_tensor(op: str, x: object, floating: bool = True) -> None:
    """x must be a Tensor, of a floating dtype unless `floating` is False."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if floating and x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")


def check_number(op: str, name: str, value: object) -> None:
    """value must be a real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")


def check_bool(op: str, name: str, value: object) -> None:
    """value must be True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, got {type(value).__name__}")


def check_per_channel(op: str, name: str, value: object, x: Tensor,
                      kinds: tuple[type[Tensor] | type[np.ndarray], ...] = (Tensor,)) -> None:
    """value must be None or a (C,) array of one of `kinds`, of x's dtype, C = x.shape[1]."""
    if value is None:
        return
    if not isinstance(value, kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        raise TypeError(f"{op}: {name} must be a {names} or None, got {type(value).__name__}")
    if value.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {value.dtype}, x has {x.dtype}")
    channels = x.shape[1]
    if value.shape != (channels,):
        raise ValueError(f"{op}: {name} has shape {value.shape}, expected ({channels},) "
                         f"for x of shape {x.shape} ({channels} channels)")
