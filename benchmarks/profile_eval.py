"""Where the eval forward's time goes, op by op, in minigrad and in torch (same weights).

minigrad: every `Function.apply` is timed, grouped by op (the convolutions also by kernel
and input size); what is left of the forward's wall time is the Python between ops (module
calls, argument checks, wrapping). torch: each leaf module timed with forward hooks, grouped
the same way (NCHW, eager, `inference_mode`); its residual adds fall between layers. The two
run interleaved on `--threads` threads (default 1); each group is the median over the runs
of its ms per forward, summed over the layers of the group:

    python benchmarks/profile_eval.py [--model mobilenet_v2|mobilenet_v3_small] [--batch 64]
        [--threads N] [--repeat N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models as bench  # noqa: E402

MINIGRAD_OPS = {"DepthwiseConv2d": "conv", "PointwiseConv2d": "conv", "GeneralConv2d": "conv",
                "BatchNormFunction": "batch_norm", "ReLUFunction": "relu",
                "ReLU6Function": "relu6", "HardSwishFunction": "hardswish",
                "HardSigmoidFunction": "hardsigmoid", "Add": "add", "Mul": "mul",
                "GlobalAvgPool2d": "avg_pool", "AdaptiveAvgPool2d": "avg_pool",
                "Linear": "linear", "Dropout": "dropout"}


def conv_group(x_shape, w_shape) -> str:
    """'depthwise 3x3 s1 @16x16' style name of a convolution from its input and weight."""
    c_in, (c_out, per_group, kh, kw) = x_shape[1], w_shape
    kind = ("depthwise" if per_group == 1 and c_out % c_in == 0 and c_in > 1
            else "pointwise" if (kh, kw) == (1, 1) else "general")
    return f"conv {kind} {kh}x{kw} @{x_shape[2]}x{x_shape[3]}"


def minigrad_timer(model, x):
    """A function that runs one eval forward and returns ({group: ms}, wall ms)."""
    import minigrad
    from minigrad.autograd import Function

    original = Function.__dict__["apply"]
    times: dict[str, float] = defaultdict(float)
    counted = [0]

    def timed_apply(cls, *inputs, **attrs):
        counted[0] += 1
        start = time.perf_counter()
        out = original.__func__(cls, *inputs, **attrs)
        group = MINIGRAD_OPS.get(cls.__name__, cls.__name__)
        if group == "conv":
            group = conv_group(inputs[0].shape, inputs[1].shape)
        elif attrs.get("activation"):
            group += f"+{attrs['activation']}"
        times[group] += 1e3 * (time.perf_counter() - start)
        return out

    xt = minigrad.tensor(x)
    model.eval()

    def run() -> tuple[dict[str, float], float]:
        times.clear()
        counted[0] = 0
        Function.apply = classmethod(timed_apply)
        try:
            with minigrad.no_grad():
                start = time.perf_counter()
                model(xt)
                wall = 1e3 * (time.perf_counter() - start)
        finally:
            Function.apply = original
        run.ops = counted[0]
        return dict(times), wall

    return run


def torch_timer(model, x):
    """The same for torch, timing each leaf module with forward hooks (the residual adds,
    which are not modules, fall in 'between')."""
    import torch

    times: dict[str, float] = defaultdict(float)
    starts: dict[int, float] = {}
    names = {torch.nn.BatchNorm2d: "batch_norm", torch.nn.ReLU: "relu",
             torch.nn.ReLU6: "relu6", torch.nn.Hardswish: "hardswish",
             torch.nn.Hardsigmoid: "hardsigmoid", torch.nn.Linear: "linear",
             torch.nn.AdaptiveAvgPool2d: "avg_pool", torch.nn.Dropout: "dropout"}

    def before(module, inputs):
        starts[id(module)] = time.perf_counter()

    def after(module, inputs, output):
        elapsed = 1e3 * (time.perf_counter() - starts.pop(id(module)))
        if isinstance(module, torch.nn.Conv2d):
            group = conv_group(tuple(inputs[0].shape), tuple(module.weight.shape))
        else:
            group = names.get(type(module), type(module).__name__)
        times[group] += elapsed

    for module in model.modules():
        if not list(module.children()):
            module.register_forward_pre_hook(before)
            module.register_forward_hook(after)
    xt = torch.from_numpy(x)
    model.eval()

    def run() -> tuple[dict[str, float], float]:
        times.clear()
        with torch.inference_mode():
            start = time.perf_counter()
            model(xt)
            wall = 1e3 * (time.perf_counter() - start)
        return dict(times), wall

    return run


def medians(runs: list[tuple[dict[str, float], float]]) -> tuple[dict[str, float], float]:
    groups = {g for times, _ in runs for g in times}
    return ({g: statistics.median(times.get(g, 0.0) for times, _ in runs) for g in groups},
            statistics.median(wall for _, wall in runs))


def main() -> None:
    args = bench.parse_one_model_args(__doc__.split("\n")[0], repeat=5)
    x, _ = bench._data(args.model, args.batch)
    mg_model, torch_model, _ = bench._twin_pair(args.model)
    timers = {"minigrad": minigrad_timer(mg_model, x), "torch": torch_timer(torch_model, x)}
    runs: dict[str, list] = {key: [] for key in timers}
    for i in range(args.repeat + 1):  # interleaved; the first run of each is a warm-up
        for key, run in timers.items():
            result = run()
            if i:
                runs[key].append(result)
    (mg, mg_wall), (tc, tc_wall) = medians(runs["minigrad"]), medians(runs["torch"])
    print(f"{args.model}, batch {args.batch}, {args.threads} thread(s), eval forward, ms per "
          f"forward (median of {args.repeat}, interleaved)")
    print(f"{'group':<34}{'minigrad':>10}{'torch':>10}{'diff':>9}")
    for group in sorted(set(mg) | set(tc), key=lambda g: -(mg.get(g, 0) - tc.get(g, 0))):
        a, b = mg.get(group, 0.0), tc.get(group, 0.0)
        print(f"{group:<34}{a:>10.2f}{b:>10.2f}{a - b:>+9.2f}")
    between = mg_wall - sum(mg.values())
    print(f"{'between ops / layers':<34}{between:>10.2f}{tc_wall - sum(tc.values()):>10.2f}"
          f"   (minigrad: {timers['minigrad'].ops} ops, "
          f"{1e3 * between / timers['minigrad'].ops:.0f} µs between two)")
    print(f"{'whole forward':<34}{mg_wall:>10.2f}{tc_wall:>10.2f}{mg_wall - tc_wall:>+9.2f}")


if __name__ == "__main__":
    bench._reexec_with_tuned_malloc()
    main()
