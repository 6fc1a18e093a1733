"""Guards of the training step's efficiency that CI can check without timing anything:
parameters and optimizer state are updated in place, the graph has the same size every step,
saved arrays are freed by backward, memory does not grow from step to step, and the thread
pool changes no result."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import minigrad
import minigrad.fast.threads
import minigrad.nn.functional as F
from minigrad import models
from minigrad.autograd import Context
from minigrad.fast.threads import CHUNK_BYTES, get_num_threads, set_num_threads
from minigrad.ops import activation, norm
from minigrad.optim import SGD


@pytest.fixture
def two_threads():
    previous = get_num_threads()
    set_num_threads(2)
    yield
    set_num_threads(previous)


def _small_training(rng: np.random.Generator, model_name: str = "mobilenet_v2"):
    """A tiny MobileNet, SGD with momentum, and one fixed batch."""
    minigrad.manual_seed(0)
    build = getattr(models, model_name)
    model = build(num_classes=10, width_mult=0.25, small_input=True)
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = minigrad.tensor(rng.standard_normal((4, 3, 16, 16)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 10, size=4))
    return model, optimizer, x, y


def _graph_nodes(loss: minigrad.Tensor) -> list[Context]:
    """Every recorded node that feeds `loss`, found without recursion."""
    seen, stack, nodes = set(), [loss.grad_fn], []
    while stack:
        node = stack.pop()
        if not isinstance(node, Context) or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.parents)
    return nodes


def _step(model, optimizer, x, y) -> minigrad.Tensor:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def test_training_step_updates_parameters_and_momentum_in_place(rng):
    model, optimizer, x, y = _small_training(rng)
    _step(model, optimizer, x, y)
    arrays = [p.data for p in model.parameters()]
    buffers = [optimizer.state[p]["momentum_buffer"] for p in model.parameters()]
    before = [a.copy() for a in arrays]
    _step(model, optimizer, x, y)
    for p, array, buffer in zip(model.parameters(), arrays, buffers):
        assert p.data is array, "a parameter's array was replaced instead of updated in place"
        assert optimizer.state[p]["momentum_buffer"] is buffer, "momentum buffer was replaced"
    assert any(not np.array_equal(a, b) for a, b in zip(arrays, before)), "nothing was updated"


@pytest.mark.parametrize("model_name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_graph_has_the_same_nodes_every_step(rng, model_name):
    model, optimizer, x, y = _small_training(rng, model_name)
    counts = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        counts.append(sorted(node.function.__name__ for node in _graph_nodes(loss)))
        loss.backward()
        optimizer.step()
    assert counts[0] == counts[1] == counts[2]
    assert len(counts[0]) > 50


def test_backward_frees_every_saved_array(rng):
    model, optimizer, x, y = _small_training(rng)
    loss = F.cross_entropy(model(x), y)
    nodes = _graph_nodes(loss)
    assert sum(bool(node._saved) for node in nodes) > 50
    loss.backward()
    still_saved = [repr(node) for node in nodes if node._saved]
    assert not still_saved, f"saved arrays kept after backward by {still_saved[:5]}"


def test_memory_does_not_grow_from_step_to_step(rng):
    model, optimizer, x, y = _small_training(rng)
    for _ in range(2):  # the momentum buffers are allocated by the first step
        _step(model, optimizer, x, y)
    tracemalloc.start()
    try:
        _step(model, optimizer, x, y)
        gc.collect()  # what only the cycle collector frees is not a leak
        after_one, _ = tracemalloc.get_traced_memory()
        for _ in range(3):
            _step(model, optimizer, x, y)
        gc.collect()
        after_four, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a leaked activation of this model is ≥ 4·8·16·16·4 bytes = 32 KiB per step
    assert after_four - after_one < 16 * 1024


def test_no_grad_inference_saves_nothing(rng):
    model, _, x, _ = _small_training(rng)
    model.eval()
    with minigrad.no_grad():
        out = model(x)
    assert out.grad_fn is None and not out.requires_grad


def _bn_relu6_hardswish(x: minigrad.Tensor, weight, bias) -> minigrad.Tensor:
    y = norm.batch_norm(x, None, None, weight, bias, training=True)
    return activation.hardswish(activation.relu6(y) - 3.0)


def test_thread_pool_gives_bitwise_the_same_results(rng, two_threads):
    # large enough that the elementwise work is split into several chunks over the threads
    shape = (16, 64, 32, 32)
    assert np.prod(shape) * 4 >= 4 * CHUNK_BYTES
    x = rng.standard_normal(shape).astype(np.float32) * 3
    g = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(shape[1]).astype(np.float32)
    results = []
    for threads in (1, 2):
        set_num_threads(threads)
        xt = minigrad.tensor(x, requires_grad=True)
        weight = minigrad.tensor(w, requires_grad=True)
        bias = minigrad.zeros(shape[1], requires_grad=True)
        out = _bn_relu6_hardswish(xt, weight, bias)
        out.backward(g)
        results.append((out.data, xt.grad.data, weight.grad.data))
    for single, pooled in zip(*results):
        np.testing.assert_array_equal(single, pooled)


@pytest.mark.parametrize("model_name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_training_is_bitwise_the_same_on_any_number_of_threads(rng, model_name, monkeypatch):
    # every kernel shares out its work however small it is, so that this tiny model takes
    # every threaded path: phase-plane, matrix and small-plane depthwise, pointwise, BatchNorm
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    previous = get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3, 4):
            set_num_threads(threads)
            model, optimizer, x, y = _small_training(np.random.default_rng(0), model_name)
            losses = [_step(model, optimizer, x, y).item() for _ in range(2)]
            results.append((losses, [p.grad.data for p in model.parameters()],
                            [p.data for p in model.parameters()]))
    finally:
        set_num_threads(previous)
    one_thread, *more = results
    for threads, (losses, grads, params) in zip((2, 3, 4), more):
        assert losses == one_thread[0], f"{threads} threads"
        for single, pooled in zip(one_thread[1] + one_thread[2], grads + params):
            np.testing.assert_array_equal(single, pooled, err_msg=f"{threads} threads")


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("2", TypeError)])
def test_set_num_threads_rejects_bad_counts(bad, error):
    with pytest.raises(error, match="set_num_threads"):
        set_num_threads(bad)
