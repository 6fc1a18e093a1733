"""minigrad's thread pool: every run of work done exactly once, the calling thread taking one
of them, errors raised only after every run has finished, `runs_in_parallel` telling which
work is shared out, and `split_for_threads` giving every thread the same share."""

from __future__ import annotations

import threading
import time

import pytest

from minigrad.fast.threads import MIN_PARALLEL_BYTES, for_each_run, runs_in_parallel, split_for_threads

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
