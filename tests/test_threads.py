"""minigrad's thread pool: every run of work done exactly once, the calling thread taking one
of them, and errors raised only after every run has finished."""

from __future__ import annotations

import threading
import time

import pytest

from minigrad.threads import for_each_run

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
