"""Why a second core gains little on small batches: time one kernel shared by two workers.

The kernel is BatchNorm's elementwise chain with ReLU6 (y = clip(x·a + b, 0, 6): a multiply,
an add and a clip) on an (N, C, H, W) float32 array, run as a "region" of work split in two
halves over the batch, like minigrad's kernels on two threads. Each row reports the time per
region on one thread, and how much faster three ways of sharing it out are:

- `pool`: minigrad's thread pool (`minigrad.fast.threads.share_out` on 2 threads);
- `pipe process`: a forked worker process that takes its half from shared memory, woken
  through a pipe for every region, as a process pool would;
- `spinning process`: the same worker, spin-waiting on a flag in shared memory instead
  (it keeps a core busy while it waits).

A Python thread cannot spin-wait without holding the GIL, so the pool's worker sleeps between
regions, and so does the pipe-woken process; on small arrays waking it costs about as much as
the region itself. Unix only (it forks). A plain script: timings are printed, never asserted.

    python benchmarks/bench_handoff.py [--rounds 5] [--regions 200] [--shapes 16,96,16,16 ...]
"""

from __future__ import annotations

import argparse
import mmap
import os
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing import Pipe
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minigrad.fast.threads import set_num_threads, share_out  # noqa: E402

DEFAULT_SHAPES = ["16,24,16,16", "16,144,8,8", "16,48,16,16", "16,96,16,16", "16,32,32,32",
                  "16,96,32,32", "128,96,16,16"]


class Kernel:
    """x, y and a small control block in one shared anonymous mapping, so that a forked
    worker writes into the same y; `run(rows)` computes y[rows] = clip(x·a + b, 0, 6)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        size = int(np.prod(shape))
        self._memory = mmap.mmap(-1, 8 * size + 64)  # MAP_SHARED: forked workers see it
        self.x = np.frombuffer(self._memory, np.float32, size, 0).reshape(shape)
        self.y = np.frombuffer(self._memory, np.float32, size, 4 * size).reshape(shape)
        # [region number posted, region number done]
        self.flags = np.frombuffer(self._memory, np.int64, 2, 8 * size)
        rng = np.random.default_rng(0)
        self.x[...] = rng.standard_normal(shape)
        self.scale = rng.random((shape[1], 1, 1), dtype=np.float32)
        self.shift = rng.random((shape[1], 1, 1), dtype=np.float32)
        self.batch = shape[0]

    def run(self, rows: slice) -> None:
        out = self.y[rows]
        np.multiply(self.x[rows], self.scale, out=out)
        out += self.shift
        np.clip(out, 0, 6, out=out)

    def halves(self) -> tuple[slice, slice]:
        return slice(0, self.batch // 2), slice(self.batch // 2, self.batch)


def one_thread(kernel: Kernel, regions: int) -> None:
    for _ in range(regions):
        kernel.run(slice(0, kernel.batch))


def minigrad_pool(kernel: Kernel, regions: int) -> None:
    halves = list(kernel.halves())

    def run(queue) -> None:
        for rows in queue:
            kernel.run(rows)

    for _ in range(regions):
        share_out(run, halves, 1 << 30)  # always shared out


def pipe_process(kernel: Kernel, regions: int) -> None:
    mine, theirs = kernel.halves()
    ours, worker_end = Pipe()
    pid = os.fork()
    if pid == 0:  # the worker: one half per message, until None
        while worker_end.recv() is not None:
            kernel.run(theirs)
            worker_end.send(True)
        os._exit(0)
    try:
        for _ in range(regions):
            ours.send(True)
            kernel.run(mine)
            ours.recv()
    finally:
        ours.send(None)
        os.waitpid(pid, 0)


def spinning_process(kernel: Kernel, regions: int) -> None:
    mine, theirs = kernel.halves()
    posted, done = 0, 1
    kernel.flags[:] = 0
    pid = os.fork()
    if pid == 0:  # the worker: spins until a new region number (or −1) is posted
        seen = 0
        while True:
            while kernel.flags[posted] == seen:
                pass
            seen = int(kernel.flags[posted])
            if seen < 0:
                os._exit(0)
            kernel.run(theirs)
            kernel.flags[done] = seen
    try:
        for region in range(1, regions + 1):
            kernel.flags[posted] = region
            kernel.run(mine)
            while kernel.flags[done] != region:
                pass
    finally:
        kernel.flags[posted] = -1
        os.waitpid(pid, 0)


WAYS: dict[str, Callable[[Kernel, int], None]] = {
    "pool": minigrad_pool, "pipe process": pipe_process, "spinning process": spinning_process}


def time_per_region(way: Callable[[Kernel, int], None], kernel: Kernel, regions: int) -> float:
    start = time.perf_counter()
    way(kernel, regions)
    return (time.perf_counter() - start) / regions


def measure(shape: tuple[int, ...], rounds: int, regions: int) -> dict[str, float]:
    """Median seconds per region of each way, the ways interleaved round by round, each
    checked against the one-thread result."""
    kernel = Kernel(shape)
    one_thread(kernel, 1)
    expected = kernel.y.copy()
    times: dict[str, list[float]] = {"one thread": [], **{name: [] for name in WAYS}}
    for _ in range(rounds):
        times["one thread"].append(time_per_region(one_thread, kernel, regions))
        for name, way in WAYS.items():
            kernel.y[...] = 0
            times[name].append(time_per_region(way, kernel, regions))
            if not np.array_equal(kernel.y, expected):
                raise RuntimeError(f"bench_handoff: {name} computed a wrong result for {shape}")
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median), 5")
    p.add_argument("--regions", type=int, default=200, help="regions timed per round, 200")
    p.add_argument("--shapes", nargs="+", default=DEFAULT_SHAPES, help="N,C,H,W arrays")
    args = p.parse_args()
    if not hasattr(os, "fork"):
        sys.exit("bench_handoff: needs os.fork (Unix)")
    set_num_threads(2)
    print(f"{'array':<20}{'MiB':>6}{'1 thread µs':>13}"
          + "".join(f"{name:>18}" for name in WAYS) + "   (speed-up over one thread)")
    for text in args.shapes:
        shape = tuple(int(v) for v in text.split(","))
        t = measure(shape, args.rounds, args.regions)
        one = t["one thread"]
        print(f"{str(shape):<20}{4 * np.prod(shape) / 2**20:>6.2f}{one * 1e6:>13.0f}"
              + "".join(f"{one / t[name]:>17.2f}×" for name in WAYS))


if __name__ == "__main__":
    main()
