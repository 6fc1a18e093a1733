"""Reference kernels: each hand-derived op stated for a reader.

Plain NumPy, forward beside backward, no threads, tiles or layout tricks; each `Function` is
short enough to read in one screen and links its section of `docs/derivations.md`. The fast
kernels in `minigrad/fast/` compute the same values and are tested equal to these.
Switch with `minigrad.use_kernels("reference")`.
"""
