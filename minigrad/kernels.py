"""Which implementation the hand-derived ops run: the reference kernels or the fast ones.

Every op whose backward is derived by hand (convolutions, BatchNorm, ReLU, ReLU6, hard-sigmoid,
hard-swish) has two kernels computing the same thing: a short one in `minigrad/reference/`
written to be read, and a fast one in `minigrad/fast/`. `use_kernels` picks which one runs, per
thread, like `no_grad`; `get_kernels()` is "fast" unless changed.
"""

from __future__ import annotations

import threading
from types import TracebackType

KERNELS = ("reference", "fast")

_state = threading.local()


def get_kernels() -> str:
    """The kernels the ops run on this thread: "reference" or "fast" (the default)."""
    return getattr(_state, "kernels", "fast")


class use_kernels:
    """Run the hand-derived ops on `name`'s kernels, "reference" or "fast".

    As a call it switches this thread until the next switch; as a context manager it switches
    for the block and restores the previous choice on exit:

        minigrad.use_kernels("reference")          # from now on, this thread
        with minigrad.use_kernels("reference"):    # just this block
            loss = model(x).sum()
    """

    def __init__(self, name: str) -> None:
        if name not in KERNELS:
            raise ValueError(f"use_kernels: unknown kernels {name!r}; "
                             f"choose one of {', '.join(map(repr, KERNELS))}")
        self._previous = get_kernels()
        _state.kernels = name

    def __enter__(self) -> use_kernels:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        _state.kernels = self._previous
