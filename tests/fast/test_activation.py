"""The fast activation kernels equal the reference ones: forward and gradient (random upstream)
on hypothesis-drawn arrays in float32 and float64, with kinks, infinities and NaN among the
values, non-contiguous inputs, and the chunked paths over one and two threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.fast import activation as fast
from minigrad.reference import activation as reference
from tests import helpers

PAIRS = [(name, getattr(fast, name), getattr(reference, name)) for name in
         ("ReLUFunction", "ReLU6Function", "HardSigmoidFunction", "HardSwishFunction")]
IDS = [row[0] for row in PAIRS]
SPECIAL = [0.0, -0.0, 6.0, -3.0, 3.0, np.inf, -np.inf, np.nan]
values = st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10, width=32))


@st.composite
def cases(draw):
    """(x, upstream) of one dtype; x sometimes a strided or transposed view."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, max_side=6),
                        elements=values))
    layout = draw(st.sampled_from(["contiguous", "strided", "transposed"]))
    if layout == "strided" and x.ndim:
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    elif layout == "transposed":
        x = x.T
    upstream = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(x.shape)
    return x, upstream.astype(dtype)


def _run(function, x, upstream):
    t = minigrad.tensor(x, requires_grad=True)
    y = function.apply(t)
    y.backward(upstream)
    return y.data, t.grad.data


def _assert_kernels_agree(fast_function, reference_function, x, upstream):
    fast_results = _run(fast_function, x, upstream)
    reference_results = _run(reference_function, x, upstream)
    # hard-swish's slope is formed in another order: the last bit may differ
    rtol = 1e-6 if x.dtype == np.float32 else 1e-14
    for what, a, b in zip(("output", "gradient"), fast_results, reference_results):
        assert a.dtype == x.dtype and a.shape == x.shape, what
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=what)
        assert np.array_equal(np.isnan(a), np.isnan(b)), what


@pytest.mark.parametrize("name, fast_function, reference_function", PAIRS, ids=IDS)
@given(case=cases())
def test_fast_activation_equals_reference(name, fast_function, reference_function, case):
    _assert_kernels_agree(fast_function, reference_function, *case)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name, fast_function, reference_function", PAIRS, ids=IDS)
@given(case=cases())
def test_fast_activation_in_chunks_over_threads_equals_reference(
        threads, name, fast_function, reference_function, case):
    with helpers.chunked_on_threads(threads):
        _assert_kernels_agree(fast_function, reference_function, *case)


@pytest.mark.parametrize("name, fast_function, reference_function", PAIRS[:2], ids=IDS[:2])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_fast_relu_family_equals_reference_on_integers(name, fast_function, reference_function,
                                                      dtype):
    x = np.arange(-8, 9, dtype=dtype).reshape(1, 17)
    np.testing.assert_array_equal(fast_function.apply(minigrad.tensor(x)).data,
                                  reference_function.apply(minigrad.tensor(x)).data)
