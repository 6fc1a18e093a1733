"""Finite differences agree with minigrad's hand-derived backward passes through whole
MobileNet blocks: a V1 depthwise-separable conv, a V2 inverted residual and a V3 inverted
residual with squeeze-and-excitation and hard-swish, all in float64 and training mode.

For each block, `minigrad.gradcheck` (fast mode: one random direction per tensor) checks the
input and every parameter; then every element of every parameter is perturbed in turn and, per
parameter, the worst relative error max|analytic − numeric| / max|numeric| is printed.

    python examples/gradcheck_blocks.py
    python examples/gradcheck_blocks.py --seed 1
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad
from minigrad.models import DepthwiseSeparableConv, InvertedResidual, InvertedResidualV3


def numeric_grad(loss, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of `loss()` with respect to every element of `array` (in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def worst_relative_errors(block, x: minigrad.Tensor, upstream: np.ndarray) -> dict[str, float]:
    block.zero_grad()
    block(x).backward(upstream)

    def loss() -> float:
        return float(np.sum(block(x).data * upstream))

    errors = {}
    for name, p in block.named_parameters():
        numeric = numeric_grad(loss, p.data)
        errors[name] = float(np.abs(p.grad.data - numeric).max() / np.abs(numeric).max())
    return errors


def check(title: str, block, x_shape: tuple[int, ...], seed: int) -> float:
    block.double()
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.standard_normal(x_shape), requires_grad=True)
    params = list(block.parameters())
    minigrad.gradcheck(lambda x, *_: block(x), [x, *params], atol=1e-6, rtol=1e-4,
                       fast_mode=True)
    print(f"{title}: gradcheck passed for the input and {len(params)} parameters")
    upstream = rng.standard_normal(block(x).shape)
    errors = worst_relative_errors(block, x, upstream)
    for name, error in errors.items():
        print(f"  {name:<24} worst relative error {error:.2e}")
    return max(errors.values())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the blocks' weights, the inputs and the upstream gradients "
                             "(default: %(default)s)")
    return parser.parse_args()


def main() -> None:
    seed = parse_args().seed
    minigrad.manual_seed(seed)
    worst = max(
        check("V1 DepthwiseSeparableConv(3, 4, stride=2)", DepthwiseSeparableConv(3, 4, 2),
              (2, 3, 5, 5), seed),
        check("V2 InvertedResidual(4, 4, stride=1, expand_ratio=2)", InvertedResidual(4, 4, 1, 2),
              (2, 4, 3, 3), seed),
        check("V3 InvertedResidualV3(4, k=3, exp=8, out=4, SE, hard-swish)",
              InvertedResidualV3(4, 3, 8, 4, True, "HS", 1), (2, 4, 3, 3), seed),
    )
    print(f"worst relative error over all blocks: {worst:.2e}")


if __name__ == "__main__":
    main()
