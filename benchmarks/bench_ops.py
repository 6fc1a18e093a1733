"""Time minigrad's MobileNet ops against torch in one process: forward, and forward+backward.

Each op runs on the same float32 data in both frameworks; a row reports the median of
`--repeat` runs (≥ 7) after two warm-up runs, minigrad's and torch's runs interleaved, and the
ratio minigrad/torch. Both frameworks
get the same number of threads (`--threads`, 1 by default): torch via `torch.set_num_threads`,
minigrad's BLAS via threadpoolctl.

Run it with glibc's allocator tuned, or torch's timings swing by ±50% from run to run:

    MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912 \
    MALLOC_MMAP_THRESHOLD_=33554432 python benchmarks/bench_ops.py [--threads N] [--clock cpu]
    [--json]

The script re-executes itself with those variables when they are missing. batch_norm and
hardswish rows are skipped (with a note) when their modules cannot be imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

MALLOC_SETTINGS = {
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "536870912",
    "MALLOC_MMAP_THRESHOLD_": "33554432",
}


def _reexec_with_tuned_malloc() -> None:
    """glibc reads these at start-up only, so the process must be started again with them."""
    if all(os.environ.get(k) == v for k, v in MALLOC_SETTINGS.items()):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_SETTINGS})


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _paired_median_ms(runs: tuple[Callable[[], object], ...], repeat: int,
                      clock: Callable[[], float], warmup: int = 2) -> list[float]:
    """The median time of each run, the runs interleaved (one of each, repeated), so that a
    machine that speeds up or slows down meanwhile shifts them all alike."""
    for _ in range(warmup):
        for run in runs:
            run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, run_times in zip(runs, times):
            start = clock()
            run()
            run_times.append(clock() - start)
    return [1e3 * statistics.median(run_times) for run_times in times]


class Case:
    """One op on fixed float32 inputs, callable in minigrad and in torch."""

    def __init__(self, name: str, arrays: list[np.ndarray], mg_fn: Callable,
                 torch_fn: Callable) -> None:
        import torch

        import minigrad

        self.name = name
        self.mg_inputs = [minigrad.tensor(a, dtype=a.dtype, requires_grad=True) for a in arrays]
        self.torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
        self.mg_fn, self.torch_fn = mg_fn, torch_fn
        out_shape = mg_fn(*self.mg_inputs).shape
        self.upstream = np.random.default_rng(1).standard_normal(out_shape).astype(np.float32)
        self.torch_upstream = torch.from_numpy(self.upstream)

    def mg_forward(self) -> object:
        return self.mg_fn(*self.mg_inputs)

    def torch_forward(self) -> object:
        return self.torch_fn(*self.torch_inputs)

    def mg_train_step(self) -> None:
        for t in self.mg_inputs:
            t.grad = None
        self.mg_forward().backward(self.upstream)

    def torch_train_step(self) -> None:
        for t in self.torch_inputs:
            t.grad = None
        self.torch_forward().backward(self.torch_upstream)


def _conv_cases(rng: np.random.Generator) -> list[Case]:
    import torch.nn.functional as TF

    from minigrad.nn.functional import conv2d

    def depthwise(stride: int) -> Callable:
        return lambda x, w: conv2d(x, w, stride=stride, padding=1, groups=w.shape[0])

    def torch_depthwise(stride: int) -> Callable:
        return lambda x, w: TF.conv2d(x, w, stride=stride, padding=1, groups=w.shape[0])

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    return [
        Case("depthwise 3x3 (32, 64, 32, 32) s1", [normal(32, 64, 32, 32), normal(64, 1, 3, 3)],
             depthwise(1), torch_depthwise(1)),
        Case("depthwise 3x3 (32, 192, 32, 32) s2", [normal(32, 192, 32, 32),
                                                    normal(192, 1, 3, 3)],
             depthwise(2), torch_depthwise(2)),
        Case("pointwise 64->128 (32, 64, 32, 32)", [normal(32, 64, 32, 32),
                                                    normal(128, 64, 1, 1)],
             conv2d, TF.conv2d),
    ]


def _batch_norm_case(rng: np.random.Generator) -> Case:
    import torch
    import torch.nn.functional as TF

    import minigrad
    from minigrad.ops.norm import batch_norm

    c = 192
    mg_stats = (minigrad.zeros(c), minigrad.ones(c))
    torch_stats = (torch.zeros(c), torch.ones(c))
    arrays = [rng.standard_normal((32, c, 32, 32)).astype(np.float32),
              (1 + 0.1 * rng.standard_normal(c)).astype(np.float32),
              (0.1 * rng.standard_normal(c)).astype(np.float32)]
    return Case("batch_norm train (32, 192, 32, 32)", arrays,
                lambda x, w, b: batch_norm(x, *mg_stats, w, b, True, 0.1, 1e-5),
                lambda x, w, b: TF.batch_norm(x, *torch_stats, w, b, True, 0.1, 1e-5))


def _hardswish_case(rng: np.random.Generator) -> Case:
    import torch.nn.functional as TF

    from minigrad.ops.activation import hardswish

    x = (4 * rng.standard_normal((32, 192, 32, 32))).astype(np.float32)
    return Case("hardswish (32, 192, 32, 32)", [x], hardswish, TF.hardswish)


def _cases() -> tuple[list[Case], list[str]]:
    rng = np.random.default_rng(0)
    cases, notes = _conv_cases(rng), []
    for build in (_batch_norm_case, _hardswish_case):
        try:
            cases.append(build(rng))
        except ImportError as error:
            notes.append(f"skipped {build.__name__[1:-5]}: {error}")
    return cases, notes


def _measure(case: Case, repeat: int, clock: Callable[[], float]) -> dict:
    row = {"op": case.name}
    for mode, mg_run, torch_run in (("forward", case.mg_forward, case.torch_forward),
                                    ("forward+backward", case.mg_train_step,
                                     case.torch_train_step)):
        mg_ms, torch_ms = _paired_median_ms((mg_run, torch_run), repeat, clock)
        row[mode] = {"minigrad_ms": mg_ms, "torch_ms": torch_ms, "ratio": mg_ms / torch_ms}
    return row


def _table(rows: list[dict]) -> str:
    header = (f"{'op':38} {'fwd mg ms':>10} {'torch ms':>9} {'ratio':>6}  "
              f"{'f+b mg ms':>10} {'torch ms':>9} {'ratio':>6}")
    lines = [header, "-" * len(header)]
    for row in rows:
        f, fb = row["forward"], row["forward+backward"]
        lines.append(f"{row['op']:38} {f['minigrad_ms']:10.2f} {f['torch_ms']:9.2f} "
                     f"{f['ratio']:6.2f}  {fb['minigrad_ms']:10.2f} {fb['torch_ms']:9.2f} "
                     f"{fb['ratio']:6.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both frameworks")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per row (≥ 7)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a shared "
                             "machine; equal to wall time for one thread on an idle one)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.repeat < 7:
        parser.error("--repeat must be at least 7")
    _reexec_with_tuned_malloc()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        cases, notes = _cases()
        rows = [_measure(case, args.repeat, CLOCKS[args.clock]) for case in cases]
    if args.json:
        print(json.dumps({"threads": args.threads, "clock": args.clock, "rows": rows,
                          "notes": notes}, indent=2))
        return
    print(f"minigrad / torch, float32, {args.threads} thread(s), median of {args.repeat} runs, "
          f"{args.clock} clock")
    print(_table(rows))
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
