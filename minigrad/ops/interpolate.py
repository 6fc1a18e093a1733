"""Resizing by interpolation: `interpolate` with torch's nearest, nearest-exact and
(bi/tri)linear modes, `scale_factor` or `size`, and `align_corners` for the linear ones.

Both modes are separable: each spatial axis is resized on its own, one after the other, with
a plan that says where every output position reads. Along one axis of input length `I` and
output length `O`, output position o reads

    nearest:        y[o] = x[i0[o]]
    linear:         y[o] = (1 − λ[o])·x[i0[o]] + λ[o]·x[i1[o]]

so the backward along that axis scatters the incoming gradient back to where it was read:
dx[i] = Σ_{o: i0[o]=i} (1 − λ[o])·g[o] + Σ_{o: i1[o]=i} λ[o]·g[o] (λ = 0 for nearest). Both
index arrays are non-decreasing in o, so each sum is a run of consecutive outputs
(`np.add.reduceat`). Index and λ rules are torch 2.13's, computed in the same float precision
(float32 for nearest, the input's dtype for linear), so indices agree at exact boundaries.
See docs/derivations.md#interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.tensor import Tensor

_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}  # mode -> input ndim
_MODES = ("nearest", "nearest-exact", *_LINEAR_MODES, "area")


@dataclass(frozen=True)
class AxisPlan:
    """Where each of the O outputs along one axis reads from the I inputs.

    `i0`, `i1`: (O,) int indices into [0, I); `lam`: (O,) weights of `i1`, or None for
    nearest (every output copies `x[i0]`).
    """

    size_in: int
    i0: np.ndarray
    i1: np.ndarray | None = None
    lam: np.ndarray | None = None

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        x0 = np.take(x, self.i0, axis=axis)
        if self.lam is None or self.i1 is None:
            return x0
        lam = self.lam.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        return x0 * (1 - lam) + np.take(x, self.i1, axis=axis) * lam

    def backward(self, g: np.ndarray, axis: int) -> np.ndarray:
        if self.lam is None or self.i1 is None:
            return _sum_runs(g, self.i0, axis, self.size_in)
        lam = self.lam.reshape((-1,) + (1,) * (g.ndim - axis - 1))
        return (_sum_runs(g * (1 - lam), self.i0, axis, self.size_in)
                + _sum_runs(g * lam, self.i1, axis, self.size_in))


def _sum_runs(g: np.ndarray, index: np.ndarray, axis: int, size: int) -> np.ndarray:
    """dx[i] = Σ_{o: index[o] = i} g[o] along `axis`, for a non-decreasing `index`."""
    targets, starts = np.unique(index, return_index=True)
    out_shape = g.shape[:axis] + (size,) + g.shape[axis + 1:]
    dx = np.zeros(out_shape, dtype=g.dtype)
    where = (slice(None),) * axis + (targets,)
    dx[where] = np.add.reduceat(g, starts, axis=axis)
    return dx


class Interpolate(Function):
    """y = resize(x) along the spatial axes 2, 3, … of (N, C, *spatial), one `AxisPlan` per
    axis, applied in order; backward applies each plan's scatter in reverse order.

    Backward :: (plans, g like y) -> (dx like x,). Saved: nothing but the plans (no arrays).
    """

    @staticmethod
    def forward(ctx: Context, x, plans=()):
        ctx.plans = plans
        for axis, plan in enumerate(plans, start=2):
            x = plan.forward(x, axis)
        return x

    @staticmethod
    def backward(ctx: Context, g):
        for axis in reversed(range(len(ctx.plans))):
            g = ctx.plans[axis].backward(g, axis + 2)
        return (g,)


def nearest_plan(size_in: int, size_out: int, scale: float | None, exact: bool,
                 shortcuts: bool) -> AxisPlan:
    """torch's nearest indices: i0[o] = min(⌊o·s⌋, I−1) (nearest-exact: ⌊(o + ½)·s⌋) with
    s = 1/scale_factor when given, else I/O, in float32. With `shortcuts` (torch takes them
    for 4-D input only) nearest copies when O = I and halves the index when O = 2·I, whatever
    the scale factor."""
    o = np.arange(size_out)
    if shortcuts and size_out == size_in:
        return AxisPlan(size_in, o)
    if shortcuts and size_out == 2 * size_in:
        return AxisPlan(size_in, o >> 1)
    s = _scale(size_in, size_out, scale, np.float32)
    src = (o.astype(np.float32) + np.float32(0.5)) * s if exact else o.astype(np.float32) * s
    return AxisPlan(size_in, np.minimum(np.floor(src).astype(np.int64), size_in - 1))


def linear_plan(size_in: int, size_out: int, scale: float | None, align_corners: bool,
                dtype: np.dtype) -> AxisPlan:
    """torch's linear source positions r[o]: align_corners maps the corner pixels' centres
    onto each other, r = o·(I−1)/(O−1); otherwise r = max((o + ½)·s − ½, 0) with s as in
    `nearest_plan`. Then i0 = min(⌊r⌋, I−1), i1 = i0 + [i0 < I−1], λ = clip(r − i0, 0, 1).
    An axis whose size does not change is copied, whatever the scale factor (as torch)."""
    if size_out == size_in:
        return AxisPlan(size_in, np.arange(size_in))
    o = np.arange(size_out).astype(dtype)
    if align_corners:
        s = dtype.type(size_in - 1) / dtype.type(size_out - 1) if size_out > 1 else dtype.type(0)
        src = o * s
    else:
        s = _scale(size_in, size_out, scale, dtype)
        src = np.maximum((o + dtype.type(0.5)) * s - dtype.type(0.5), dtype.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    lam = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    return AxisPlan(size_in, i0, i0 + (i0 < size_in - 1), lam)


def _scale(size_in: int, size_out: int, scale: float | None, dtype: Any) -> Any:
    """Input pixels per output pixel: 1/scale_factor when one was given, else I/O."""
    dtype = np.dtype(dtype).type
    if scale is not None and scale > 0:
        return dtype(1.0 / scale)
    return dtype(size_in) / dtype(size_out)


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial axes of `input`, as `torch.nn.functional.interpolate`.

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: output spatial size (an int for every axis, or one per axis).
        scale_factor: multiplier of the spatial size (a float or one per axis); the output
            size is ⌊input size · scale_factor⌋. Give exactly one of size and scale_factor.
        mode: 'nearest', 'nearest-exact', or 'linear' (3-D input), 'bilinear' (4-D),
            'trilinear' (5-D); 'area' (4-D) is `adaptive_avg_pool2d` to the output size.
        align_corners: linear modes only (default False): True maps the corner pixels' centres
            onto each other; False treats pixels as areas, as `scale_factor` suggests.
        recompute_scale_factor: with `scale_factor`, compute the positions from the output size
            instead of the given factor (as torch).
        antialias: only False is supported.

    Shape: (N, C, *in_spatial) -> (N, C, *out_spatial).
    """
    spatial = _check_input(input, mode, align_corners, antialias)
    out_size, scales = _output_size(input.shape[2:], size, scale_factor, spatial)
    if recompute_scale_factor:
        scales = (None,) * spatial
    if mode == "area":  # torch's area mode is adaptive average pooling
        from minigrad.ops.pool import adaptive_avg_pool2d

        return adaptive_avg_pool2d(input, out_size)
    if mode in _LINEAR_MODES:
        plans = tuple(linear_plan(i, o, s, bool(align_corners), input.dtype)
                      for i, o, s in zip(input.shape[2:], out_size, scales))
    else:
        exact, shortcuts = mode == "nearest-exact", mode == "nearest" and spatial == 2
        plans = tuple(nearest_plan(i, o, s, exact, shortcuts)
                      for i, o, s in zip(input.shape[2:], out_size, scales))
    return Interpolate.apply(input, plans=plans)


def _check_input(x: Any, mode: str, align_corners: bool | None, antialias: bool) -> int:
    """The number of spatial axes, after checking the input against the mode."""
    if not isinstance(x, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(x).__name__}")
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if x.dtype.kind != "f":
        raise TypeError(f"interpolate: input must be floating point, got {x.dtype}")
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, *spatial), "
                         f"got shape {x.shape}")
    needs = _LINEAR_MODES.get(mode, 4 if mode == "area" else x.ndim)
    if x.ndim != needs:
        raise ValueError(f"interpolate: got {x.ndim}-D input, but {mode} mode needs "
                         f"{needs}-D input")
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         f"interpolating modes: linear | bilinear | trilinear, not {mode!r}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if 0 in x.shape[2:]:
        raise ValueError(f"interpolate: input has an empty spatial axis, shape {x.shape}")
    return x.ndim - 2


def _per_axis(name: str, value: Any, spatial: int) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * spatial
    if len(values) != spatial:
        raise ValueError(f"interpolate: {name} shape must match input's spatial dimensions "
                         f"({spatial}), got {name}={value!r}")
    return values


def _output_size(in_size: tuple[int, ...], size: Any, scale_factor: Any,
                 spatial: int) -> tuple[tuple[int, ...], tuple]:
    """The output spatial size and the per-axis scale factors handed to the kernel."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    if size is not None:
        sizes = _per_axis("size", size, spatial)
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
               for s in sizes):
            raise ValueError(f"interpolate: size must be positive ints, got {size!r}")
        return tuple(int(s) for s in sizes), (None,) * spatial
    scales = _per_axis("scale_factor", scale_factor, spatial)
    if any(isinstance(s, bool) or not isinstance(s, (int, float, np.number)) or not s > 0
           for s in scales):
        raise ValueError(f"interpolate: scale_factor must be positive numbers, "
                         f"got {scale_factor!r}")
    out = tuple(int(np.floor(float(i) * float(s))) for i, s in zip(in_size, scales))
    if min(out) < 1:
        raise ValueError(f"interpolate: input spatial size {in_size} with scale_factor "
                         f"{scale_factor!r} gives an empty output {out}")
    return out, tuple(float(s) for s in scales)
