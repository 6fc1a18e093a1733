"""Weight initialisation, as `torch.nn.init`: each function fills a tensor's array in place
(no graph is recorded, the version counter is bumped) and returns the tensor.

Random draws come from minigrad's seeded generator (`minigrad.manual_seed`) unless a NumPy
`generator` is passed. Fans follow torch: for a weight of shape (out, in, *kernel),
`fan_in = in * prod(kernel)` and `fan_out = out * prod(kernel)`; a grouped conv weight
(out, in / groups, kh, kw) therefore has `fan_in = in / groups * kh * kw`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from minigrad import random
from minigrad.checks import check_tensor
from minigrad.tensor import Tensor

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")

Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]  # (generator, shape)
Proposer = Callable[[np.random.Generator, int], np.ndarray]  # (generator, count)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch recommends for `nonlinearity` (`param` is leaky_relu's negative slope).

    linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2 / (1 + slope²)), selu 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as torch computes them."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _correct_fan(op: str, tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    tensor.data[...] = values
    tensor._bump_version()
    return tensor


def _fill_random(op: str, tensor: Tensor, sample: Sampler,
                 generator: np.random.Generator | None) -> Tensor:
    check_tensor(op, tensor, floating=True)
    if tensor.data.size == 0:
        warnings.warn(f"{op}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return tensor
    return _fill(tensor, sample(generator or random.generator(), tensor.shape))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill_random("uniform_", tensor, lambda gen, shape: gen.uniform(a, b, shape),
                        generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with N(mean, std²)."""
    if not std >= 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill_random("normal_", tensor, lambda gen, shape: gen.normal(mean, std, shape),
                        generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: np.random.Generator | None = None) -> Tensor:
    """Fill with N(mean, std²) conditioned on [a, b] (bounds in absolute units, as torch).

    Exact rejection sampling: proposals come from the normal itself, or, when [a, b] holds
    little of its mass (a far tail), from U(a, b) accepted with the normal density's ratio.
    """
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    lo, hi = (a - mean) / std, (b - mean) / std
    mass, uniform_rate = _normal_mass(lo, hi), _uniform_acceptance(lo, hi)
    if mass == 0 and uniform_rate == 0:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds no mass of "
                         f"N({mean}, {std}²) in floating point")

    def sample(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        if uniform_rate > mass:
            z = _rejection_sample(gen, n, uniform_rate, _uniform_proposals(lo, hi))
        else:
            z = _rejection_sample(gen, n, mass, _normal_proposals(lo, hi))
        return mean + std * z.reshape(shape)

    return _fill_random("trunc_normal_", tensor, sample, generator)


def _normal_mass(lo: float, hi: float) -> float:
    """P(lo ≤ Z ≤ hi) for a standard normal Z, without cancellation in either tail."""
    if lo > 0:
        return 0.5 * (math.erfc(lo / math.sqrt(2)) - math.erfc(hi / math.sqrt(2)))
    if hi < 0:
        return _normal_mass(-hi, -lo)
    return 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))


def _uniform_acceptance(lo: float, hi: float) -> float:
    """Acceptance rate of U(lo, hi) proposals kept with probability φ(z) / max φ on [lo, hi]
    (the mean of that ratio over the interval, on a fine grid: no overflow in far tails)."""
    if not math.isfinite(hi - lo):
        return 0.0
    z = np.linspace(lo, hi, 1025)
    return float(np.mean(np.exp((_peak(lo, hi) ** 2 - z**2) / 2)))


def _peak(lo: float, hi: float) -> float:
    """The point of [lo, hi] closest to 0, where the normal density is highest."""
    return min(max(0.0, lo), hi)


def _normal_proposals(lo: float, hi: float) -> Proposer:
    def propose(gen: np.random.Generator, count: int) -> np.ndarray:
        z = gen.standard_normal(count)
        return z[(z >= lo) & (z <= hi)]

    return propose


def _uniform_proposals(lo: float, hi: float) -> Proposer:
    peak = _peak(lo, hi)

    def propose(gen: np.random.Generator, count: int) -> np.ndarray:
        z = gen.uniform(lo, hi, count)
        return z[gen.random(count) < np.exp((peak**2 - z**2) / 2)]

    return propose


def _rejection_sample(gen: np.random.Generator, n: int, rate: float,
                      propose: Proposer) -> np.ndarray:
    """`n` accepted proposals, drawing rounds until enough were accepted."""
    out = np.empty(n)
    filled = 0
    while filled < n:
        # enough proposals to finish in one round on average, capped to bound memory
        count = min(int((n - filled) / rate * 1.2) + 64, 1 << 22)
        z = propose(gen, count)
        take = min(z.size, n - filled)
        out[filled:filled + take] = z[:take]
        filled += take
    return out


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015): U(-bound, bound), bound = gain · √(3 / fan), gain from
    `calculate_gain(nonlinearity, a)`."""
    check_tensor("kaiming_uniform_", tensor, floating=True)
    fan = _correct_fan("kaiming_uniform_", tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0
    return _fill_random("kaiming_uniform_", tensor,
                        lambda gen, shape: gen.uniform(-bound, bound, shape), generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015): N(0, std²), std = gain / √fan."""
    check_tensor("kaiming_normal_", tensor, floating=True)
    fan = _correct_fan("kaiming_normal_", tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0
    return _fill_random("kaiming_normal_", tensor,
                        lambda gen, shape: gen.normal(0.0, std, shape), generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): U(-bound, bound), bound = gain · √(6 / (fan_in + fan_out))."""
    check_tensor("xavier_uniform_", tensor, floating=True)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _fill_random("xavier_uniform_", tensor,
                        lambda gen, shape: gen.uniform(-bound, bound, shape), generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std²), std = gain · √(2 / (fan_in + fan_out))."""
    check_tensor("xavier_normal_", tensor, floating=True)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _fill_random("xavier_normal_", tensor,
                        lambda gen, shape: gen.normal(0.0, std, shape), generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    check_tensor("constant_", tensor)
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    check_tensor("zeros_", tensor)
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    check_tensor("ones_", tensor)
    return _fill(tensor, 1)
