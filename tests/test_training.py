"""End to end: a tiny CNN trained for 30 steps in minigrad and in torch, float64, from the same
weights on the same DataLoader batches, ends with the same parameters and BatchNorm buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset

STEPS = 30


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """torch's intra-op threads spin on a busy 2-core machine (30x slower on tiny ops)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _model(module, pool: str):
    pooling = module.MaxPool2d(2) if pool == "max" else module.AvgPool2d(2)
    return module.Sequential(
        module.Conv2d(1, 4, 3, padding=1), module.BatchNorm2d(4), module.ReLU6(), pooling,
        module.Flatten(), module.Linear(4 * 4 * 4, 5))


def _twins(pool: str):
    """A float64 minigrad model and a torch model holding the same weights."""
    minigrad.manual_seed(0)
    ours = _model(nn, pool).double()
    theirs = _model(torch.nn, pool).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _loader() -> DataLoader:
    rng = np.random.default_rng(0)
    images = rng.uniform(-2.0, 8.0, size=(80, 1, 8, 8))
    labels = rng.integers(0, 5, size=80)
    return DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True, seed=1,
                      drop_last=True)


def _batches():
    loader = _loader()
    while True:
        yield from loader


def _make_optimizers(kind: str, ours, theirs):
    if kind == "sgd":
        options = dict(lr=0.05, momentum=0.9, weight_decay=1e-4)
        return optim.SGD(ours.parameters(), **options), torch.optim.SGD(theirs.parameters(),
                                                                       **options)
    options = dict(lr=0.01, betas=(0.8, 0.99))
    return optim.Adam(ours.parameters(), **options), torch.optim.Adam(theirs.parameters(),
                                                                     **options)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_tiny_cnn_training_matches_torch(kind, pool) -> None:
    ours, theirs = _twins(pool)
    our_opt, their_opt = _make_optimizers(kind, ours, theirs)
    batches = _batches()
    losses = []
    for _ in range(STEPS):
        x, y = next(batches)
        our_opt.zero_grad()
        loss = F.cross_entropy(ours(x), y)
        loss.backward()
        our_opt.step()
        their_opt.zero_grad()
        their_loss = torch.nn.functional.cross_entropy(
            theirs(torch.tensor(x.data)), torch.tensor(y.data))
        their_loss.backward()
        their_opt.step()
        assert loss.item() == pytest.approx(their_loss.item(), abs=1e-6)
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    expected = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, expected[key].numpy(), atol=1e-5, rtol=0,
                                   err_msg=key)
