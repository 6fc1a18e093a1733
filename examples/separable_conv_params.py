"""Why MobileNet is cheap, in numbers: a depthwise-separable convolution against a standard one.

1. A 3×3 conv with 4 filters on a 5×5×3 input: 108 weights; the depthwise (27) + pointwise (12)
   pair that replaces it: 39 weights, 36.1% of the standard conv. Both are computed twice, by
   naive loops written for reading and by minigrad, and the outputs agree.
2. A 32 -> 64 channel 3×3 layer with biases: 18,496 parameters standard, 2,432 separable; the
   cost ratio of separable to standard is 1/N + 1/K² (N output channels, K kernel size).
3. The MobileNets: parameters and multiply-adds at 224×224 from `minigrad.utils.summary`.

    python examples/separable_conv_params.py
    python examples/separable_conv_params.py --image-size 96   # the MobileNets at 96×96
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad
from minigrad import models
from minigrad.nn import functional as F
from minigrad.utils import summary


def naive_conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Standard conv, no padding, stride 1: every filter sees every input channel.
    x (C, H, W), w (F, C, K, K) -> (F, H-K+1, W-K+1)."""
    filters, channels, k, _ = w.shape
    out = np.zeros((filters, x.shape[1] - k + 1, x.shape[2] - k + 1))
    for f in range(filters):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[f, i, j] = np.sum(x[:, i:i + k, j:j + k] * w[f])
    return out


def naive_depthwise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Depthwise conv: channel c is filtered by its own K×K kernel only.
    x (C, H, W), w (C, 1, K, K) -> (C, H-K+1, W-K+1)."""
    channels, _, k, _ = w.shape
    out = np.zeros((channels, x.shape[1] - k + 1, x.shape[2] - k + 1))
    for c in range(channels):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[c, i, j] = np.sum(x[c, i:i + k, j:j + k] * w[c, 0])
    return out


def naive_pointwise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pointwise (1×1) conv: each output pixel mixes the channels of one input pixel.
    x (C, H, W), w (F, C, 1, 1) -> (F, H, W)."""
    out = np.zeros((w.shape[0], x.shape[1], x.shape[2]))
    for f in range(w.shape[0]):
        for c in range(x.shape[0]):
            out[f] += w[f, c, 0, 0] * x[c]
    return out


def tutorial_example() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 5))
    w_standard = rng.standard_normal((4, 3, 3, 3))
    w_depthwise = rng.standard_normal((3, 1, 3, 3))
    w_pointwise = rng.standard_normal((4, 3, 1, 1))
    standard, depthwise, pointwise = w_standard.size, w_depthwise.size, w_pointwise.size
    print("3x3 conv, 4 filters, on a 5x5x3 input")
    print(f"  standard conv weights:  {standard}")
    print(f"  depthwise weights:      {depthwise}")
    print(f"  pointwise weights:      {pointwise}")
    separable = depthwise + pointwise
    print(f"  separable weights:      {separable} ({100 * separable / standard:.1f}% of standard)")
    # without padding the output is 3×3, and every weight is used once per output pixel
    pixels = 3 * 3
    print(f"  multiplications:        standard {pixels * standard}, "
          f"separable {pixels * separable}")
    compare_with_minigrad(x, w_standard, w_depthwise, w_pointwise)


def compare_with_minigrad(x, w_standard, w_depthwise, w_pointwise) -> None:
    xt = minigrad.tensor(x[None])  # (C, H, W) -> (1, C, H, W)
    standard = F.conv2d(xt, minigrad.tensor(w_standard)).numpy()[0]
    hidden = F.conv2d(xt, minigrad.tensor(w_depthwise), groups=3)
    separable = F.conv2d(hidden, minigrad.tensor(w_pointwise)).numpy()[0]
    naive_separable = naive_pointwise(naive_depthwise(x, w_depthwise), w_pointwise)
    diff_standard = np.abs(standard - naive_conv(x, w_standard)).max()
    diff_separable = np.abs(separable - naive_separable).max()
    print(f"  naive loops vs minigrad, max difference: standard {diff_standard:.1e}, "
          f"separable {diff_separable:.1e}")


def layer_example(cin: int = 32, cout: int = 64, k: int = 3) -> None:
    standard = k * k * cin * cout + cout
    depthwise = k * k * cin + cin
    pointwise = cin * cout + cout
    print(f"\n{k}x{k} conv layer, {cin} -> {cout} channels, with biases")
    print(f"  standard params:        {standard:,}")
    print(f"  separable params:       {depthwise + pointwise:,} "
          f"(depthwise {depthwise:,} + pointwise {pointwise:,}, "
          f"{100 * (depthwise + pointwise) / standard:.1f}% of standard)")
    print(f"  cost ratio 1/N + 1/K^2 = 1/{cout} + 1/{k * k} = {1 / cout + 1 / k ** 2:.4f}")


def model_table(size: int) -> None:
    print(f"\nMobileNets at {size}x{size}, 1000 classes")
    print(f"  {'model':<20}{'params':>12}{'MACs':>16}")
    for name in ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]:
        result = summary(getattr(models, name)(), (3, size, size))
        print(f"  {name:<20}{result.total_params:>12,}{result.total_macs / 1e6:>15.1f}M")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=224,
                        help="input size of the MobileNets' table (default: %(default)s)")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    tutorial_example()
    layer_example()
    model_table(args.image_size)
