"""`one_hot`: class indices -> one-hot rows, as `torch.nn.functional.one_hot` (no gradient:
the input holds integers)."""

from __future__ import annotations

import numpy as np

from minigrad.tensor import Tensor


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """y[..., c] = 1 where c equals the index, else 0; int64, shape (*tensor.shape, C).

    Args:
        tensor: integer class indices of any shape, each in [0, num_classes).
        num_classes: C; -1 takes the largest index + 1.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot: expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: only integer class indices can be encoded, got dtype "
                        f"{tensor.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    index = tensor.data
    if num_classes == -1:
        if index.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty "
                             "tensor; pass num_classes")
        num_classes = int(index.max()) + 1
    if index.size and index.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(index.min())}")
    if index.size and index.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes="
                         f"{num_classes}, got {int(index.max())}")
    # (*S,) -> (*S, C): compare each index with every class number
    return Tensor._wrap((index[..., None] == np.arange(num_classes)).astype(np.int64))
