"""one_hot against torch: shapes, num_classes inferred or given, and bad indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.nn import functional as F
from tests.strategies import shapes


@given(st.data())
def test_one_hot_matches_torch(data):
    index = data.draw(hnp.arrays(np.int64, shapes(0, 3), elements=st.integers(0, 4)))
    num_classes = data.draw(st.sampled_from([-1, 5, 7])) if index.size else 6
    out = F.one_hot(minigrad.tensor(index), num_classes)
    expected = TF.one_hot(torch.tensor(index), num_classes)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_one_hot_accepts_other_integer_dtypes():
    out = F.one_hot(minigrad.tensor(np.array([2, 0], np.int32)), 3)
    np.testing.assert_array_equal(out.data, [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.one_hot(minigrad.tensor([0.0, 1.0])), TypeError,
     r"^one_hot: only integer class indices .*float32"),
    (lambda: F.one_hot(minigrad.tensor([0, 3]), 3), ValueError,
     r"^one_hot: class values must be smaller than num_classes=3, got 3"),
    (lambda: F.one_hot(minigrad.tensor([-1, 1])), ValueError,
     r"^one_hot: class values must be non-negative, got -1"),
    (lambda: F.one_hot(minigrad.tensor(np.zeros(0, np.int64))), ValueError,
     r"^one_hot: cannot infer the number of classes from an empty tensor"),
    (lambda: F.one_hot(np.array([1])), TypeError, r"^one_hot: expected a Tensor"),
    (lambda: F.one_hot(minigrad.tensor([1]), 2.0), TypeError, r"^one_hot: num_classes"),
])
def test_one_hot_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
