"""Hypothesis strategies shared by the tests: shapes, broadcastable pairs, float64 arrays,
values kept away from kinks."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def shapes(min_dims: int = 0, max_dims: int = 4, max_side: int = 5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape, elements=finite):
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def broadcastable_pair(draw, min_dims: int = 0, max_dims: int = 4):
    """Two float64 arrays whose shapes broadcast together (sizes of 1 and missing axes)."""
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, max_side=4)).input_shapes
    return draw(arrays(a_shape)), draw(arrays(b_shape))


def away_from(kinks, margin: float = 1e-3, low: float = -10, high: float = 10):
    """Floats in [low, high] at least `margin` from every kink (finite differences need it)."""
    return st.floats(low, high, allow_nan=False, width=64).filter(
        lambda v: all(abs(v - k) > margin for k in kinks))


def positive(low: float = 0.1, high: float = 10):
    return st.floats(low, high, allow_nan=False, width=64)
