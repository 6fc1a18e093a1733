"""`gradcheck`: compare autograd's gradients with float64 central differences.

For a function `f` of tensors, a random upstream gradient `u` (never all ones, so that a
gradient summed over the wrong axis cannot cancel out) turns the output into the scalar
`L = Σ u·f(x)`. The analytic `dL/dx` from `backward()` is compared with

    (L(x + ε·eᵢ) − L(x − ε·eᵢ)) / 2ε        for every element i of every input,

or, in `fast_mode`, along one random direction `v`: `vᵀ·dL/dx` against
`(L(x + εv) − L(x − εv)) / 2ε`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check the gradients of `fn(*inputs)` for every input that requires grad.

    Args:
        fn: takes the input tensors, returns one tensor.
        inputs: float64 tensors; those with `requires_grad=True` are checked.
        eps: finite-difference step.
        atol, rtol: an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
        fast_mode: check one random direction per input instead of every element.
        seed: seeds the upstream gradient and the fast-mode direction.

    Returns True, or raises `GradcheckError` naming the input, the worst element and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = _check_arguments(fn, inputs, eps, atol, rtol)
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    upstream = rng.standard_normal(out.shape)
    analytic = _analytic_grads(fn, inputs, checked, upstream)

    def loss() -> float:
        return float(np.sum(fn(*inputs).data * upstream))

    for i, grad in zip(checked, analytic):
        _check_one_input(f"input {i}", loss, inputs[i].data, grad, eps, atol, rtol,
                         rng if fast_mode else None)
    return True


def _check_one_input(name: str, loss: Callable[[], float], x: np.ndarray, grad: np.ndarray,
                     eps: float, atol: float, rtol: float,
                     rng: np.random.Generator | None) -> None:
    """Compare `grad` with finite differences of `loss` in x: every element, or (with `rng`,
    fast mode) one random direction."""
    if rng is None:
        _compare(name, grad, _numeric_grad(loss, x, eps), atol, rtol)
        return
    direction = rng.standard_normal(x.shape)
    numeric = _directional_difference(loss, x, direction, eps)
    _compare(f"{name} (direction)", np.array([np.sum(grad * direction)]), np.array([numeric]),
             atol, rtol)


def _check_arguments(fn: Any, inputs: list[Any], eps: Any, atol: Any, rtol: Any) -> list[int]:
    """The indices of the inputs to check, after validating every argument."""
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences "
                            "need float64 inputs (use .double())")
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"gradcheck: {name} must be a number, got {value!r}")
    if not (0 < eps < np.inf):
        raise ValueError(f"gradcheck: eps must be a finite number > 0, got {eps}")
    if not (atol >= 0 and rtol >= 0):
        raise ValueError(f"gradcheck: atol and rtol must be >= 0, got atol={atol}, rtol={rtol}")
    return checked


def _analytic_grads(fn, inputs, checked, upstream) -> list[np.ndarray]:
    saved = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    fn(*inputs).backward(upstream)
    grads = [inputs[i].grad.data.copy() if inputs[i].grad is not None
             else np.zeros(inputs[i].shape) for i in checked]
    for i, grad in zip(checked, saved):
        inputs[i].grad = grad
    return grads


def _numeric_grad(loss: Callable[[], float], x: np.ndarray, eps: float) -> np.ndarray:
    numeric = np.zeros(x.shape)
    flat = x.reshape(-1)  # a view: writing to it perturbs the input in place
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = loss()
        flat[k] = original - eps
        minus = loss()
        flat[k] = original
        numeric.flat[k] = (plus - minus) / (2 * eps)
    return numeric


def _directional_difference(loss, x: np.ndarray, direction: np.ndarray, eps: float) -> float:
    original = x.copy()
    x += eps * direction
    plus = loss()
    x[...] = original - eps * direction
    minus = loss()
    x[...] = original
    return (plus - minus) / (2 * eps)


def _compare(name: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float):
    error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if error.size and (error > 0).any():
        worst = np.unravel_index(int(np.argmax(error)), error.shape)
        raise GradcheckError(
            f"gradcheck: gradient of {name} disagrees at index {tuple(int(w) for w in worst)}: "
            f"analytic {analytic[worst]:.8g}, numeric {numeric[worst]:.8g} "
            f"(atol={atol}, rtol={rtol})"
        )
