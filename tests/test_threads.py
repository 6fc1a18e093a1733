"""minigrad's thread pool: every run of work done exactly once, the calling thread taking one
of them, errors raised only after every run has finished, and `runs_in_parallel` telling
which work is shared out."""

from __future__ import annotations

import threading
import time

import pytest

from minigrad.threads import MIN_PARALLEL_BYTES, for_each_run, runs_in_parallel

WORTH_THREADS = 1 << 30  # bytes of work: enough that for_each_run always uses the pool


@pytest.mark.parametrize("threads", [2, 3], indirect=True)
def test_for_each_run_does_every_run_once_one_on_the_calling_thread(threads):
    done: list[tuple[list[int], str]] = []
    lock = threading.Lock()

    def record(run: list[int]) -> None:
        with lock:
            done.append((run, threading.current_thread().name))

    for_each_run(record, list(range(7)), WORTH_THREADS)
    assert sorted(i for run, _ in done for i in run) == list(range(7))
    assert len(done) == threads
    assert [name for _, name in done].count(threading.current_thread().name) == 1


@pytest.mark.parametrize("threads", [2], indirect=True)
@pytest.mark.parametrize("failing", ["calling thread", "worker"])
def test_for_each_run_raises_after_every_run_has_finished(threads, failing):
    finished: list[int] = []
    caller = threading.current_thread()

    def work(run: list[int]) -> None:
        on_caller = threading.current_thread() is caller
        if on_caller == (failing == "calling thread"):
            raise RuntimeError(f"failed on the {failing}")
        if not on_caller:
            time.sleep(0.05)  # a worker still busy when the calling thread has failed
        finished.extend(run)

    with pytest.raises(RuntimeError, match=f"failed on the {failing}"):
        for_each_run(work, [0, 1], WORTH_THREADS)
    # the other run completed before the error reached us
    assert len(finished) == 1


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("n_items", [1, 2, 5])
@pytest.mark.parametrize("total_bytes", [MIN_PARALLEL_BYTES - 1, MIN_PARALLEL_BYTES])
def test_runs_in_parallel_says_whether_for_each_run_uses_the_pool(threads, n_items, total_bytes):
    callers: set[str] = set()
    lock = threading.Lock()

    def record(run: list[int]) -> None:
        with lock:
            callers.add(threading.current_thread().name)

    expected = threads > 1 and n_items > 1 and total_bytes >= MIN_PARALLEL_BYTES
    assert runs_in_parallel(n_items, total_bytes) is expected
    for_each_run(record, list(range(n_items)), total_bytes)
    assert (len(callers) > 1) is expected
