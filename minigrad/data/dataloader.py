"""`DataLoader`: batches of a dataset as tuples of stacked Tensors, reproducibly shuffled."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minigrad.data.dataset import TensorDataset
from minigrad.random import generator
from minigrad.tensor import Tensor, tensor

Batch = tuple[Tensor, ...]


class DataLoader:
    """Iterate over `dataset` in batches.

    Args:
        dataset: a `Dataset` (or anything with `__len__` and `__getitem__` returning a tuple).
        batch_size: samples per batch (> 0).
        shuffle: visit the samples in a new random order each epoch.
        drop_last: drop the last batch when it is smaller than `batch_size`.
        seed: with `shuffle`, epoch k always gets the same order for the same seed; without
            a seed the order comes from `minigrad.random.generator()` (see `manual_seed`).
        transform: applied to the first tensor of every batch (the inputs), e.g. a
            `transforms.Compose` of batch augmentations.

    Shape:
        Each batch is a tuple with one Tensor per field of a sample, stacked along a new dim 0.
        A `TensorDataset` is indexed with the whole batch's index array at once.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 transform: Callable[[Tensor], Tensor] | None = None) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__, "
                            f"got {type(dataset).__name__}")
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise ValueError(f"DataLoader: seed must be a non-negative int or None, got {seed!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got "
                            f"{type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.transform = transform
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order (to resume a seeded run)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[Batch]:
        order = self._order(self.epoch)
        self.epoch += 1
        return self._batches(order)

    def _order(self, epoch: int) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = generator() if self.seed is None else np.random.default_rng([self.seed, epoch])
        return rng.permutation(n)

    def _batches(self, order: np.ndarray) -> Iterator[Batch]:
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = self._fetch(order[start:start + self.batch_size])
            if self.transform is not None:
                batch = (self.transform(batch[0]), *batch[1:])
            yield batch

    def _fetch(self, indices: np.ndarray) -> Batch:
        if isinstance(self.dataset, TensorDataset):
            return self.dataset[indices]
        return collate([self.dataset[int(i)] for i in indices])


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def collate(samples: list[Any]) -> Batch:
    """Stack a list of samples (tuples of Tensors, arrays or numbers) field by field."""
    samples = [s if isinstance(s, tuple) else (s,) for s in samples]
    widths = {len(s) for s in samples}
    if len(widths) != 1:
        raise ValueError(f"DataLoader: samples have different numbers of fields {sorted(widths)}")
    return tuple(_stack([s[k] for s in samples]) for k in range(widths.pop()))


def _stack(values: list[Any]) -> Tensor:
    arrays = [v.data if isinstance(v, Tensor) else v for v in values]
    if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays):
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"DataLoader: cannot stack samples of shapes {sorted(shapes)}")
        return Tensor._wrap(np.stack(arrays))
    # Python numbers follow minigrad's rule: floats become float32, ints int64
    return tensor(arrays)
