"""Fast kernels of the hand-derived activations: ReLU, ReLU6, hard-sigmoid, hard-swish, the
same values as `minigrad/reference/activation.py`.

What they do differently: each runs as a chain of in-place NumPy steps on flat chunks small
enough to stay in cache between the steps, spread over minigrad's threads (`_elementwise`);
ReLU and ReLU6 save their output instead of their input (it tells the same slopes, and it
exists anyway); `np.clip` and masks replace `np.where`, which NumPy runs several times slower.
Measurements: benchmarks/README.md.

NumPy returns scalars, not arrays, for 0-d inputs; the first result of a chain of in-place
steps is wrapped in `np.asarray` so that `out=` also works on 0-d tensors.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.fast.threads import for_each_chunk


class ReLUFunction(Function):
    """y = max(x, 0), dx = g·[y ≠ 0]: y = 0 exactly where x ≤ 0, and NaN passes g on.
    See docs/derivations.md#relu."""

    @staticmethod
    def forward(ctx: Context, x):
        y = _elementwise(relu_chunk, x, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (_elementwise(relu_grad_chunk, g, g, y),)


class ReLU6Function(Function):
    """y = min(max(x, 0), 6), dx = g·[0 < y < 6]: 0 < y < 6 exactly where 0 < x < 6.
    See docs/derivations.md#relu6."""

    @staticmethod
    def forward(ctx: Context, x):
        y = _elementwise(relu6_chunk, x, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (_elementwise(relu6_grad_chunk, g, g, y),)


class HardSigmoidFunction(Function):
    """y = (clip(x, −3, 3) + 3)/6, the same bits as relu6(x + 3)/6; dx = g/6·[|x| < 3].
    Saved: x (y rounds to 0 or 1 a little inside the kinks). See docs/derivations.md#hard-sigmoid.
    """

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        y = np.asarray(np.clip(x, -3.0, 3.0))
        y += 3.0
        y /= 6.0
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        dx = np.asarray(g / 6.0)
        dx *= np.abs(x) < 3.0
        return (dx,)


class HardSwishFunction(Function):
    """y = x·relu6(x + 3)/6 and dx = g·s without branches (6s = c + c·[|x| < 3] + 3,
    c = x clipped to [−3, 3]). See docs/derivations.md#hard-swish."""

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return _elementwise(hardswish_chunk, x, x)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (_elementwise(hardswish_grad_chunk, g, g, x),)


# Chunk kernels: `f(y, x)` writes y = f(x); `f_grad(dx, g, s)` writes dx = g·f'(x) into a dx
# that is not g, where s is y for ReLU and ReLU6 and x for hard-swish.

def relu_chunk(y: np.ndarray, x: np.ndarray) -> None:
    # for floats np.clip to [0, inf] is faster than np.maximum(x, 0) on float32, and keeps
    # −0 and NaN as torch.relu does; integers have no inf
    np.clip(x, 0, np.inf if x.dtype.kind == "f" else None, out=y)


def relu_grad_chunk(dx: np.ndarray, g: np.ndarray, y: np.ndarray) -> None:
    # y is ≥ 0 or NaN, so [not x ≤ 0] = [y ≠ 0], one comparison
    np.multiply(g, y != 0, out=dx)


def relu6_chunk(y: np.ndarray, x: np.ndarray) -> None:
    np.clip(x, 0, 6, out=y)


def relu6_grad_chunk(dx: np.ndarray, g: np.ndarray, y: np.ndarray) -> None:
    inside = y > 0
    inside &= y < 6
    np.multiply(g, inside, out=dx)


def hardswish_chunk(y: np.ndarray, x: np.ndarray) -> None:
    # clip(x, −3, 3) + 3 is built in y itself
    shifted = np.clip(x, -3.0, 3.0, out=y)
    shifted += 3.0
    with np.errstate(invalid="ignore"):  # x = −inf gives 0·(−inf) = NaN, as in torch
        np.multiply(x, shifted, out=y)
    y /= 6.0


def hardswish_grad_chunk(dx: np.ndarray, g: np.ndarray, x: np.ndarray) -> None:
    # 6s = c + c·[|x| < 3] + 3: 2x + 3 between the kinks, c + 3 = 0 or 6 outside and at them
    c = np.clip(x, -3.0, 3.0)
    np.multiply(c, np.abs(x) < 3.0, out=dx)
    dx += c
    dx += 3.0
    dx *= g
    dx /= 6.0


def _elementwise(fn, like: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """out = a new array shaped and typed as `like`; fn(out, *inputs) on flat chunks of all.

    The chunks are small enough for a chain of in-place steps to stay in cache, and are
    spread over minigrad's threads. The inputs have out's shape (no broadcasting).
    """
    out = np.empty(like.shape, dtype=like.dtype)
    # (any shape) -> (size,); a 0-d array becomes one element
    flat_out, flat_inputs = out.reshape(-1), [a.reshape(-1) for a in inputs]

    def run(part: slice) -> None:
        fn(flat_out[part], *(a[part] for a in flat_inputs))

    for_each_chunk(run, flat_out.size, out.itemsize)
    return out
