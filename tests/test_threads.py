"""minigrad's thread pool: every item of work done exactly once, every thread called once on
the shared queue, a late thread taking fewer items, errors raised only after every thread has
finished, `runs_in_parallel` telling which work is shared out, `split_for_threads` giving
every thread the same share, the default count, and changing the count while another thread
runs kernels."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import minigrad
import minigrad.fast.threads
import minigrad.nn.functional as F
from minigrad import models
from minigrad.fast.threads import (
    MIN_PARALLEL_BYTES,
    default_num_threads,
    get_num_threads,
    runs_in_parallel,
    set_num_threads,
    share_out,
    split_for_threads,
)
from minigrad.optim import SGD

WORTH_THREADS = 1 << 30  # bytes of work: enough that share_out always uses the pool


@pytest.mark.parametrize("threads", [2, 3], indirect=True)
def test_share_out_does_every_item_once_calling_fn_once_per_thread(threads):
    done: list[tuple[int, str]] = []
    calls: list[str] = []
    lock = threading.Lock()

    def record(queue) -> None:
        name = threading.current_thread().name
        with lock:
            calls.append(name)
        for item in queue:
            with lock:
                done.append((item, name))

    share_out(record, list(range(7)), WORTH_THREADS)
    assert sorted(item for item, _ in done) == list(range(7))
    # once per thread, once of them on the calling thread (a worker that found the queue empty
    # may take another call too)
    assert len(calls) == threads
    assert calls.count(threading.current_thread().name) == 1


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_share_out_gives_a_late_thread_fewer_items(threads):
    caller = threading.current_thread()
    taken = {"caller": 0, "worker": 0}
    worker_started = threading.Event()

    def work(queue) -> None:
        on_caller = threading.current_thread() is caller
        if not on_caller:
            worker_started.set()
            time.sleep(0.2)  # a worker that wakes up late
        for _ in queue:
            taken["caller" if on_caller else "worker"] += 1
            if on_caller:
                worker_started.wait(5)
                time.sleep(0.01)

    share_out(work, list(range(10)), WORTH_THREADS)
    assert taken["caller"] + taken["worker"] == 10
    assert taken["caller"] > taken["worker"]


@pytest.mark.parametrize("threads", [2], indirect=True)
@pytest.mark.parametrize("failing", ["calling thread", "worker"])
def test_share_out_raises_after_every_thread_has_finished(threads, failing):
    finished: list[int] = []
    caller = threading.current_thread()
    both_started = threading.Barrier(2, timeout=5)

    def work(queue) -> None:
        on_caller = threading.current_thread() is caller
        both_started.wait()  # each thread has taken its call before either fails
        item = next(queue)
        if on_caller == (failing == "calling thread"):
            raise RuntimeError(f"failed on the {failing}")
        if not on_caller:
            time.sleep(0.05)  # a worker still busy when the calling thread has failed
        finished.append(item)

    with pytest.raises(RuntimeError, match=f"failed on the {failing}"):
        share_out(work, [0, 1], WORTH_THREADS)
    # the other thread's item completed before the error reached us
    assert len(finished) == 1


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("n_items", [1, 2, 5])
@pytest.mark.parametrize("total_bytes", [MIN_PARALLEL_BYTES - 1, MIN_PARALLEL_BYTES])
def test_runs_in_parallel_says_whether_share_out_uses_the_pool(threads, n_items, total_bytes):
    callers: set[str] = set()
    lock = threading.Lock()

    def record(queue) -> None:
        with lock:
            callers.add(threading.current_thread().name)
        list(queue)

    expected = threads > 1 and n_items > 1 and total_bytes >= MIN_PARALLEL_BYTES
    assert runs_in_parallel(n_items, total_bytes) is expected
    share_out(record, list(range(n_items)), total_bytes)
    assert (len(callers) > 1) is expected


@pytest.mark.parametrize("threads", [1, 2, 3], indirect=True)
@pytest.mark.parametrize("total_bytes", [MIN_PARALLEL_BYTES - 1, WORTH_THREADS])
def test_split_for_threads_gives_equal_parts_a_multiple_of_the_threads(threads, total_bytes):
    for n_items in range(40):
        for max_per_part in range(1, 12):
            parts = split_for_threads(n_items, max_per_part, total_bytes)
            sizes = [p.stop - p.start for p in parts]
            # contiguous, in order, covering range(n_items), none empty, none too large
            bounds = [0, *(p.stop for p in parts)]
            assert [p.start for p in parts] == bounds[:-1] and bounds[-1] == n_items
            assert all(0 < size <= max_per_part for size in sizes)
            assert max(sizes, default=0) - min(sizes, default=0) <= 1
            fewest = -(-n_items // max_per_part)
            if runs_in_parallel(n_items, total_bytes):
                assert len(parts) % threads == 0 or len(parts) == n_items
                assert fewest <= len(parts) < fewest + threads
            else:
                assert len(parts) == fewest


def test_default_is_the_cores_this_process_may_use():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_num_threads() == expected
    # a fresh interpreter, where nothing has called set_num_threads
    code = "import minigrad; print(minigrad.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert int(out.stdout) == expected


def _minigrad_workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("minigrad")}


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_set_num_threads_while_another_thread_runs_kernels(threads):
    """set_num_threads from one thread while another keeps running kernels on the pool: the
    pool swap never fails a kernel (it used to: 'cannot schedule new futures after
    shutdown'), and every run of every kernel is done exactly once."""
    errors: list[BaseException] = []
    done_swapping = threading.Event()
    kernels = [0]

    def kernel_loop() -> None:
        try:
            while not done_swapping.is_set() or kernels[0] < 5:
                seen: list[int] = []
                lock = threading.Lock()

                def record(queue, lock=lock, seen=seen) -> None:
                    for item in queue:
                        with lock:
                            seen.append(item)

                share_out(record, list(range(6)), WORTH_THREADS)
                assert sorted(seen) == list(range(6))
                kernels[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    trainer = threading.Thread(target=kernel_loop)
    trainer.start()
    try:
        for i in range(300):
            set_num_threads(1 + i % 3)
            if i % 10 == 0:
                time.sleep(0.001)  # let the kernel thread take the GIL mid-swap
    finally:
        done_swapping.set()
        trainer.join(timeout=10)
    assert not trainer.is_alive()
    assert not errors, f"the kernel thread failed: {errors[0]!r}"
    assert kernels[0] >= 5


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_set_num_threads_while_another_thread_trains(threads, monkeypatch):
    """The case of issue 18: a training loop on one thread, the thread count changed from
    another; every step completes, on whichever pool it started with."""
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)  # every kernel on the pool
    minigrad.manual_seed(0)
    model = models.mobilenet_v2(num_classes=4, width_mult=0.25, small_input=True)
    optimizer = SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 4, size=4))
    errors: list[BaseException] = []
    steps = [0]

    def train() -> None:
        try:
            for _ in range(6):
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
                steps[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    trainer = threading.Thread(target=train)
    trainer.start()
    i = 0
    while trainer.is_alive() and i < 20000:
        set_num_threads(1 + i % 3)
        i += 1
    trainer.join(timeout=30)
    assert not errors, f"training failed: {errors[0]!r}"
    assert steps[0] == 6


def test_old_pools_are_retired_once_unused():
    previous = get_num_threads()
    earlier = _minigrad_workers()  # other tests' pools, retired or not
    try:
        for n in [3, 2, 3, 2, 3]:
            set_num_threads(n)
            # every run waits for the others, so the pool must start all n − 1 workers
            all_running = threading.Barrier(n, timeout=5)
            share_out(lambda queue, barrier=all_running: barrier.wait(), list(range(n)),
                      WORTH_THREADS)
            assert len(_minigrad_workers() - earlier) >= n - 1
        set_num_threads(2)
        share_out(lambda queue: None, [0, 1], WORTH_THREADS)
        gc.collect()
        deadline = time.monotonic() + 5
        while len(_minigrad_workers() - earlier) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        # of the workers started here, only the current pool's one is left
        assert len(_minigrad_workers() - earlier) == 1
    finally:
        set_num_threads(previous)
