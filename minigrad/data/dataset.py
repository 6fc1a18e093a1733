"""`Dataset` (anything indexable with a length) and `TensorDataset` (tensors sharing dim 0)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


class Dataset(ABC):
    """Base class of map-style datasets: `dataset[i]` is one sample (a tuple of Tensors,
    arrays or numbers), `len(dataset)` the number of samples."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """The sample at `index`."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""


class TensorDataset(Dataset):
    """Samples are slices along dim 0 of the given tensors (inputs, labels, ...).

    Args:
        *tensors: Tensors or arrays with the same first dimension (arrays become Tensors
            sharing their memory).

    Shape:
        `dataset[i]` is a tuple with one `tensors[k][i]` per tensor; an index array selects a
        whole batch at once (the `DataLoader` fast path).
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t))
                             for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all tensors need the same first dimension, "
                             f"got shapes {[t.shape for t in self.tensors]}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        if isinstance(index, Tensor):
            index = index.data
        return tuple(Tensor._wrap(t.data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]
