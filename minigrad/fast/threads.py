"""How many threads minigrad uses (`set_num_threads(n)` / `get_num_threads()`, as torch's),
and the pool the fast kernels share their work over.

NumPy releases the GIL inside its loops, so large elementwise work split over the batch runs
in parallel (`for_each_chunk`), and so do the pointwise convolution's matrix products, in
batch slices (`for_each_part`) or as independent tasks (`run_tasks`). Every region of shared
work is one queue of items that each thread takes from when it is free (`share_out`). A
`matmul` keeps the GIL when its stack holds 500 products or fewer. Every NumPy call takes the
GIL back when it returns, so the pool's work is made of calls on about 1 MiB each. Results
never depend on the thread count: work whose rounding depends on how it is split goes in
chunks of a fixed size, never in one part per thread.
BLAS itself is kept to one thread when the optional `threadpoolctl` is installed: OpenBLAS's
idle workers spin and take the core that minigrad's next chunk needs. Measurements (what two
threads gain, and why): benchmarks/README.md, "The thread pool".

By default minigrad uses as many threads as the cores this process may run on (its CPU
affinity), as torch does; each kernel still keeps small work on the calling thread
(`MIN_PARALLEL_BYTES`). The count may change at any time, from any thread: a new pool replaces
the old one, which is never shut down under a kernel still using it (each kernel takes the
count and the pool together, once); it is retired when the last kernel holding it returns,
and its idle workers then exit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import numpy as np

T = TypeVar("T")

# (threads, pool) as one tuple, replaced whole, so a reader never sees the count of one
# setting with the pool of another; None until first use, then the default
_state: dict = {"current": None}
_set_lock = threading.Lock()

# a chain of elementwise steps on chunks this large stays in cache between steps; not
# smaller, as every NumPy call hands the GIL back and forth between the threads
CHUNK_BYTES = 1024 * 1024
# below this much work a thread hand-off costs more than it saves
MIN_PARALLEL_BYTES = 1 << 20
# work split by the batch (`batch_parts`) is cut into this many slices per thread: fewer
# leave one thread idle at the end while another finishes a slice it started late (on two
# threads the idle end was a fifth of the pointwise products' time with one slice per thread)
PARTS_PER_THREAD = 4


def set_num_threads(n: int) -> None:
    """Use `n` threads for minigrad's batch-parallel kernels, as `torch.set_num_threads`.

    The elementwise chains, BatchNorm, the depthwise kernels and the pointwise convolution's
    products run on the pool. With threadpoolctl installed, BLAS is limited to one thread of
    its own either way, so the other matrix products (`linear`, `matmul`, the general conv's
    im2col product; small in a MobileNet) run on one thread.

    The kernels split their work so that results are the same bits on any number of threads
    (tests/test_performance_guards.py checks training steps on 1 to 4).

    Args:
        n: a positive int; 1 runs everything on the calling thread.
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be ≥ 1, got {n}")
    with _set_lock:
        _install(n)


def get_num_threads() -> int:
    """The number of threads set by `set_num_threads`; until it is called, the number of
    cores this process may use, as torch."""
    return _current()[0]


def default_num_threads() -> int:
    """The cores this process may run on: its CPU affinity where the OS reports it, else
    `os.cpu_count()`."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _install(n: int) -> None:
    # the old pool is not shut down: a kernel on another thread may be about to submit to
    # it. Dropping this reference retires it once no kernel holds it (its workers exit when
    # it is garbage collected). n − 1 workers: the calling thread is the n-th (`share_out`)
    pool = ThreadPoolExecutor(n - 1, thread_name_prefix="minigrad") if n > 1 else None
    _state["current"] = (n, pool)
    _limit_blas_to_one_thread()


def _current() -> tuple[int, ThreadPoolExecutor | None]:
    """(threads, pool), the default installed on first use."""
    current = _state["current"]
    if current is None:
        with _set_lock:
            if _state["current"] is None:
                _install(default_num_threads())
            current = _state["current"]
    return current


def _limit_blas_to_one_thread() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own thread count
        return
    threadpool_limits(limits=1, user_api="blas")


def for_each_chunk(fn: Callable[[slice], None], batch: int, sample_bytes: int) -> None:
    """Call `fn(rows)` on slices of range(batch) of about CHUNK_BYTES each, over the threads.

    A chain of elementwise steps run chunk by chunk keeps its operands in L2 between steps.
    `fn` must write disjoint results for disjoint slices; a thread takes the next chunk
    whenever it is free (`share_out`). The chunks do not depend on the number of threads.
    """
    rows = max(1, CHUNK_BYTES // max(1, sample_bytes))
    chunks = [slice(a, min(a + rows, batch)) for a in range(0, batch, rows)]
    share_out(_call_on_each(fn), chunks, batch * sample_bytes)


def for_each_part(fn: Callable[[slice], None], batch: int, total_bytes: int) -> None:
    """Call `fn(rows)` on the slices of `batch_parts(batch, total_bytes)` (once, on the whole
    batch, without threads or when the work is small); a thread that is free takes the next
    slice (`share_out`). `fn`'s result for a row must not depend on the slice it is in."""
    share_out(_call_on_each(fn), batch_parts(batch, total_bytes), total_bytes)


def batch_parts(batch: int, total_bytes: int) -> list[slice]:
    """range(batch) as PARTS_PER_THREAD contiguous slices per thread when this much work is
    shared out over the threads (a thread that finishes first takes over the others' last
    slices, so none waits long for a late or slow one), else as one slice."""
    parallel = runs_in_parallel(batch, total_bytes)
    return split_batch(batch, get_num_threads() * PARTS_PER_THREAD if parallel else 1)


def split_batch(batch: int, parts: int) -> list[slice]:
    """range(batch) as at most `parts` contiguous slices of nearly equal length (none empty)."""
    parts = max(1, min(parts, batch))
    bounds = [batch * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def split_for_threads(n_items: int, max_per_part: int, total_bytes: int) -> list[slice]:
    """range(n_items) as the fewest contiguous parts of at most `max_per_part` items, of
    nearly equal length; when `share_out` would share them out over the threads, as many
    more as make their number a multiple of the thread count, so that every thread gets the
    same share (72 channels in tiles of at most 67 are 36 + 36 on two threads, not 67 + 5)."""
    parts = -(-n_items // max(1, max_per_part))
    if runs_in_parallel(n_items, total_bytes):
        threads = get_num_threads()
        parts = min(n_items, -(-parts // threads) * threads)
    return split_batch(n_items, parts)


def run_tasks(tasks: list[Callable[[], None]], total_bytes: int) -> None:
    """Run independent tasks over the threads, each thread taking the next task when it is
    free (all on the calling thread, in order, without threads or when the work is small).
    Tasks must write disjoint results."""
    share_out(_call_on_each(lambda task: task()), tasks, total_bytes)


def _call_on_each(fn: Callable[[T], None]) -> Callable[[Iterator[T]], None]:
    """A `share_out` worker that calls `fn(item)` on each item it takes."""

    def take_and_call(queue: Iterator[T]) -> None:
        for item in queue:
            fn(item)

    return take_and_call


def runs_in_parallel(n_items: int, total_bytes: int) -> bool:
    """Whether `share_out` shares out this many items and this much work over threads."""
    return _shares(_current()[1], n_items, total_bytes)


def _shares(pool: ThreadPoolExecutor | None, n_items: int, total_bytes: int) -> bool:
    return pool is not None and n_items >= 2 and total_bytes >= MIN_PARALLEL_BYTES


def share_out(fn: Callable[[Iterator[T]], None], items: list[T], total_bytes: int) -> None:
    """Call `fn(queue)` once on every thread, all of them on one shared iterator over `items`:
    `fn` takes items from the queue until it is empty, so a thread that starts late or runs
    slower simply takes fewer, and no thread waits while work is left.

    Runs in parallel when threads are set and the work (`total_bytes`) is worth the hand-off;
    otherwise calls `fn` once on the calling thread, which then takes every item in order.
    `fn` must write disjoint results for disjoint items, and must not depend on which thread
    takes which item; it can allocate its scratch buffers once per call.
    """
    threads, pool = _current()
    queue = iter(items)  # next() on a list iterator is one step under the GIL: thread-safe
    if pool is None or not _shares(pool, len(items), total_bytes):
        fn(queue)
        return
    futures = [pool.submit(fn, queue) for _ in range(threads - 1)]
    try:
        # the calling thread starts at once: a worker joins in when it wakes up
        fn(queue)
    finally:
        wait(futures)  # even on an error: no worker may still be writing when we return
    for future in futures:
        future.result()  # a worker's error, raised here


def sum_in_batch_order(parts: dict[int, np.ndarray], shape: tuple[int, ...],
                       dtype: np.dtype) -> np.ndarray:
    """Σ of the partial sums `parts[start]` (one per batch slice starting at `start`), added in
    batch order, so that the result does not depend on which thread finished first; zeros of
    `shape` when there are none (an empty batch)."""
    if not parts:
        return np.zeros(shape, dtype=dtype)
    first, *rest = (parts[start] for start in sorted(parts))
    return sum(rest, first)
