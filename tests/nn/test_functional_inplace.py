"""`inplace=` on the functional activations and dropout works as torch's: the result is written
into the input, and autograd records the write."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as TF

import minigrad
from minigrad.nn import functional as F
from tests.helpers import check_backward_matches_torch


@pytest.mark.parametrize("name", ["relu", "relu6", "hardsigmoid", "hardswish", "silu"])
@pytest.mark.parametrize("inplace", [False, True])
def test_activations_accept_inplace_and_match_torch(rng, name, inplace):
    x = rng.uniform(-8, 8, (3, 5))
    x[np.isin(np.round(x), (-3, 0, 3, 6))] += 0.25  # away from the kinks

    # neither framework runs in place on a leaf that requires grad: both go through a copy
    def ours(t):
        return getattr(F, name)(t * 1 if inplace else t, inplace=inplace)

    def theirs(t):
        return getattr(TF, name)(t * 1 if inplace else t, inplace=inplace)

    check_backward_matches_torch(ours, theirs, [x])


def test_dropout_inplace_writes_into_its_input():
    minigrad.manual_seed(0)
    x = minigrad.ones(1000)
    out = F.dropout(x, 0.5, training=True, inplace=True)
    assert out is x and set(np.unique(x.data)) == {0.0, 2.0}
