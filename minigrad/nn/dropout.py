"""`Dropout`: zero elements with probability p in training mode (`F.dropout`)."""

from __future__ import annotations

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class Dropout(Module):
    """Inverted dropout, as `torch.nn.Dropout`: in training mode each element is zeroed with
    probability `p` and the rest are scaled by 1 / (1 − p); in eval mode it is the identity.

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: write the result into the input (as `F.dropout(..., inplace=True)`).

    Shape: any, output as input. The mask comes from `minigrad.manual_seed`'s generator.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"Dropout: p must be a number, got {type(p).__name__}")
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
