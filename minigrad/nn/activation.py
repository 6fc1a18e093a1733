"""Activation layers: thin modules around the functions in `F`.

`inplace=` is accepted wherever torch has it, so torch model code runs unchanged, but it is
ignored: every activation returns a new tensor (the backward passes need the input intact).
"""

from __future__ import annotations

import warnings

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class _InplaceActivation(Module):
    """An activation taking torch's (ignored) `inplace` flag."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class _ShowsInplace(_InplaceActivation):
    """Those whose torch repr shows `inplace=True` when it is set."""

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_ShowsInplace):
    """max(x, 0) elementwise. Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class ReLU6(_ShowsInplace):
    """min(max(x, 0), 6) elementwise (MobileNet V1/V2). Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(x)


class SiLU(_ShowsInplace):
    """x·sigmoid(x) elementwise. Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6 elementwise (MobileNetV3). Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardsigmoid(x)


class Hardswish(_InplaceActivation):
    """x·relu6(x + 3) / 6 elementwise (MobileNetV3). Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


class Sigmoid(Module):
    """1 / (1 + e^(−x)) elementwise. Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) elementwise. Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


def _implicit_dim(name: str, ndim: int) -> int:
    """torch's legacy choice when no `dim` is given (with its deprecation warning)."""
    warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim=", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x) / Σ exp(x) along `dim`.

    Args:
        dim: the axis whose slices sum to 1 (None: torch's deprecated implicit choice).

    Shape: any, output as input.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        dim = _implicit_dim("Softmax", x.ndim) if self.dim is None else self.dim
        return F.softmax(x, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along `dim`, computed stably. Shape: any, output as input."""

    def forward(self, x: Tensor) -> Tensor:
        dim = _implicit_dim("LogSoftmax", x.ndim) if self.dim is None else self.dim
        return F.log_softmax(x, dim)
