"""isclose and allclose against torch, with NaN, infinities and broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from tests.strategies import broadcastable_pair

_SPECIAL = np.array([0.0, 1.0, 1.0 + 1e-6, 1.0 + 1e-4, np.nan, np.inf, -np.inf])


@given(broadcastable_pair(), st.booleans(), st.sampled_from([(1e-5, 1e-8), (0.0, 0.5)]))
def test_isclose_and_allclose_match_torch(pair, equal_nan, tolerances):
    rng = np.random.default_rng(0)
    a, b = pair
    # plant special values, and near-copies of a in b, so both outcomes occur
    a = np.where(rng.random(a.shape) < 0.3, rng.choice(_SPECIAL, a.shape), a)
    b = np.where(rng.random(b.shape) < 0.3, rng.choice(_SPECIAL, b.shape), b)
    rtol, atol = tolerances
    ours = minigrad.isclose(minigrad.tensor(a), minigrad.tensor(b), rtol, atol, equal_nan)
    theirs = torch.isclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert minigrad.allclose(minigrad.tensor(a), minigrad.tensor(b), rtol, atol, equal_nan) \
        == torch.allclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan)


def test_allclose_returns_a_python_bool():
    x = minigrad.tensor([1.0, 2.0])
    assert minigrad.allclose(x, x + 1e-9) is True
    assert minigrad.allclose(x, x + 1) is False


@pytest.mark.parametrize("call, error, message", [
    (lambda: minigrad.allclose(minigrad.zeros(2), minigrad.zeros(2, dtype="float64")),
     TypeError, r"^allclose: input dtype float32 and other dtype float64 differ"),
    (lambda: minigrad.isclose(minigrad.zeros(2), np.zeros(2)), TypeError,
     r"^isclose: other must be a Tensor"),
    (lambda: minigrad.isclose(minigrad.zeros(2), minigrad.zeros(3)), ValueError,
     r"^isclose: shapes \(2,\) and \(3,\) do not broadcast"),
])
def test_closeness_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
