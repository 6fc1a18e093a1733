"""Batch transforms: output shapes and dtypes, crops that really are windows of the padded
image, flip statistics, normalisation against a direct formula, seeded repeatability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip


def _batch(n: int = 6, c: int = 2, h: int = 5, w: int = 7, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, c, h, w)).astype(dtype)


@given(size=st.tuples(st.integers(1, 7), st.integers(1, 9)), padding=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_random_crop_returns_windows_of_the_padded_images(size, padding, seed) -> None:
    x = _batch()
    if size[0] > 5 + 2 * padding or size[1] > 7 + 2 * padding:
        with pytest.raises(ValueError, match="RandomCrop: crop .* larger"):
            RandomCrop(size, padding)(x)
        return
    minigrad.manual_seed(seed)
    out = RandomCrop(size, padding)(x)
    assert out.shape == (6, 2, *size) and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for image, crop in zip(padded, out):
        matches = [(i, j) for i in range(padded.shape[2] - size[0] + 1)
                   for j in range(padded.shape[3] - size[1] + 1)
                   if np.array_equal(image[:, i:i + size[0], j:j + size[1]], crop)]
        assert matches, "a crop is not a window of its own padded image"


def test_random_crop_positions_vary_across_the_batch_and_cover_every_offset() -> None:
    image = np.arange(1.0, 17.0, dtype=np.float32).reshape(1, 1, 4, 4)
    x = np.repeat(image, 400, axis=0)
    minigrad.manual_seed(0)
    out = RandomCrop(4, padding=2)(minigrad.tensor(x))
    assert isinstance(out, minigrad.Tensor) and out.dtype == np.float32
    # pixels are distinct and nonzero, so each of the 5 x 5 offsets gives a different crop
    distinct = np.unique(out.data.reshape(400, -1), axis=0)
    assert len(distinct) == 25


def test_horizontal_flip_mirrors_a_fraction_p_of_the_images() -> None:
    x = _batch(n=2000, c=1, h=2, w=3)
    minigrad.manual_seed(1)
    out = RandomHorizontalFlip(p=0.3)(x)
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped | kept)
    assert abs(flipped.mean() - 0.3) < 0.04
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_the_formula_and_keeps_dtype(dtype) -> None:
    x = _batch(dtype=dtype)
    mean, std = [0.5, -1.0], [2.0, 0.25]
    out = Normalize(mean, std)(minigrad.tensor(x))
    assert out.dtype == dtype
    expected = (x - np.array(mean).reshape(1, 2, 1, 1)) / np.array(std).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_normalize_with_batch_statistics_gives_zero_mean_unit_std() -> None:
    x = _batch(n=50) * 3 + 2
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-12)


def test_compose_repeats_exactly_under_the_same_seed() -> None:
    pipeline = Compose([RandomCrop(5, padding=1), RandomHorizontalFlip(), Normalize(0.1, 0.9)])
    x = _batch()
    minigrad.manual_seed(5)
    first = pipeline(x)
    minigrad.manual_seed(5)
    np.testing.assert_array_equal(pipeline(x), first)
    assert first.shape == (6, 2, 5, 5)
    assert not np.array_equal(pipeline(x), first)


def test_bad_transform_arguments_raise() -> None:
    with pytest.raises(ValueError, match="Normalize: std must be positive"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="Normalize: mean has 3 values, the batch has 2"):
        Normalize([0.0, 0.0, 0.0], 1.0)(_batch())
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: expected an \(N, C, H, W\)"):
        RandomHorizontalFlip()(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="RandomCrop: size must be"):
        RandomCrop((0, 3))
    with pytest.raises(ValueError, match="RandomHorizontalFlip: p must be in"):
        RandomHorizontalFlip(p=1.5)
