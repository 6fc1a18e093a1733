"""Fast kernels: the same ops as `minigrad/reference/`, made quick.

Tiling, phase planes, channels-last small planes, cache-sized batch chunks and the thread
pool (`threads.py`) live here. Each kernel's docstring says what it does differently from its
reference kernel and why; measurements are in `benchmarks/README.md`.
"""
