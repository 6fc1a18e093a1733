"""Checks of optimizer state: saved param groups and per-parameter state (at load time) and
the live state (before a step), each raising an error that names the optimizer, the entry and
the bad value.

Per-parameter state has two kinds of entries: arrays shaped like their parameter (momentum
buffers, moments) and step counts (a number, or a 0-d array as torch saves it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def describe(value: Any) -> str:
    """A short description of a bad value for messages: its repr, or its type and shape."""
    if isinstance(value, (np.ndarray, Tensor)):
        kind = "an array" if isinstance(value, np.ndarray) else "a Tensor"
        return f"{kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def array_problem(value: Any, p: Tensor,
                  loading: bool = True) -> tuple[type[Exception], str] | None:
    """Why `value` cannot be the state array of parameter `p`, or None if it can.

    When `loading`, a plain number is accepted for a 0-d parameter (files written before
    state was kept as arrays hold them so); live state must be an ndarray, updated in place."""
    if isinstance(value, Tensor) and loading:
        value = value.data
    number = isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    if number and p.ndim == 0 and loading:
        return None
    if not isinstance(value, np.ndarray if not loading else (np.ndarray, np.generic)):
        return TypeError, f"must be an array, got {describe(value)}"
    if value.dtype.kind != "f":
        return TypeError, f"must be a floating point array, got dtype {value.dtype}"
    if value.shape != p.shape:
        return ValueError, f"has shape {value.shape}, its parameter has shape {p.shape}"
    return None


def count_problem(value: Any) -> tuple[type[Exception], str] | None:
    """Why `value` cannot be a step count (a finite whole number >= 0), or None if it can."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        if value.shape != () or value.dtype.kind not in "iuf":
            return TypeError, f"must be a number, got {describe(value)}"
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        return TypeError, f"must be a number, got {describe(value)}"
    count = float(value)
    if not (math.isfinite(count) and count >= 0 and count.is_integer()):
        return ValueError, f"must be a whole number >= 0, got {value!r}"
    return None


def entry_problem(entry: Any, p: Tensor, arrays: tuple[str, ...], counts: tuple[str, ...],
                  required: tuple[str, ...],
                  loading: bool = True) -> tuple[type[Exception], str] | None:
    """The first problem of one parameter's state dict, prefixed by the entry's key."""
    if not isinstance(entry, Mapping):
        return TypeError, f"must be a dict, got {describe(entry)}"
    for key in entry:
        if key not in arrays and key not in counts:
            known = ", ".join(repr(k) for k in arrays + counts)
            return ValueError, f"has an unknown entry {key!r} (known: {known})"
    if entry:
        missing = [key for key in required if entry.get(key) is None]
        if missing:
            return ValueError, f"lacks {missing[0]!r}"
    for key, value in entry.items():
        if value is None and key in arrays and key not in required:
            continue  # torch writes momentum_buffer None where it keeps no buffer
        check = array_problem(value, p, loading) if key in arrays else count_problem(value)
        if check is not None:
            return check[0], f"[{key!r}] {check[1]}"
    return None


def cast_entry(entry: Mapping[str, Any], p: Tensor, arrays: tuple[str, ...]) -> dict[str, Any]:
    """A checked entry as minigrad keeps it: arrays copied in the parameter's dtype (0-d
    arrays too, never Python floats), counts as floats."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, Tensor):
            value = value.data
        if value is None:
            continue
        if key in arrays:
            out[key] = np.array(value, dtype=p.dtype, copy=True)
        else:
            out[key] = float(np.asarray(value).item())
    return out


def group_problem(saved: Any, required: tuple[str, ...]) -> tuple[type[Exception], str] | None:
    """The first structural problem of one saved param group (options are checked later)."""
    if not isinstance(saved, Mapping):
        return TypeError, f"must be a dict, got {describe(saved)}"
    for key in ("params", *required):
        if key not in saved:
            return ValueError, f"lacks the key {key!r}"
    params = saved["params"]
    if not isinstance(params, (list, tuple)) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in params):
        return TypeError, f"['params'] must be a list of ints, got {describe(params)}"
    return None
