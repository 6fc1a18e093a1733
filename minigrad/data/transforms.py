"""Augmentations for whole NCHW image batches, vectorised over the batch (no per-image loop).

Each transform takes a Tensor or an ndarray of shape (N, C, H, W) and returns the same kind,
with the input's dtype. Random choices come from `minigrad.random.generator()`, so
`minigrad.manual_seed` makes them repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from minigrad.checks import int_pair
from minigrad.random import generator
from minigrad.tensor import Tensor

ImageBatch = Tensor | np.ndarray


def _images(name: str, x: ImageBatch) -> np.ndarray:
    array = x.data if isinstance(x, Tensor) else x
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a Tensor or ndarray, got {type(x).__name__}")
    if array.ndim != 4:
        raise ValueError(f"{name}: expected an (N, C, H, W) batch, got shape {array.shape}")
    return array


def _like(x: ImageBatch, array: np.ndarray) -> ImageBatch:
    return Tensor._wrap(array) if isinstance(x, Tensor) else array


class Compose:
    """Apply `transforms` one after the other.

    Args:
        transforms: callables taking and returning an image batch.
    """

    def __init__(self, transforms: Sequence[Callable[[ImageBatch], ImageBatch]]) -> None:
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")
        self.transforms = list(transforms)

    def __call__(self, x: ImageBatch) -> ImageBatch:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class RandomCrop:
    """Zero-pad each image by `padding` on every side, then cut a `size` window at a random
    position, drawn independently for every image of the batch.

    Args:
        size: output (height, width), or one int for a square.
        padding: pixels of `fill` added on each side first (>= 0).
        fill: the padding value.

    Shape:
        (N, C, H, W) -> (N, C, size_h, size_w); needs size <= (H + 2*padding, W + 2*padding).
    """

    def __init__(self, size: int | Sequence[int], padding: int = 0, fill: float = 0.0) -> None:
        self.size = int_pair("RandomCrop", "size", size, minimum=1)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int, got {padding!r}")
        self.padding = int(padding)
        self.fill = fill

    def __call__(self, x: ImageBatch) -> ImageBatch:
        images = _images("RandomCrop", x)
        n, _, h, w = images.shape
        p, (out_h, out_w) = self.padding, self.size
        if out_h > h + 2 * p or out_w > w + 2 * p:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image "
                             f"{(h + 2 * p, w + 2 * p)}")
        padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        top = generator().integers(0, h + 2 * p - out_h + 1, size=n)
        left = generator().integers(0, w + 2 * p - out_w + 1, size=n)
        # (N, C, H', W') -> (N, C, H'-out_h+1, W'-out_w+1, out_h, out_w), a view of every window
        windows = np.lib.stride_tricks.sliding_window_view(padded, (out_h, out_w), axis=(2, 3))
        # one window per image: advanced indices on axes 0, 2, 3 -> (N, C, out_h, out_w)
        return _like(x, windows[np.arange(n), :, top, left])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability `p`, independently across the batch.

    Args:
        p: probability of flipping an image, in [0, 1].
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, x: ImageBatch) -> ImageBatch:
        images = _images("RandomHorizontalFlip", x)
        flip = generator().random(images.shape[0]) < self.p
        out = images.copy()
        out[flip] = images[flip, :, :, ::-1]
        return _like(x, out)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Normalize:
    """Per channel: (x - mean[c]) / std[c].

    Args:
        mean: one value per channel (or one for all).
        std: one positive value per channel (or one for all).

    Shape:
        (N, C, H, W) -> (N, C, H, W), in the input's dtype.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(f"Normalize: mean and std must be numbers or 1-d sequences, got "
                             f"shapes {self.mean.shape} and {self.std.shape}")
        if not np.all(self.std > 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def __call__(self, x: ImageBatch) -> ImageBatch:
        images = _images("Normalize", x)
        channels = images.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values.size not in (1, channels):
                raise ValueError(f"Normalize: {name} has {values.size} values, the batch has "
                                 f"{channels} channels")
        dtype = images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)
        # (C,) -> (1, C, 1, 1) so that it broadcasts over N, H, W
        mean = self.mean.astype(dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(dtype).reshape(1, -1, 1, 1)
        return _like(x, (images.astype(dtype, copy=False) - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip"]
