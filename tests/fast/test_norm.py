"""The fast BatchNorm kernel equals the reference kernel: forward, every gradient (random
upstream) and the batch statistics handed to the running update, on hypothesis-drawn cases in
float32 and float64: batch 1 with several pixels, large and small planes, (N, C) inputs,
non-contiguous inputs, and the chunked paths over one and two threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.fast import norm as fast_norm
from minigrad.reference import norm as reference_norm
from tests import helpers

TOLERANCE = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
SHAPES = st.sampled_from([
    (1, 3, 4, 4), (1, 2, 7), (2, 3, 1, 1), (5, 4), (3, 2, 2, 3),   # batch 1, tiny planes
    (2, 3, 40, 40), (1, 2, 64, 70),                                # large planes
    (4, 16, 3, 3), (8, 5, 2, 2),                                   # small planes, more channels
])


@st.composite
def cases(draw):
    """(x, weight, bias, running_mean, running_var, upstream), x possibly non-contiguous."""
    shape = draw(SHAPES)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels = shape[1]
    x = rng.normal(draw(st.floats(-3, 3)), draw(st.floats(0.2, 3)), shape)
    layout = draw(st.sampled_from(["contiguous", "strided", "transposed"]))
    if layout == "strided":      # every other sample of a batch twice as large
        x = np.repeat(x, 2, axis=0)[::2]
    elif layout == "transposed" and x.ndim == 4:   # an (N, C, W, H) array seen as (N, C, H, W)
        x = np.ascontiguousarray(x.swapaxes(2, 3)).swapaxes(2, 3)
    params = [rng.normal(1, 0.5, channels), rng.normal(0, 0.5, channels),
              rng.normal(0, 1, channels), rng.uniform(0.2, 3, channels)]
    arrays = [x, *params, rng.standard_normal(shape)]
    affine = draw(st.booleans())
    return [a.astype(dtype) for a in arrays], affine, dtype


def _run(function, arrays, affine, training):
    """Output, gradients of x, γ, β and the batch statistics of one kernel."""
    x, weight, bias, mean, var, upstream = arrays
    tensors = [minigrad.tensor(x, requires_grad=True)]
    if affine:
        tensors += [minigrad.tensor(weight, requires_grad=True),
                    minigrad.tensor(bias, requires_grad=True)]
    else:
        tensors += [None, None]
    batch_stats: dict = {}
    y = function.apply(*tensors, running_mean=mean.copy(), running_var=var.copy(),
                       training=training, eps=1e-5, batch_stats=batch_stats)
    y.backward(upstream)
    grads = [t.grad.data for t in tensors if t is not None]
    return [y.data, *grads, *(batch_stats[k] for k in sorted(batch_stats))]


def _assert_kernels_agree(arrays, affine, dtype, training):
    fast = _run(fast_norm.BatchNormFunction, arrays, affine, training)
    reference = _run(reference_norm.BatchNormFunction, arrays, affine, training)
    assert len(fast) == len(reference)
    for i, (a, b) in enumerate(zip(fast, reference)):
        assert a.dtype == dtype and a.shape == b.shape
        # tolerances relative to the largest value, as the two sum in different orders
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))
        np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype]["rtol"],
                                   atol=TOLERANCE[dtype]["atol"] * scale, err_msg=f"result {i}")


@given(case=cases(), training=st.booleans())
def test_fast_batch_norm_equals_reference(case, training):
    _assert_kernels_agree(*case, training)


@pytest.mark.parametrize("threads", [1, 2])
@given(case=cases(), training=st.booleans())
def test_fast_batch_norm_in_chunks_over_threads_equals_reference(threads, case, training):
    with helpers.chunked_on_threads(threads):
        _assert_kernels_agree(*case, training)


def test_fast_batch_norm_on_two_threads_equals_one_thread_bit_for_bit(rng):
    arrays = [rng.standard_normal((6, 3, 5, 5)).astype(np.float32), *(
        rng.standard_normal(3).astype(np.float32) for _ in range(3)),
        rng.uniform(0.5, 2, 3).astype(np.float32),
        rng.standard_normal((6, 3, 5, 5)).astype(np.float32)]
    results = []
    for threads in (1, 2):
        with helpers.chunked_on_threads(threads):
            results.append(_run(fast_norm.BatchNormFunction, arrays, True, True))
    on_one, on_two = results
    for a, b in zip(on_two, on_one):
        np.testing.assert_array_equal(a, b)
