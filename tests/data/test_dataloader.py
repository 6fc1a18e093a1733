"""DataLoader (coverage, seeded order, drop_last, len, collation), TensorDataset, the built-in
datasets and train_test_split."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.data import (
    DataLoader,
    Dataset,
    TensorDataset,
    load_digits,
    load_mnist_5k,
    train_test_split,
)


def _dataset(n: int = 23) -> TensorDataset:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return TensorDataset(minigrad.tensor(x), np.arange(n))


def _seen(loader: DataLoader) -> list[int]:
    return [int(i) for _, labels in loader for i in labels.data]


@pytest.mark.parametrize("batch_size,drop_last,expected_len", [
    (5, False, 5), (5, True, 4), (23, False, 1), (1, True, 23), (30, True, 0)])
def test_len_and_batch_sizes(batch_size, drop_last, expected_len) -> None:
    loader = DataLoader(_dataset(), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == expected_len
    sizes = [len(labels) for _, labels in batches]
    assert all(s == batch_size for s in sizes[:-1])
    if drop_last:
        assert all(s == batch_size for s in sizes)
    else:
        assert sum(sizes) == 23


@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(),
       shuffle=st.booleans(), seed=st.integers(0, 2**32))
def test_each_epoch_yields_len_batches_covering_the_samples_once(n, batch_size, drop_last,
                                                                  shuffle, seed) -> None:
    loader = DataLoader(_dataset(n), batch_size=batch_size, shuffle=shuffle, seed=seed,
                        drop_last=drop_last)
    for _ in range(2):
        batches = [labels.data.tolist() for _, labels in loader]
        assert len(batches) == len(loader)
        seen = [i for batch in batches for i in batch]
        assert len(set(seen)) == len(seen)
        assert len(seen) == (n // batch_size * batch_size if drop_last else n)
        assert all(len(batch) == batch_size for batch in batches[:-1])


@pytest.mark.parametrize("seed", [None, 7])
def test_shuffled_epoch_visits_every_sample_exactly_once(seed) -> None:
    loader = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=seed)
    for _ in range(3):
        seen = _seen(loader)
        assert sorted(seen) == list(range(23))


def test_same_seed_same_orders_other_seed_other_orders() -> None:
    first = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=3)
    again = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=3)
    other = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=4)
    epochs = [_seen(first) for _ in range(3)]
    assert epochs == [_seen(again) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    assert epochs[0] != _seen(other)
    again.set_epoch(1)
    assert _seen(again) == epochs[1]


def test_unseeded_shuffle_follows_manual_seed() -> None:
    loader = DataLoader(_dataset(), batch_size=5, shuffle=True)
    minigrad.manual_seed(11)
    order = _seen(loader)
    minigrad.manual_seed(11)
    assert _seen(loader) == order
    assert order != list(range(23))


def test_no_shuffle_keeps_dataset_order_and_pairs_fields() -> None:
    for x, labels in DataLoader(_dataset(), batch_size=6):
        assert isinstance(x, minigrad.Tensor) and x.dtype == np.float32
        np.testing.assert_array_equal(x.data[:, 0], 2 * labels.data)
    assert _seen(DataLoader(_dataset(), batch_size=6)) == list(range(23))


def test_drop_last_with_shuffle_drops_only_the_remainder() -> None:
    seen = _seen(DataLoader(_dataset(), batch_size=5, shuffle=True, seed=0, drop_last=True))
    assert len(seen) == 20 and len(set(seen)) == 20


class _Squares(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int):
        return np.full((2, 2), float(index)), index * index, 0.5


def test_generic_dataset_samples_are_stacked_field_by_field() -> None:
    x, squares, halves = next(iter(DataLoader(_Squares(), batch_size=4)))
    assert x.shape == (4, 2, 2) and x.dtype == np.float64
    np.testing.assert_array_equal(squares.data, [0, 1, 4, 9])
    assert squares.dtype == np.int64 and halves.dtype == np.float32


def test_transform_is_applied_to_the_inputs_of_each_batch() -> None:
    loader = DataLoader(_dataset(), batch_size=5, transform=lambda x: x * 0)
    for x, labels in loader:
        assert np.all(x.data == 0) and labels.data.max() > 0


def test_tensor_dataset_indexes_a_whole_batch_at_once() -> None:
    dataset = _dataset()
    x, labels = dataset[np.array([4, 1])]
    np.testing.assert_array_equal(labels.data, [4, 1])
    assert x.shape == (2, 2) and len(dataset) == 23
    with pytest.raises(ValueError, match="TensorDataset: .*same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_bad_loader_arguments_raise() -> None:
    with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive int, got 0"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(ValueError, match="DataLoader: seed .* got -1"):
        DataLoader(_dataset(), shuffle=True, seed=-1)
    with pytest.raises(TypeError, match="DataLoader: dataset must have"):
        DataLoader(42)


def test_load_digits_shapes_dtypes_and_range() -> None:
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(np.unique(labels)) == set(range(10))


def test_load_mnist_5k_shapes_dtypes_and_range() -> None:
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)


def test_missing_optional_dependency_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'minigrad-mobilenet\[examples\]'"):
        load_digits()


def test_stratified_split_keeps_class_shares_and_partitions_the_samples() -> None:
    labels = np.repeat(np.arange(3), [40, 20, 10])
    x = np.arange(70) * 10
    x_train, x_test, y_train, y_test = train_test_split(x, labels, 0.3, seed=1)
    np.testing.assert_array_equal(np.bincount(y_test), [12, 6, 3])
    np.testing.assert_array_equal(np.bincount(y_train), [28, 14, 7])
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == x.tolist()
    np.testing.assert_array_equal(labels[x_test // 10], y_test)
    again = train_test_split(x, labels, 0.3, seed=1)
    np.testing.assert_array_equal(again[1], x_test)
    assert not np.array_equal(train_test_split(x, labels, 0.3, seed=2)[1], x_test)


def test_unstratified_split_sizes_and_tensor_inputs() -> None:
    x, y = minigrad.tensor(np.arange(10.0)), minigrad.tensor(np.arange(10))
    x_train, x_test, y_train, y_test = train_test_split(x, y, 0.2, seed=0, stratify=False)
    assert isinstance(x_test, minigrad.Tensor) and len(x_test) == 2 and len(x_train) == 8
    np.testing.assert_array_equal(x_test.data, y_test.data.astype(np.float32))
