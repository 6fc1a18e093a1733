"""Loss layers as in `torch.nn`: thin modules around the functions in `minigrad.ops.loss`.

Class weights and `pos_weight` are buffers (so they appear in `state_dict()` under torch's
keys `weight` and `pos_weight` and follow `Module.to(dtype)`); `reduction` is an attribute.
The deprecated `size_average` / `reduce` flags are folded into `reduction` at construction,
as torch does.
"""

from __future__ import annotations

from typing import Any

from minigrad.nn.module import Module
from minigrad.ops import loss as L
from minigrad.tensor import Tensor


class _Loss(Module):
    def __init__(self, size_average: bool | None, reduce: bool | None, reduction: str) -> None:
        super().__init__()
        self.reduction = L._legacy_reduction(type(self).__name__, size_average, reduce,
                                             reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any, size_average: bool | None, reduce: bool | None,
                 reduction: str) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_tensor(weight))


def _as_tensor(value: Any) -> Tensor | None:
    return value if value is None or isinstance(value, Tensor) else Tensor(value)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy between logits and class indices or class probabilities.

    Args:
        weight: optional (C,) rescaling weight per class.
        ignore_index: target value that contributes neither loss nor gradient.
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: ε in [0, 1].

    Shape: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or () of ints,
    or probabilities of the input's shape. Output () or, with 'none', the target's shape
    without C.
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return L.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (use after `LogSoftmax`).

    Args: `weight`, `ignore_index`, `reduction` as `CrossEntropyLoss`.
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return L.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error; input and target broadcast together, as `F.mse_loss`.

    Args: `reduction`: 'mean', 'sum' or 'none'.
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return L.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy in one stable op.

    Args:
        weight: optional weight of each element, broadcastable to the input's shape.
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: optional weight of the positive term, broadcastable to the input's shape
            (a (C,) tensor weights each of C classes on the last axis).

    Shape: input any; target the input's shape (probabilities); output () or the input's shape.
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", _as_tensor(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return L.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
