"""How much of a MobileNet training step's gap to torch is its depthwise convolutions.

In one process: the whole training step of the model (minigrad against its plain-torch twin,
NCHW, SGD with momentum, interleaved as in `bench_models.py`), then each of the model's
depthwise layers alone (forward + backward with a random upstream gradient, the layer's own
shape and geometry), a block of runs in each framework. The depthwise layers are summed, and
the rest of the step is the step less them. The last line is the step ratio the model would
have if minigrad's depthwise layers ran at torch's speed and everything else stayed as
measured:

    python benchmarks/depthwise_share.py [--model mobilenet_v2|mobilenet_v3_small]
        [--batch 64] [--threads N] [--repeat N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models as bench  # noqa: E402


def depthwise_calls(model, x: np.ndarray) -> list[tuple[tuple, tuple, dict]]:
    """(x shape, w shape, geometry) of every depthwise convolution in one eval forward."""
    import minigrad
    from minigrad.autograd import Function

    original = Function.__dict__["apply"]
    calls = []

    def recording_apply(cls, *inputs, **attrs):
        if cls.__name__ == "DepthwiseConv2d":
            calls.append((inputs[0].shape, inputs[1].shape, attrs))
        return original.__func__(cls, *inputs, **attrs)

    Function.apply = classmethod(recording_apply)
    try:
        model.eval()
        with minigrad.no_grad():
            model(minigrad.tensor(x))
    finally:
        Function.apply = original
    return calls


def layer_runs(x_shape: tuple, w_shape: tuple, geometry: dict, seed: int
               ) -> dict[str, Callable[[], None]]:
    """Forward + backward of one depthwise layer in each framework, on the same data."""
    import torch

    import minigrad
    from minigrad.ops.conv import apply_conv2d, output_size

    rng = np.random.default_rng(seed)
    stride, padding, dilation = geometry["stride"], geometry["padding"], geometry["dilation"]
    out_hw = output_size(x_shape[2:], w_shape[2:], stride, padding, dilation)
    x, w = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape))
    g = rng.standard_normal((x_shape[0], w_shape[0], *out_hw)).astype(np.float32)
    mg_x, mg_w = (minigrad.tensor(a, requires_grad=True) for a in (x, w))
    t_x, t_w = (torch.from_numpy(a).requires_grad_() for a in (x, w))
    groups = x_shape[1]

    def minigrad_run() -> None:
        y = apply_conv2d(mg_x, mg_w, None, stride, padding, dilation, groups)
        y.backward(minigrad.tensor(g))
        mg_x.grad = mg_w.grad = None

    top, bottom, left, right = padding
    assert (top, left) == (bottom, right), "MobileNets pad their depthwise layers evenly"

    def torch_run() -> None:
        y = torch.nn.functional.conv2d(t_x, t_w, None, stride, (top, left), dilation, groups)
        y.backward(torch.from_numpy(g))
        t_x.grad = t_w.grad = None

    return {"minigrad": minigrad_run, "torch": torch_run}


def block_median_ms(run: Callable[[], None], repeat: int) -> float:
    """The median of `repeat` runs in a row, after two warm-up runs. A layer is short: run
    right after a torch op, minigrad's runs would meet torch's OpenMP workers still spinning on
    the other core (benchmarks/README.md, `bench_ops.py`), so each framework runs a block."""
    for _ in range(2):
        run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main() -> None:
    args = bench.parse_one_model_args(__doc__.split("\n")[0], repeat=9)
    x, labels = bench._data(args.model, args.batch)
    mg_model, torch_model, _ = bench._twin_pair(args.model)
    calls = depthwise_calls(mg_model, x)
    step = bench.Work("step", {"minigrad": bench.minigrad_train_step(mg_model, x, labels),
                               "torch": bench.torch_train_step(torch_model, x, labels)})
    layers = [layer_runs(*call, seed=i) for i, call in enumerate(calls)]
    step.time_interleaved(args.repeat, warmup=2)
    step_ms = step.medians()
    depthwise_ms = {key: sum(block_median_ms(runs[key], args.repeat) for runs in layers)
                    for key in step_ms}
    rest_ms = {key: step_ms[key] - depthwise_ms[key] for key in step_ms}
    print(f"{args.model}, batch {args.batch}, {args.threads} thread(s), training step, "
          f"ms (median of {args.repeat}, interleaved)")
    print(f"{'':<40}{'minigrad':>10}{'torch':>10}{'ratio':>8}")
    for name, ms in (("whole step", step_ms),
                     (f"{len(layers)} depthwise layers alone (fwd+bwd)", depthwise_ms),
                     ("the rest (step less depthwise)", rest_ms)):
        print(f"{name:<40}{ms['minigrad']:>10.1f}{ms['torch']:>10.1f}"
              f"{ms['minigrad'] / ms['torch']:>7.2f}×")
    if_equal = (rest_ms["minigrad"] + depthwise_ms["torch"]) / step_ms["torch"]
    print(f"step ratio with depthwise at torch's speed: {if_equal:.2f}×")


if __name__ == "__main__":
    bench._reexec_with_tuned_malloc()
    main()
