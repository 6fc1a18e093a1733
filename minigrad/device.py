"""Devices, for code written for torch: `device("cpu")` is the only one, and the argument
parsing of `Tensor.to` / `Module.to`, which take a dtype, a device, both, or a tensor."""

from __future__ import annotations

from typing import Any

import numpy as np


class Device(str):
    """A device name, as `torch.device`: only `device("cpu")` exists. It equals the string
    "cpu", and has torch's `type` and `index`."""

    def __new__(cls, type: Any = "cpu", index: int | None = None) -> Device:
        name = _device_name("device", type)
        if name is None or index not in (None, 0):
            raise ValueError(_no_device("device", type if index is None else f"{type}:{index}"))
        return super().__new__(cls, "cpu")

    @property
    def type(self) -> str:
        return "cpu"

    @property
    def index(self) -> None:  # type: ignore[override]  # torch's attribute, not str.index
        return None

    def __repr__(self) -> str:
        return "device(type='cpu')"


def _device_name(op: str, device: Any) -> str | None:
    """'cpu' for anything naming the CPU ("cpu", "cpu:0", a torch.device('cpu')), None for
    another device; TypeError for what is not a device at all."""
    if not isinstance(device, str) and type(device).__name__ != "device":
        raise TypeError(f"{op}: expected a device such as 'cpu', got {type(device).__name__}")
    return "cpu" if str(device) in ("cpu", "cpu:0") else None


def _no_device(op: str, device: Any) -> str:
    return (f"{op}: device {str(device)!r} is not available: minigrad runs on the CPU only, "
            "so 'cpu' is the only device")


def _dtype_or_none(value: Any) -> np.dtype | None:
    """`value` as a dtype, or None when it is not one (then it may name a device)."""
    if value is None or type(value).__name__ == "device":
        return None
    try:
        return np.dtype(value)
    except TypeError:
        return None


def _to_arguments(op: str, args: tuple, kwargs: dict) -> tuple[Any, bool]:
    """(dtype or None, copy) from torch's `to(...)` forms: dtype, device, (device, dtype),
    a tensor (its dtype), with keywords dtype=, device=, copy=, non_blocking=."""
    from minigrad.tensor import Tensor

    unknown = set(kwargs) - {"dtype", "device", "copy", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(unknown)}")
    if len(args) > 2:
        raise TypeError(f"{op}: expected at most (device, dtype), got {len(args)} arguments")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    for arg in args:
        if isinstance(arg, Tensor):  # to(other): its dtype (its device is the CPU)
            dtype = arg.dtype
        elif _dtype_or_none(arg) is not None:
            dtype = _dtype_or_none(arg)
        elif isinstance(arg, str) or type(arg).__name__ == "device":
            device = arg
        else:
            raise TypeError(f"{op}: {arg!r} is neither a dtype nor a device")
    if device is not None and _device_name(op, device) is None:
        raise ValueError(_no_device(op, device))
    if dtype is not None and _dtype_or_none(dtype) is None:
        raise TypeError(f"{op}: {dtype!r} is not a dtype")
    return _dtype_or_none(dtype), bool(kwargs.get("copy", False))


CPU = Device("cpu")
