"""Time minigrad's MobileNets against their plain-torch twins, and measure peak memory.

In one process each network is built in minigrad (`minigrad.models`) and in torch (the twins in
`tests/models/torch_mobilenet.py`), the torch weights are copied into minigrad, and the two are
timed interleaved (one minigrad run, one torch run, one torch channels_last run, repeated), so
that load from other processes hits all three alike. Rows:

- MobileNetV2 (width 0.5, small input, 10 classes) and MobileNetV3-small (small input): a
  training step (forward, cross-entropy, backward, SGD-momentum step), eval-mode inference,
  and the fused eval (minigrad's `utils.fuse_for_inference` copy against torch's eager eval,
  NCHW and channels_last, unfused);
- the depthwise-separable block (V1, N=32, C=64→128, 32×32) and the inverted-residual block
  (V2, N=32, C=32, t=6, 32×32): forward + backward with a fixed random upstream gradient;
- the main job's training step (`examples/train_mobilenet.py` with its defaults: MobileNetV2
  width 0.25 on one-channel 24×24 crops, SGD with Nesterov momentum and weight decay), so that
  the main job's speed is measured against torch's in the same run as the rest;
- a digits-sized training step: MobileNetV2 width 0.5 at batch 32 on 3×16×16, with Adam;
- defaults against defaults: the MobileNetV2-0.5 training step timed in a fresh process in
  which neither framework's thread count is set (each uses its own default), as a user who
  times both out of the box would (`--threads` does not apply to this row).

A time is the median of `--repeat` runs (≥ 7) after warm-up. Memory of the training step:
tracemalloc's peak for minigrad (NumPy reports its buffers to it), and for both frameworks the
growth of the peak RSS during the steps, each framework in a fresh subprocess of its own
(so that neither's imports or caches count against the other). A batch-size sweep
(16/32/64/128) times the MobileNetV2 training step in both and reports the time per sample.

glibc's allocator is tuned as the issue prescribes (torch otherwise spends a third of its time
in page faults); the script re-executes itself with the variables when they are missing:

    python benchmarks/bench_models.py [--threads N] [--batch N] [--repeat N] [--json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MALLOC_SETTINGS = {
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "536870912",
    "MALLOC_MMAP_THRESHOLD_": "33554432",
}
SWEEP_BATCHES = (16, 32, 64, 128)
# the optimizers: the SGD-momentum, the main job's (its defaults), and Adam for the
# digits-sized step
SGD_MOMENTUM = {"lr": 0.01, "momentum": 0.9}
MAIN_JOB_SGD = {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-5}
ADAM = {"lr": 1e-3}
DIGITS_BATCH = 32


def _reexec_with_tuned_malloc() -> None:
    """glibc reads these at start-up only, so the process must be started again with them."""
    if all(os.environ.get(k) == v for k, v in MALLOC_SETTINGS.items()):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_SETTINGS})


def _set_threads(threads: int) -> None:
    """The same number of threads for both: torch's intra-op pool, minigrad's pool and BLAS."""
    import torch

    from minigrad.fast.threads import set_num_threads

    torch.set_num_threads(threads)
    set_num_threads(threads)


def parse_one_model_args(description: str, repeat: int) -> argparse.Namespace:
    """--model, --batch, --threads (1 by default, set for both frameworks here) and --repeat:
    the arguments of the scripts that study one model (profile_eval, depthwise_share)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default="mobilenet_v2",
                   choices=["mobilenet_v2", "mobilenet_v3_small"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=repeat)
    args = p.parse_args()
    _set_threads(args.threads)
    return args


@dataclass
class Work:
    """One timed piece of work: a callable per framework ('minigrad', 'torch', 'torch_cl')."""

    name: str
    runs: dict[str, Callable[[], object]]
    times_ms: dict[str, list[float]] = field(default_factory=dict)

    def time_interleaved(self, repeat: int, warmup: int) -> None:
        for run in self.runs.values():
            for _ in range(warmup):
                run()
        self.times_ms = {key: [] for key in self.runs}
        for _ in range(repeat):
            for key, run in self.runs.items():
                start = time.perf_counter()
                run()
                self.times_ms[key].append(1e3 * (time.perf_counter() - start))

    def medians(self) -> dict[str, float]:
        return {key: statistics.median(t) for key, t in self.times_ms.items()}


def _torch_twins():
    sys.path.insert(0, str(ROOT))
    from tests.models import torch_mobilenet

    return torch_mobilenet


def build_model(name: str, framework: str):
    """A fresh network (a full model or one block) in 'minigrad' or 'torch'."""
    import minigrad.models as mg

    tm = _torch_twins() if framework == "torch" else None
    builders = {
        "mobilenet_v2": lambda lib: lib.mobilenet_v2(num_classes=10, width_mult=0.5,
                                                     small_input=True),
        "mobilenet_v3_small": lambda lib: lib.mobilenet_v3_small(num_classes=10,
                                                                 small_input=True),
        "dw_separable": lambda lib: (lib.DepthwiseSeparable if lib is tm
                                     else lib.DepthwiseSeparableConv)(64, 128, 1),
        "inverted_residual": lambda lib: lib.InvertedResidual(32, 32, 1, 6),
        "main_job": lambda lib: lib.mobilenet_v2(num_classes=10, width_mult=0.25,
                                                 small_input=True, in_channels=1),
        "digits": lambda lib: lib.mobilenet_v2(num_classes=10, width_mult=0.5,
                                               small_input=True),
    }
    return builders[name](tm if framework == "torch" else mg)


def input_shape(name: str, batch: int) -> tuple[int, ...]:
    if name == "dw_separable":
        return (32, 64, 32, 32)
    if name == "inverted_residual":
        return (32, 32, 32, 32)
    if name == "main_job":
        return (batch, 1, 24, 24)
    if name == "digits":
        return (DIGITS_BATCH, 3, 16, 16)
    return (batch, 3, 32, 32)


def _copy_weights(torch_model, mg_model) -> None:
    mg_model.load_state_dict({k: v.detach().numpy() for k, v in torch_model.state_dict().items()})


def _data(name: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape(name, batch)).astype(np.float32)
    return x, rng.integers(0, 10, size=x.shape[0])


def minigrad_train_step(model, x: np.ndarray, labels: np.ndarray,
                        sgd: dict = SGD_MOMENTUM, optim: str = "SGD") -> Callable[[], object]:
    import minigrad
    import minigrad.nn.functional as F
    import minigrad.optim

    optimizer = getattr(minigrad.optim, optim)(model.parameters(), **sgd)
    xt, yt = minigrad.tensor(x), minigrad.tensor(labels)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        optimizer.step()

    model.train()
    return step


def torch_train_step(model, x: np.ndarray, labels: np.ndarray, channels_last: bool = False,
                     sgd: dict = SGD_MOMENTUM, optim: str = "SGD") -> Callable[[], object]:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = getattr(torch.optim, optim)(model.parameters(), **sgd)
    xt = torch.from_numpy(x).contiguous(memory_format=fmt)
    yt = torch.from_numpy(labels)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        optimizer.step()

    model.train()
    return step


def minigrad_eval(model, x: np.ndarray) -> Callable[[], object]:
    import minigrad

    xt = minigrad.tensor(x)
    model.eval()

    def run() -> object:
        with minigrad.no_grad():
            return model(xt)

    return run


def torch_eval(model, x: np.ndarray, channels_last: bool = False) -> Callable[[], object]:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xt = torch.from_numpy(x).contiguous(memory_format=fmt)
    model.eval()

    def run() -> object:
        with torch.inference_mode():
            return model(xt)

    return run


def minigrad_block_step(model, x: np.ndarray, upstream: np.ndarray) -> Callable[[], object]:
    import minigrad

    xt = minigrad.tensor(x, requires_grad=True)

    def step() -> None:
        xt.grad = None
        model.zero_grad()
        model(xt).backward(upstream)

    model.train()
    return step


def torch_block_step(model, x: np.ndarray, upstream: np.ndarray,
                     channels_last: bool = False) -> Callable[[], object]:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xt = torch.from_numpy(x).contiguous(memory_format=fmt).requires_grad_()
    g = torch.from_numpy(upstream).contiguous(memory_format=fmt)

    def step() -> None:
        xt.grad = None
        model.zero_grad(set_to_none=True)
        model(xt).backward(g)

    model.train()
    return step


def _twin_pair(name: str):
    """(minigrad model, torch model, torch channels_last model), all with the same weights."""
    import copy

    torch_model = build_model(name, "torch")
    mg_model = build_model(name, "minigrad")
    _copy_weights(torch_model, mg_model)
    return mg_model, torch_model, copy.deepcopy(torch_model)


def train_work(name: str, batch: int) -> Work:
    x, labels = _data(name, batch)
    mg_model, tm, tm_cl = _twin_pair(name)
    return Work(f"{name} train step", {
        "minigrad": minigrad_train_step(mg_model, x, labels),
        "torch": torch_train_step(tm, x, labels),
        "torch_cl": torch_train_step(tm_cl, x, labels, channels_last=True),
    })


def model_works(name: str, batch: int) -> list[Work]:
    train = train_work(name, batch)
    x, _ = _data(name, batch)
    mg_model, tm, tm_cl = _twin_pair(name)
    infer = Work(f"{name} eval forward", {
        "minigrad": minigrad_eval(mg_model, x),
        "torch": torch_eval(tm, x),
        "torch_cl": torch_eval(tm_cl, x, channels_last=True),
    })
    return [train, infer, fused_eval_work(name, x)]


def fused_eval_work(name: str, x: np.ndarray) -> Work:
    """minigrad's `fuse_for_inference` copy against torch's eager (unfused) eval."""
    from minigrad.utils import fuse_for_inference

    mg_model, tm, tm_cl = _twin_pair(name)
    return Work(f"{name} fused eval forward", {
        "minigrad": minigrad_eval(fuse_for_inference(mg_model.eval()), x),
        "torch": torch_eval(tm, x),
        "torch_cl": torch_eval(tm_cl, x, channels_last=True),
    })


def digits_work() -> Work:
    x, labels = _data("digits", DIGITS_BATCH)
    mg_model, tm, tm_cl = _twin_pair("digits")
    return Work(f"digits step (v2-0.5, {DIGITS_BATCH}x3x16x16, Adam)", {
        "minigrad": minigrad_train_step(mg_model, x, labels, ADAM, "Adam"),
        "torch": torch_train_step(tm, x, labels, sgd=ADAM, optim="Adam"),
        "torch_cl": torch_train_step(tm_cl, x, labels, channels_last=True, sgd=ADAM,
                                     optim="Adam"),
    })


def reference_kernels_work() -> Work:
    """The digits step with minigrad on its reference kernels (`use_kernels("reference")`):
    against the digits row of the same run, what reading-first kernels cost."""
    import minigrad

    x, labels = _data("digits", DIGITS_BATCH)
    mg_model, tm, _ = _twin_pair("digits")
    fast_step = minigrad_train_step(mg_model, x, labels, ADAM, "Adam")

    def reference_step() -> None:
        with minigrad.use_kernels("reference"):
            fast_step()

    return Work("digits step on the reference kernels", {
        "minigrad": reference_step,
        "torch": torch_train_step(tm, x, labels, sgd=ADAM, optim="Adam"),
    })


def defaults_work(batch: int, repeat: int, warmup: int) -> Work:
    """The MobileNetV2-0.5 training step, each framework with its default thread count: timed
    by `_defaults_probe` in a fresh process where nothing sets a thread count."""
    here = str(Path(__file__).parent)
    code = (f"import sys; sys.path.insert(0, {here!r}); import bench_models as b; "
            f"print(b._defaults_probe({batch}, {repeat}, {warmup}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, **MALLOC_SETTINGS})
    probe = json.loads(out.stdout.splitlines()[-1])
    work = Work(f"defaults: mobilenet_v2 train step ({probe['minigrad_threads']} vs "
                f"{probe['torch_threads']} thr)", {})
    work.times_ms = probe["times_ms"]
    return work


def _defaults_probe(batch: int, repeat: int, warmup: int) -> str:
    import torch

    import minigrad

    work = train_work("mobilenet_v2", batch)
    work.time_interleaved(repeat, warmup)
    return json.dumps({"times_ms": work.times_ms, "torch_threads": torch.get_num_threads(),
                       "minigrad_threads": minigrad.get_num_threads()})


def block_work(name: str) -> Work:
    x, _ = _data(name, 0)
    mg_model, tm, tm_cl = _twin_pair(name)
    with_grad = mg_model(__import__("minigrad").tensor(x))
    upstream = np.random.default_rng(1).standard_normal(with_grad.shape).astype(np.float32)
    return Work(f"{name} block fwd+bwd", {
        "minigrad": minigrad_block_step(mg_model, x, upstream),
        "torch": torch_block_step(tm, x, upstream),
        "torch_cl": torch_block_step(tm_cl, x, upstream, channels_last=True),
    })


def main_job_work(batch: int) -> Work:
    x, labels = _data("main_job", batch)
    mg_model, tm, tm_cl = _twin_pair("main_job")
    return Work("main job train step", {
        "minigrad": minigrad_train_step(mg_model, x, labels, MAIN_JOB_SGD),
        "torch": torch_train_step(tm, x, labels, sgd=MAIN_JOB_SGD),
        "torch_cl": torch_train_step(tm_cl, x, labels, channels_last=True, sgd=MAIN_JOB_SGD),
    })


def sweep_works(batches: tuple[int, ...]) -> list[Work]:
    works = []
    for batch in batches:
        x, labels = _data("mobilenet_v2", batch)
        mg_model, tm, _ = _twin_pair("mobilenet_v2")
        works.append(Work(f"mobilenet_v2 train step, batch {batch}", {
            "minigrad": minigrad_train_step(mg_model, x, labels),
            "torch": torch_train_step(tm, x, labels),
        }))
    return works


def tracemalloc_peak_mb(name: str, batch: int) -> float:
    """Peak traced bytes during one minigrad training step, after two warm-up steps."""
    x, labels = _data(name, batch)
    step = minigrad_train_step(build_model(name, "minigrad"), x, labels)
    step()
    step()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def rss_mb(name: str, batch: int, framework: str, threads: int) -> dict[str, float]:
    """Run `_rss_probe` in a fresh subprocess (only that framework imported)."""
    here = str(Path(__file__).parent)
    code = (f"import sys; sys.path.insert(0, {here!r}); import bench_models as b; "
            f"print(b._rss_probe({name!r}, {batch}, {framework!r}, {threads}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, **MALLOC_SETTINGS})
    peak, growth = map(float, out.stdout.split()[-2:])
    return {"peak": peak, "growth": growth}


def _proc_status_mb(field_name: str) -> float:
    """A 'kB' field of /proc/self/status (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def _rss_probe(name: str, batch: int, framework: str, threads: int) -> str:
    """'peak growth' in MiB: the process's peak RSS over 3 training steps, and how far it
    rose above the RSS before them (the model, data and imports already in place)."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        from minigrad.fast.threads import set_num_threads

        set_num_threads(threads)
    x, labels = _data(name, batch)
    make = torch_train_step if framework == "torch" else minigrad_train_step
    step = make(build_model(name, framework), x, labels)
    before = _proc_status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    for _ in range(3):
        step()
    peak = _proc_status_mb("VmHWM")
    return f"{peak:.1f} {peak - before:.1f}"


def _format_times(works: list[Work]) -> list[str]:
    lines = [f"{'work':<48}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>7}"
             f"{'torch CL ms':>12}{'ratio CL':>9}"]
    for w in works:
        m = w.medians()
        line = f"{w.name:<48}{m['minigrad']:>12.1f}{m['torch']:>10.1f}"
        line += f"{m['minigrad'] / m['torch']:>6.2f}×"
        if "torch_cl" in m:
            line += f"{m['torch_cl']:>12.1f}{m['minigrad'] / m['torch_cl']:>8.2f}×"
        lines.append(line)
    return lines


def _linearity(works: list[Work]) -> dict[str, dict[str, float]]:
    """Per framework: ms per sample at each batch size, and the largest relative deviation
    of those from their mean (0 means perfectly linear)."""
    result = {}
    for key in ("minigrad", "torch"):
        per_sample = [w.medians()[key] / b for w, b in zip(works, SWEEP_BATCHES)]
        mean = statistics.mean(per_sample)
        result[key] = {"ms_per_sample": per_sample,
                       "max_deviation": max(abs(p - mean) / mean for p in per_sample)}
    return result


def _format_sweep(lin: dict[str, dict]) -> list[str]:
    lines = ["", "batch sweep, MobileNetV2 train step, ms per sample:",
             f"{'batch':<10}" + "".join(f"{b:>9}" for b in SWEEP_BATCHES) + "  max dev."]
    for key, row in lin.items():
        lines.append(f"{key:<10}" + "".join(f"{p:>9.2f}" for p in row["ms_per_sample"])
                     + f"{100 * row['max_deviation']:>8.1f}%")
    return lines


def _parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for both frameworks (default: all cores)")
    p.add_argument("--batch", type=int, default=64, help="batch of the model rows (64)")
    p.add_argument("--repeat", type=int, default=9, help="timed runs per row, ≥ 7 (9)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.add_argument("--quick", action="store_true",
                   help="3 runs, no batch sweep and no memory rows (a smoke test)")
    args = p.parse_args()
    if not args.quick and args.repeat < 7:
        p.error("--repeat must be ≥ 7 (use --quick for a smoke test)")
    return args


def _memory(batch: int, threads: int) -> dict[str, dict[str, float]]:
    memory = {}
    for name in ("mobilenet_v2", "mobilenet_v3_small"):
        mg, tc = rss_mb(name, batch, "minigrad", threads), rss_mb(name, batch, "torch", threads)
        memory[name] = {"minigrad_tracemalloc": tracemalloc_peak_mb(name, batch),
                        "minigrad_rss_peak": mg["peak"], "minigrad_rss_growth": mg["growth"],
                        "torch_rss_peak": tc["peak"], "torch_rss_growth": tc["growth"]}
    return memory


def _format_memory(memory: dict[str, dict[str, float]]) -> list[str]:
    lines = ["", "train step memory, MiB (each framework in a fresh process of its own; growth ="
             " peak RSS during 3 steps minus RSS before them):",
             f"{'model':<20}{'mg tracemalloc':>15}{'mg peak':>9}{'torch peak':>11}"
             f"{'mg growth':>10}{'torch growth':>13}{'ratio':>7}"]
    for name, m in memory.items():
        ratio = m["minigrad_rss_growth"] / max(m["torch_rss_growth"], 1e-9)
        lines.append(f"{name:<20}{m['minigrad_tracemalloc']:>15.0f}{m['minigrad_rss_peak']:>9.0f}"
                     f"{m['torch_rss_peak']:>11.0f}{m['minigrad_rss_growth']:>10.0f}"
                     f"{m['torch_rss_growth']:>13.0f}{ratio:>6.2f}×")
    return lines


def main() -> None:
    _reexec_with_tuned_malloc()
    args = _parse_args()
    _set_threads(args.threads)
    repeat, warmup = (3, 1) if args.quick else (args.repeat, 3)
    works = model_works("mobilenet_v2", args.batch) + model_works("mobilenet_v3_small",
                                                                   args.batch)
    works += [block_work("dw_separable"), block_work("inverted_residual"),
              main_job_work(args.batch), digits_work(), reference_kernels_work()]
    say = (lambda *lines: None) if args.json else (lambda *lines: print(*lines, sep="\n"))
    say(f"threads {args.threads}, batch {args.batch}, median of {repeat}, "
        f"load average at start {os.getloadavg()[0]:.2f}")
    for w in works:
        w.time_interleaved(repeat, warmup)
    works.append(defaults_work(args.batch, repeat, warmup))
    say(*_format_times(works))
    sweep = [] if args.quick else sweep_works(SWEEP_BATCHES)
    for w in sweep:
        w.time_interleaved(repeat, warmup)
    linearity = _linearity(sweep) if sweep else {}
    say(*(_format_sweep(linearity) if sweep else []))
    memory = {} if args.quick else _memory(args.batch, args.threads)
    say(*(_format_memory(memory) if memory else []), f"load average at end {os.getloadavg()}")
    if args.json:
        print(json.dumps({"threads": args.threads, "batch": args.batch, "repeat": repeat,
                          "load_average": os.getloadavg(),
                          "times_ms": {w.name: w.medians() for w in works},
                          "sweep": linearity, "memory": memory}, indent=2))


if __name__ == "__main__":
    main()
