"""`isclose` and `allclose`: tolerance comparisons, as torch's (no gradient)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def _operands(op: str, input: Any, other: Any) -> tuple[np.ndarray, np.ndarray]:
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if input.dtype != other.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} and other dtype {other.dtype} "
                        "differ (as torch); cast one with .to(dtype)")
    try:
        np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {input.shape} and {other.shape} do not "
                         "broadcast") from None
    return input.data, other.data


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input − other| <= atol + rtol·|other| elementwise (a bool tensor); equal infinities
    are close; NaNs are close to each other only with `equal_nan`."""
    a, b = _operands("isclose", input, other)
    return Tensor._wrap(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element is `isclose`."""
    a, b = _operands("allclose", input, other)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
