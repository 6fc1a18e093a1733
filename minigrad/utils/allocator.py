"""`keep_freed_memory()`: make glibc's malloc keep freed memory for reuse (opt-in, per process).

A training step allocates and frees the same large activation arrays every step. With glibc's
defaults, arrays above the mmap threshold are mapped fresh and unmapped on free, and freed
memory at the top of the heap is given back to the system, so every step pays page faults to
touch its arrays again. Here that cost about 30% of a small MobileNet's training step
(the main job's step measured about 480 ms with the defaults and 330 ms after this call,
interleaved runs). torch, with the same defaults, suffers the same way, which is why the
benchmarks set the equivalent `MALLOC_*` environment variables.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

# the benchmarks' MALLOC_MMAP_THRESHOLD_ and MALLOC_TOP_PAD_; the trim threshold is mallopt's
# largest (an int), for "never trim"
SETTINGS = {M_MMAP_THRESHOLD: 32 * 1024 * 1024, M_TOP_PAD: 512 * 1024 * 1024,
            M_TRIM_THRESHOLD: 2**31 - 1}


def keep_freed_memory() -> bool:
    """Keep freed memory in this process for reuse instead of returning it to the system.

    Calls glibc's `mallopt`: arrays up to 32 MiB come from the heap rather than fresh
    mappings, the heap grows 512 MiB at a time, and it is never trimmed. The process's
    resident memory then stays near its peak, which a training loop reaches every step anyway.

    Returns:
        True if every setting was applied; False, changing nothing, where the C library is not
        glibc (macOS, Windows, musl).
    """
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS.items())


def _glibc_mallopt():
    name = ctypes.util.find_library("c")
    if name is None:  # Windows
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None  # another C library: its mallopt, if any, takes other parameters
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
