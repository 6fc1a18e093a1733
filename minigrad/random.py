"""The one seeded random generator behind every random op (init, dropout, shuffling, crops)."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minigrad's generator so that a run repeats bit for bit; returns it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if not -2**63 <= seed < 2**64:
        raise ValueError(f"manual_seed: seed must be in [-2**63, 2**64), got {seed}")
    # as torch: a negative seed stands for the same 64-bit pattern read as unsigned
    _generator = np.random.default_rng(int(seed) % 2**64)
    return _generator


def generator() -> np.random.Generator:
    """The current generator (replaced by `manual_seed`, so never cache it across seeds)."""
    return _generator
