"""Shared checks: an op against torch (forward and backward, float64, random upstream gradient)
and against float64 finite differences with NumPy only (through `minigrad.gradcheck`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest
import torch

import minigrad
from minigrad import Tensor


def to_minigrad(arrays: Sequence[np.ndarray], requires_grad: bool = True) -> list[Tensor]:
    return [minigrad.tensor(a, dtype=a.dtype, requires_grad=requires_grad and a.dtype.kind == "f")
            for a in arrays]


def to_torch(arrays: Sequence[np.ndarray], requires_grad: bool = True) -> list[torch.Tensor]:
    return [torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


def assert_close(actual, expected, atol: float = 1e-10, rtol: float = 1e-7, name: str = "") -> None:
    actual = actual.data if isinstance(actual, Tensor) else np.asarray(actual)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.shape == tuple(expected.shape), \
        f"{name}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=name)


def check_forward_matches_torch(mg_fn: Callable, torch_fn: Callable, arrays: Sequence[np.ndarray],
                                atol: float = 1e-10, rtol: float = 1e-7) -> None:
    """`mg_fn(*tensors)` equals `torch_fn(*tensors)` on the same float64 inputs."""
    out = mg_fn(*to_minigrad(arrays, requires_grad=False))
    expected = torch_fn(*to_torch(arrays, requires_grad=False))
    assert_close(out, expected, atol, rtol, "forward")


def check_backward_matches_torch(mg_fn: Callable, torch_fn: Callable,
                                 arrays: Sequence[np.ndarray], atol: float = 1e-10,
                                 rtol: float = 1e-7, seed: int = 0) -> None:
    """Input gradients of `sum(u * f(x))` with a random upstream `u` equal torch's."""
    mg_inputs, torch_inputs = to_minigrad(arrays), to_torch(arrays)
    mg_out, torch_out = mg_fn(*mg_inputs), torch_fn(*torch_inputs)
    upstream = np.random.default_rng(seed).standard_normal(mg_out.shape)
    mg_out.backward(upstream)
    torch_out.backward(torch.tensor(upstream, dtype=torch_out.dtype))
    for i, (mg_x, torch_x) in enumerate(zip(mg_inputs, torch_inputs)):
        if torch_x.grad is None:
            continue
        assert mg_x.grad is not None, f"input {i}: minigrad produced no gradient"
        assert_close(mg_x.grad, torch_x.grad, atol, rtol, f"gradient of input {i}")


def check_finite_differences(mg_fn: Callable, arrays: Sequence[np.ndarray], eps: float = 1e-6,
                             atol: float = 1e-5, rtol: float = 1e-3,
                             fast_mode: bool = False) -> None:
    """Analytic gradients agree with float64 central differences (no torch involved)."""
    inputs = to_minigrad([np.asarray(a, dtype=np.float64) if a.dtype.kind == "f" else a
                          for a in arrays])
    minigrad.gradcheck(mg_fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)


@contextlib.contextmanager
def chunked_on_threads(threads: int) -> Iterator[None]:
    """minigrad's fast kernels on `threads` threads with one sample (or element) per chunk,
    shared out over the threads however small the work: the chunked, threaded paths."""
    from minigrad.fast import threads as pool

    previous = pool.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pool, "CHUNK_BYTES", 1)
        patch.setattr(pool, "MIN_PARALLEL_BYTES", 0)
        pool.set_num_threads(threads)
        try:
            yield
        finally:
            pool.set_num_threads(previous)
