"""Dtype aliases and the rules that turn user data into arrays (float32 by default, as torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

DTypeLike = Any


def resolve_dtype(dtype: DTypeLike) -> np.dtype | None:
    """A NumPy dtype from a dtype, a type or a name such as 'float64'; `None` stays `None`."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"tensor: {dtype!r} is not a dtype") from error


def as_array(data: Any, dtype: DTypeLike = None) -> np.ndarray:
    """An ndarray from `data`: Python floats become float32, ndarrays keep their dtype."""
    wanted = resolve_dtype(dtype)
    if isinstance(data, np.ndarray):
        _check_numeric(data.dtype, data)
        return data if wanted is None else data.astype(wanted, copy=False)
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"tensor: {type(data).__name__} data has an irregular shape: "
                         f"{error}") from None
    _check_numeric(array.dtype, data)
    if wanted is not None:
        return array.astype(wanted, copy=False)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        return array.astype(np.float32)
    return array


def _check_numeric(dtype: np.dtype, data: Any) -> None:
    """Only booleans and numbers make tensors (no objects, strings, dates)."""
    if dtype.kind not in "biufc":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                        f"of dtype {dtype} (objects and strings are not numbers)")
