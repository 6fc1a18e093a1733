"""Argument checks shared by the functional API, the layers, the ops and the data transforms.

One place, so that the same mistake gets the same message everywhere: each check names the
function (`op`), the argument and the bad value, and raises TypeError for a wrong type and
ValueError for a wrong value, before anything is computed.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from minigrad.dtypes import DTypeLike, resolve_dtype
from minigrad.tensor import Tensor

IntOrPair = int | tuple[int, int]
Padding = tuple[int, int, int, int]  # (top, bottom, left, right)


def is_int(value: Any) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_tensor(op: str, x: Any, floating: bool = False) -> Tensor:
    """x itself, checked to be a Tensor (and of a floating dtype if `floating`)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if floating and x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")
    return x


def positive_int(op: str, name: str, value: Any) -> int:
    """value as an int, checked to be an int ≥ 1."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{op}: {name} must be positive, got {value}")
    return int(value)


def int_pair(op: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """(rows, columns) from an int or a sequence of one or two ints, each ≥ minimum (as torch's
    `_pair`)."""
    items = list(value) if isinstance(value, tuple | list) else [value]
    if not all(is_int(v) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if len(items) not in (1, 2):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{op}: {name} must be ≥ {minimum}, got {value!r}")
    return int(items[0]), int(items[-1])


def padding_arg(op: str, padding: Any, stride: tuple[int, int]) -> tuple[int, int] | str:
    """A convolution's `padding`: a checked (rows, columns) pair, or 'valid' or 'same' (which
    needs stride 1, as torch)."""
    if not isinstance(padding, str):
        return int_pair(op, "padding", padding, minimum=0)
    if padding not in ("same", "valid"):
        raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', "
                         f"got {padding!r}")
    if padding == "same" and stride != (1, 1):
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
    return padding


def same_padding(kernel: tuple[int, ...], dilation: tuple[int, int]) -> Padding:
    """(top, bottom, left, right) zeros that keep the output size at stride 1: d·(k − 1) in
    all per axis, half before and the odd extra pixel after, as torch."""
    (total_h, total_w) = (d * (k - 1) for d, k in zip(dilation, kernel))
    return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)


def factory_dtype(op: str, device: str | None, dtype: DTypeLike) -> np.dtype:
    """A layer's parameter dtype: float32 unless a floating `dtype` is given. `device` is
    torch's factory argument; only the CPU exists here."""
    if device not in (None, "cpu"):
        raise ValueError(f"{op}: minigrad runs on the CPU only, got device={device!r}")
    wanted = resolve_dtype(dtype) or np.dtype(np.float32)
    if wanted.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {wanted}")
    return wanted


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
