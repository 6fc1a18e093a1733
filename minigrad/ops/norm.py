"""Batch normalisation, the op: run the kernel `minigrad.get_kernels()` names, then (train mode)
update the running statistics.

The kernels compute the same thing: `minigrad/reference/norm.py` states it for a reader,
`minigrad/fast/norm.py` makes it quick. The arguments are checked by `F.batch_norm`.
"""

from __future__ import annotations

import numpy as np

from minigrad.fast import norm as fast_norm
from minigrad.kernels import get_kernels
from minigrad.reference import norm as reference_norm
from minigrad.tensor import Tensor

KERNELS = {"reference": reference_norm.BatchNormFunction, "fast": fast_norm.BatchNormFunction}

RunningStat = Tensor | np.ndarray | None


def batch_norm(x: Tensor, running_mean: RunningStat, running_var: RunningStat,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """`F.batch_norm` on arguments it has checked.

    Train mode updates the running statistics (if given) in place, outside the graph, after
    the kernel's forward returned, so that an error there (detect_anomaly's on NaN) leaves
    them untouched: new = (1 − momentum)·old + momentum·batch, with the unbiased variance
    σ²·m/(m − 1), m the values per channel (torch's rule).
    """
    stats: list = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    batch_stats: dict | None = {} if training and stats[0] is not None else None
    y = KERNELS[get_kernels()].apply(x, weight, bias, running_mean=stats[0],
                                     running_var=stats[1], training=bool(training),
                                     eps=float(eps), batch_stats=batch_stats)
    if batch_stats is not None:
        m = x.numel() // x.shape[1]
        _update_running(stats[0], batch_stats["mean"], momentum)
        _update_running(stats[1], batch_stats["var"] * (m / (m - 1)), momentum)
        for stat in (running_mean, running_var):
            if isinstance(stat, Tensor):
                stat._bump_version()
    return y


def _update_running(running: np.ndarray, batch: np.ndarray, momentum: float) -> None:
    """In place: running = (1 − momentum)·running + momentum·batch."""
    running *= 1 - momentum
    running += momentum * batch
