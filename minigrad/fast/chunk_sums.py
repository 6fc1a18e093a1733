"""Sums assembled from per-chunk parts, added in batch order whatever thread finished first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad.fast.threads import for_each_chunk


def sum_chunks_in_batch_order(fn: Callable[[slice], tuple[np.ndarray, ...]], batch: int,
                              sample_bytes: int) -> tuple[np.ndarray, ...]:
    """Call `fn(rows)` on each batch chunk (`for_each_chunk`, over the threads) and add up the
    tuples of partial sums it returns, element by element, in the order of the chunks' rows:
    the result is then the same on every run, whichever thread finished first."""
    parts: dict[int, tuple[np.ndarray, ...]] = {}

    def run(rows: slice) -> None:
        parts[rows.start] = fn(rows)

    for_each_chunk(run, batch, sample_bytes)
    in_order = [parts[start] for start in sorted(parts)]
    return tuple(sum(column[1:], column[0]) for column in zip(*in_order))
