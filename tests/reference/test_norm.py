"""The reference BatchNorm kernel against torch 2.13 in float64 with random cotangents: the
output, every gradient and the running statistics within 1e-10 (relative)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F

RTOL, ATOL = 1e-10, 1e-12


@st.composite
def cases(draw):
    """(x, weight, bias, running_mean, running_var, upstream) in float64, ≥ 2 values per channel."""
    spatial = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    n = draw(st.integers(1 if int(np.prod(spatial)) > 1 else 2, 4))
    channels = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n, channels, *spatial)
    x = rng.normal(draw(st.floats(-5, 5)), draw(st.floats(0.1, 3)), shape)
    return (x, rng.normal(1, 0.5, channels), rng.normal(0, 0.5, channels),
            rng.normal(0, 1, channels), rng.uniform(0.2, 3, channels), rng.standard_normal(shape))


def _run_minigrad(case, training, momentum, eps):
    x, w, b, mean, var, upstream = case
    tensors = [minigrad.tensor(a, requires_grad=True) for a in (x, w, b)]
    stats = [mean.copy(), var.copy()]
    with minigrad.use_kernels("reference"):
        y = F.batch_norm(tensors[0], *stats, *tensors[1:], training=training,
                         momentum=momentum, eps=eps)
        y.backward(upstream)
    return [y.data, *(t.grad.data for t in tensors), *stats]


def _run_torch(case, training, momentum, eps):
    x, w, b, mean, var, upstream = case
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    stats = [torch.tensor(mean), torch.tensor(var)]
    y = TF.batch_norm(tensors[0], *stats, *tensors[1:], training=training, momentum=momentum,
                      eps=eps)
    y.backward(torch.tensor(upstream))
    return [y.detach().numpy(), *(t.grad.numpy() for t in tensors), *(s.numpy() for s in stats)]


@given(case=cases(), training=st.booleans(), momentum=st.sampled_from([0.0, 0.1, 0.7, 1.0]),
       eps=st.sampled_from([1e-5, 1e-3, 0.5]))
def test_reference_batch_norm_matches_torch_within_1e_10(case, training, momentum, eps):
    names = ["output", "dx", "dweight", "dbias", "running_mean", "running_var"]
    mine = _run_minigrad(case, training, momentum, eps)
    theirs = _run_torch(case, training, momentum, eps)
    for name, a, b in zip(names, mine, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=name)
