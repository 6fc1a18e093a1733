"""Flat memory over a long run: 300 SGD steps of a small MobileNetV2 hold no more memory
(tracemalloc) after step 300 than after step 20, so no graph, saved array, gradient or
optimizer state survives its iteration."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import optim
from tests.reliability.small_model import small_mobilenet_v2

# numpy's as_strided makes a one-off ~400 KiB allocation after some ten thousand calls (then
# stays flat): an internal of numpy, not something minigrad holds, so it is left out
_NUMPY_AS_STRIDED = tracemalloc.Filter(False, "*/numpy/lib/_stride_tricks_impl.py")


def _traced_bytes() -> int:
    """Bytes allocated since tracing started and still held (after a garbage collection)."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([_NUMPY_AS_STRIDED])
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_memory_after_300_steps_is_within_10_percent_of_after_20_steps():
    tracemalloc.start()  # before the model: its parameters and state count too
    try:
        minigrad.manual_seed(0)
        # the full-depth model would take ~100 s under tracemalloc (every step ~3× slower)
        model = small_mobilenet_v2()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
        rng = np.random.default_rng(0)
        after = {}
        for step in range(1, 301):
            x = minigrad.tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
            y = minigrad.tensor(rng.integers(0, 10, 4))
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if step in (20, 300):
                after[step] = _traced_bytes()
    finally:
        tracemalloc.stop()
    print(f"traced memory after step 20: {after[20]} B, after step 300: {after[300]} B")
    assert np.isfinite(loss.item())
    assert abs(after[300] - after[20]) <= 0.10 * after[20], after
