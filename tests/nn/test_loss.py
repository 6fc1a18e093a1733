"""Loss layers against torch's: values and gradients with every keyword, state_dict keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from tests.helpers import assert_close


def _case(name, rng):
    """(minigrad layer, torch layer, logits, target) for one loss with its keywords."""
    w, x = rng.random(3) + 0.5, rng.standard_normal((5, 3))
    t, y = np.array([0, 2, 1, -1, 2]), rng.random((5, 3))
    cases = {
        "CrossEntropyLoss": (dict(weight=w, ignore_index=-1, label_smoothing=0.1), t),
        "CrossEntropyLoss-sum": (dict(reduction="sum"), np.array([0, 2, 1, 1, 2])),
        "NLLLoss": (dict(weight=w, ignore_index=-1, reduction="none"), t),
        "MSELoss": (dict(reduction="sum"), y),
        "BCEWithLogitsLoss": (dict(weight=w, pos_weight=rng.random(3) * 2), y),
    }
    kwargs, target = cases[name]
    cls = name.split("-")[0]
    ours = getattr(nn, cls)(**{k: minigrad.tensor(v) if isinstance(v, np.ndarray) else v
                               for k, v in kwargs.items()})
    theirs = getattr(torch.nn, cls)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                       for k, v in kwargs.items()})
    return ours, theirs, x, target


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "CrossEntropyLoss-sum", "NLLLoss",
                                  "MSELoss", "BCEWithLogitsLoss"])
def test_loss_layers_match_torch(name, rng):
    ours, theirs, x, target = _case(name, rng)
    mx, tx = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(mx, minigrad.tensor(target)), theirs(tx, torch.tensor(target))
    assert_close(out, expected, name="loss")
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert_close(mx.grad, tx.grad, name="gradient")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


def test_loss_layers_follow_module_to_dtype(rng):
    loss = nn.BCEWithLogitsLoss(pos_weight=minigrad.tensor(rng.random(3) + 0.5, dtype="float32"))
    assert loss.pos_weight.dtype == np.float32
    loss.to(minigrad.float64)
    assert loss.pos_weight.dtype == np.float64


def test_loss_layer_rejects_a_bad_reduction_when_built():
    with pytest.raises(ValueError, match="^CrossEntropyLoss: reduction must be"):
        nn.CrossEntropyLoss(reduction="avg")
