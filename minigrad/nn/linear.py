"""`Linear` (y = x·Wᵀ + b), `Identity` and `Flatten`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.checks import factory_dtype, positive_int
from minigrad.dtypes import DTypeLike
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


class Linear(Module):
    """A fully connected layer, y = x·Wᵀ + b, as `torch.nn.Linear`.

    Args:
        in_features, out_features: sizes of the last axis of input and output.
        bias: add a learnable bias.
        device: None or 'cpu' (accepted for torch compatibility).
        dtype: of the weight and bias (float32 by default).

    Shape:
        Input (*, in_features), output (*, out_features).

    Weight (out_features, in_features) and bias start as torch's: kaiming-uniform with
    a = √5, i.e. U(±1/√in_features), and bias U(±1/√in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: str | None = None, dtype: DTypeLike = None) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        dtype = factory_dtype("Linear", device, dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default initialisation (see the class docstring)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input; any constructor arguments are accepted and ignored (as torch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flattens axes `start_dim` to `end_dim` into one, as `torch.nn.Flatten`.

    Shape:
        Input (N, *dims), output (N, prod(dims)) with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
