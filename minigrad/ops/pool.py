"""2-D pooling: average, max and adaptive average, NCHW or unbatched (C, H, W).

Every window is visited as K = kh·kw slices of the padded input, one per kernel tap `(u, v)`:
tap `(u, v)` of every window is `xp[:, :, u·d :: s, v·d :: s]` (cut to OH × OW). So the forward
is a loop over taps of whole-array ops (vectorised over batch, channels and pixels) and the
backward scatters `g` back through the same slices. The padded input is first split into its
s_h·s_w stride phases, which turns every tap into a unit-stride slice (strided reads are what
makes a naive loop slow). The backward passes are derived in docs/derivations.md#pooling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.checks import int_pair as _pair
from minigrad.tensor import Tensor

IntPair = int | Sequence[int]


@dataclass(frozen=True)
class _Window:
    """Pooling geometry of one spatial axis: kernel, stride, padding, dilation, sizes."""

    kernel: int
    stride: int
    padding: int
    dilation: int
    size: int
    out: int

    @property
    def pad_after(self) -> int:
        """Padding after the input: enough for the last window (ceil_mode may need more than
        `padding`), then up to a padded length that the stride divides (for the phases)."""
        needed = (self.out - 1) * self.stride + self.dilation * (self.kernel - 1) + 1
        end = max(needed, self.size + self.padding)
        return -(-end // self.stride) * self.stride - self.size - self.padding

    def tap(self, u: int) -> tuple[int, slice]:
        """(stride phase, slice within that phase) that kernel tap `u` covers in every window."""
        start, phase = divmod(u * self.dilation, self.stride)
        return phase, slice(start, start + self.out)

    def starts(self) -> np.ndarray:
        """First input index of each window (negative inside the leading padding)."""
        return np.arange(self.out) * self.stride - self.padding


def _output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                 ceil_mode: bool) -> int:
    """torch's pooling_output_shape: floor (or ceil) division, and with ceil_mode the last
    window must start inside the input or its leading padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _check_input(op: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, "
                         f"got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    if 0 in x.shape[-3:]:
        raise ValueError(f"{op}: input has an empty channel or spatial axis, shape {x.shape}")


def _windows(op: str, x: Tensor, kernel_size: IntPair, stride: IntPair | None, padding: IntPair,
             dilation: IntPair, ceil_mode: bool) -> tuple[_Window, _Window]:
    """Validated geometry of the H and W axes, or ValueError as torch would raise it."""
    k = _pair(op, "kernel_size", kernel_size, 1)
    empty = isinstance(stride, (tuple, list)) and len(stride) == 0  # torch: [] means kernel
    s = k if stride is None or empty else _pair(op, "stride", stride, 1)
    p = _pair(op, "padding", padding, 0)
    d = _pair(op, "dilation", dilation, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding should be at most half of kernel size, "
                         f"got padding={p} and kernel_size={k}")
    sizes = x.shape[-2:]
    out = tuple(_output_size(sizes[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: kernel_size={k} (dilation={d}) is larger than the padded "
                         f"input {tuple(sizes)} with padding={p}; output size would be {out}")
    rows, columns = (_Window(k[i], s[i], p[i], d[i], sizes[i], out[i]) for i in range(2))
    return rows, columns


def _batched(x: np.ndarray) -> np.ndarray:
    """A 4-D view: (C, H, W) -> (1, C, H, W)."""
    return x[None] if x.ndim == 3 else x


def _pad(x: np.ndarray, wh: _Window, ww: _Window, value: float) -> np.ndarray:
    """`x` (N, C, H, W) with `value` around it: `padding` before, `pad_after` after."""
    before, after = (wh.padding, ww.padding), (wh.pad_after, ww.pad_after)
    if before == (0, 0) and after == (0, 0):
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, before[0] + h + after[0], before[1] + w + after[1]), value, x.dtype)
    out[:, :, before[0]:before[0] + h, before[1]:before[1] + w] = x
    return out


def _unpad(dxp: np.ndarray, wh: _Window, ww: _Window) -> np.ndarray:
    """The inverse of `_pad` for gradients: crop the padding off."""
    return dxp[:, :, wh.padding:wh.padding + wh.size, ww.padding:ww.padding + ww.size]


def _taps(wh: _Window, ww: _Window) -> list[tuple]:
    """Indices into `_phases(xp)`, one per kernel tap in row-major tap order, each giving an
    (N, C, OH, OW) view."""
    taps = []
    for u in range(wh.kernel):
        for v in range(ww.kernel):
            (a, rows), (b, cols) = wh.tap(u), ww.tap(v)
            taps.append((slice(None), slice(None), a, b, rows, cols))
    return taps


def _phases(xp: np.ndarray, wh: _Window, ww: _Window) -> np.ndarray:
    """Stride phases: phase (a, b) is xp[:, :, a::s_h, b::s_w], stored contiguously
    (no copy for stride 1)."""
    n, c, hp, wp = xp.shape
    # (N, C, Hp, Wp) -> (N, C, Hp/sh, sh, Wp/sw, sw) -> (N, C, sh, sw, Hp/sh, Wp/sw)
    split = xp.reshape(n, c, hp // wh.stride, wh.stride, wp // ww.stride, ww.stride)
    return np.ascontiguousarray(split.transpose(0, 1, 3, 5, 2, 4))


def _unphase(ph: np.ndarray) -> np.ndarray:
    """The inverse of `_phases`."""
    n, c, sh, sw, hq, wq = ph.shape
    # (N, C, sh, sw, Hp/sh, Wp/sw) -> (N, C, Hp/sh, sh, Wp/sw, sw) -> (N, C, Hp, Wp)
    return ph.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, hq * sh, wq * sw)


def _divisor(wh: _Window, ww: _Window, count_include_pad: bool, override: int | None,
             dtype: np.dtype) -> np.ndarray:
    """Per-window divisor (OH, OW) as torch: window cells inside input + padding (or only
    inside the input), never the extra cells ceil_mode adds past the padding."""
    if override is not None:
        return np.asarray(override, dtype=dtype)
    counts = []
    for win in (wh, ww):
        start = win.starts()
        end = np.minimum(start + win.kernel, win.size + win.padding)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, win.size)
        counts.append(end - start)
    return np.multiply.outer(counts[0], counts[1]).astype(dtype)


class AvgPool2d(Function):
    """y[n,c,i,j] = (1/D[i,j]) Σ_{u,v} xp[n,c, i·s+u, j·s+v]   (xp: x zero-padded)

    Backward: dxp[n,c, i·s+u, j·s+v] += g[n,c,i,j] / D[i,j] for every tap (u, v), then the
    padding is cropped. D is the window count (see `_divisor`) or `divisor_override`.
    Saved: the (OH, OW) divisor table. See docs/derivations.md#pooling.
    """

    @staticmethod
    def forward(ctx: Context, x, windows=None, count_include_pad=True, divisor_override=None):
        wh, ww = windows
        xp = _pad(_batched(x), wh, ww, 0.0)
        ph = _phases(xp, wh, ww)
        first, *taps = _taps(wh, ww)
        y = ph[first].copy()
        for tap in taps:
            y += ph[tap]
        divisor = _divisor(wh, ww, count_include_pad, divisor_override, x.dtype)
        y /= divisor
        ctx.save_for_backward(divisor)
        ctx.windows, ctx.in_shape, ctx.phases_shape = windows, x.shape, ph.shape
        return y.reshape(y.shape[-x.ndim:])

    @staticmethod
    def backward(ctx: Context, g):
        (divisor,) = ctx.saved_tensors
        wh, ww = ctx.windows
        gd = _batched(g) / divisor
        dph = np.zeros(ctx.phases_shape, gd.dtype)
        for tap in _taps(wh, ww):
            dph[tap] += gd
        return (_unpad(_unphase(dph), wh, ww).reshape(ctx.in_shape),)


def _argmax_position(arg: np.ndarray, wh: _Window, ww: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max taps (N, C, OH, OW) -> their (row, column) in the padded input."""
    rows = (np.arange(wh.out) * wh.stride)[:, None] + (arg // ww.kernel) * wh.dilation
    cols = (np.arange(ww.out) * ww.stride)[None, :] + (arg % ww.kernel) * ww.dilation
    return rows, cols


def _torch_indices(arg: np.ndarray, wh: _Window, ww: _Window) -> np.ndarray:
    """Arg-max taps -> torch's flat indices h·W + w into each (unpadded) input plane."""
    rows, cols = _argmax_position(arg, wh, ww)
    return ((rows - wh.padding) * ww.size + (cols - ww.padding)).astype(np.int64)


def _max_over_taps(ph: np.ndarray, taps: list, need_argmax: bool):
    """Max over the taps and (if needed) which tap holds it: the first on ties, the last
    NaN if any (torch's `val > max || isnan(val)`)."""
    best = ph[taps[0]].copy()
    for tap in taps[1:]:
        np.maximum(best, ph[tap], out=best)
    if not need_argmax:
        return best, None
    arg = np.zeros(best.shape, np.int32)
    # scanning taps backwards, the last write is the first tap that holds the maximum
    for t in range(len(taps) - 1, -1, -1):
        np.putmask(arg, ph[taps[t]] == best, t)
    if np.isnan(best).any():
        for t, tap in enumerate(taps):
            np.putmask(arg, np.isnan(ph[tap]), t)
    return best, arg


def _first_real_tap_where_all_minus_inf(y: np.ndarray, arg: np.ndarray, wh: _Window,
                                        ww: _Window) -> np.ndarray:
    """Where a window's maximum is −inf, its arg-max is its first element inside the input
    (torch starts each window's search there), not a padding tap that ties with it."""
    minus_inf = y == -np.inf
    if not minus_inf.any():
        return arg
    # first tap row u (column v) of each window that lands inside the input: i·s + u·d ≥ p
    u0 = np.maximum(0, -(-(wh.padding - np.arange(wh.out) * wh.stride) // wh.dilation))
    v0 = np.maximum(0, -(-(ww.padding - np.arange(ww.out) * ww.stride) // ww.dilation))
    first = (u0[:, None] * ww.kernel + v0[None, :]).astype(arg.dtype)  # (OH, OW)
    return np.where(minus_inf, first, arg)


class MaxPool2d(Function):
    """y[n,c,i,j] = max_{u,v} xp[n,c, i·s+u·d, j·s+v·d]   (xp: x padded with −inf)

    Backward: the whole g[n,c,i,j] goes to the arg-max of its window (the first maximum in
    row-major tap order on ties, as torch; the first element inside the input when the
    maximum is −inf); overlapping windows add up. Saved: the arg-max
    tap of each window (int32, the output's shape). See docs/derivations.md#pooling.
    `indices`, when a list, receives torch's flat per-plane indices (for return_indices).
    """

    @staticmethod
    def forward(ctx: Context, x, windows=None, indices=None):
        wh, ww = windows
        xp = _pad(_batched(x), wh, ww, -np.inf)
        need_argmax = ctx.needs_input_grad[0] or indices is not None
        y, arg = _max_over_taps(_phases(xp, wh, ww), _taps(wh, ww), need_argmax)
        if need_argmax:
            arg = _first_real_tap_where_all_minus_inf(y, arg, wh, ww)
        if indices is not None:
            indices.append(_torch_indices(arg, wh, ww).reshape(y.shape[-x.ndim:]))
        ctx.save_for_backward(arg)
        ctx.windows, ctx.in_shape, ctx.padded_shape = windows, x.shape, xp.shape
        return y.reshape(y.shape[-x.ndim:])

    @staticmethod
    def backward(ctx: Context, g):
        (arg,) = ctx.saved_tensors
        wh, ww = ctx.windows
        n, c, hp, wp = ctx.padded_shape
        rows, cols = _argmax_position(arg, wh, ww)
        # flat position in dxp (N, C, Hp, Wp) of each window's arg-max, shape (N, C, OH, OW)
        flat = (np.arange(n * c).reshape(n, c, 1, 1) * hp + rows) * wp + cols
        dxp = np.zeros(ctx.padded_shape, g.dtype)
        if all(w.stride >= w.dilation * (w.kernel - 1) + 1 for w in (wh, ww)):
            dxp.reshape(-1)[flat.reshape(-1)] = g.reshape(-1)  # disjoint windows: no collisions
        else:
            np.add.at(dxp.reshape(-1), flat.reshape(-1), g.reshape(-1))
        return (_unpad(dxp, wh, ww).reshape(ctx.in_shape),)


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """A (out, size) averaging matrix: row o averages inputs [⌊o·size/out⌋, ⌈(o+1)·size/out⌉)."""
    o = np.arange(out)
    start = o * size // out
    end = -(-(o + 1) * size // out)
    i = np.arange(size)
    inside = (i >= start[:, None]) & (i < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """y = A_h · x · A_wᵀ per (n, c) plane, A the (out, in) averaging matrices of torch's
    adaptive windows (possibly overlapping, of varying sizes).

    Backward: dx = A_hᵀ · g · A_w. Saved: A_h, A_w. See docs/derivations.md#pooling.
    """

    @staticmethod
    def forward(ctx: Context, x, output_size=None):
        a_h = _adaptive_matrix(x.shape[-2], output_size[0], x.dtype)
        a_w = _adaptive_matrix(x.shape[-1], output_size[1], x.dtype)
        ctx.save_for_backward(a_h, a_w)
        # (..., H, W) @ (W, OW) -> (..., H, OW); (OH, H) @ (..., H, OW) -> (..., OH, OW)
        return np.matmul(a_h, np.matmul(x, a_w.T))

    @staticmethod
    def backward(ctx: Context, g):
        a_h, a_w = ctx.saved_tensors
        # (H, OH) @ (..., OH, OW) @ (OW, W) -> (..., H, W)
        return (np.matmul(a_h.T, np.matmul(g, a_w)),)


class GlobalAvgPool2d(Function):
    """y[n,c] = mean_{h,w} x[n,c,h,w] (kept as (N, C, 1, 1)): MobileNet's head.

    The plane sums are one BLAS product of the (N·C, H·W) view with a ones vector, then
    divided by H·W: 4–12× faster here than `x.mean` over the last two axes, whose inner
    loops are one plane long.
    Backward: dx[n,c,h,w] = g[n,c] / (H·W). Saved: nothing but the shape.
    """

    @staticmethod
    def forward(ctx: Context, x):
        ctx.in_shape = x.shape
        *lead, h, w = x.shape
        # (*lead, H, W) -> (planes, H*W) @ (H*W,) -> (planes,)
        means = np.dot(x.reshape(math.prod(lead), h * w), np.ones(h * w, dtype=x.dtype))
        means /= h * w
        return means.reshape(*lead, 1, 1)

    @staticmethod
    def backward(ctx: Context, g):
        h, w = ctx.in_shape[-2:]
        dx = np.empty(ctx.in_shape, g.dtype)
        dx[...] = g / (h * w)
        return (dx,)


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Average over kh × kw windows, as `torch.nn.functional.avg_pool2d`.

    Shape: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW).
    """
    _check_input("avg_pool2d", x)
    windows = _windows("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool)
                                         or not isinstance(divisor_override, (int, np.integer))):
        raise TypeError(f"avg_pool2d: divisor_override must be an int, got {divisor_override!r}")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool2d: divisor_override must not be zero")
    return AvgPool2d.apply(x, windows=windows, count_include_pad=bool(count_include_pad),
                           divisor_override=divisor_override)


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, dilation: IntPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over (dilated) kh × kw windows, as `torch.nn.functional.max_pool2d`.

    With `return_indices`, also the int64 flat index (h·W + w) of each maximum in its plane.
    Shape: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW).
    """
    _check_input("max_pool2d", x)
    windows = _windows("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return MaxPool2d.apply(x, windows=windows)
    indices: list[np.ndarray] = []
    y = MaxPool2d.apply(x, windows=windows, indices=indices)
    return y, Tensor._wrap(indices[0])


def _adaptive_size(x: Tensor, output_size: Any) -> tuple[int, int]:
    items = [output_size] if isinstance(output_size, (int, np.integer)) else list(output_size)
    items = items * 2 if len(items) == 1 else items
    if len(items) != 2:
        raise TypeError(f"adaptive_avg_pool2d: output_size must be an int or a pair, "
                        f"got {output_size!r}")
    size = tuple(x.shape[-2 + i] if v is None else v for i, v in enumerate(items))
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in size):
        raise TypeError(f"adaptive_avg_pool2d: output_size must hold ints or None, "
                        f"got {output_size!r}")
    if min(size) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    return int(size[0]), int(size[1])


def adaptive_avg_pool2d(x: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average pooling to a fixed output size, as `torch.nn.functional.adaptive_avg_pool2d`.

    Output (1, 1) is a mean over H, W; an output that divides the input is a plain average
    pool; any other size uses torch's windows [⌊o·H/OH⌋, ⌈(o+1)·H/OH⌉).
    Shape: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW).
    """
    _check_input("adaptive_avg_pool2d", x)
    oh, ow = _adaptive_size(x, output_size)
    h, w = x.shape[-2:]
    if (oh, ow) == (1, 1):
        return GlobalAvgPool2d.apply(x)
    if h % oh == 0 and w % ow == 0:
        kernel = (h // oh, w // ow)
        return AvgPool2d.apply(x, windows=_windows("adaptive_avg_pool2d", x, kernel, kernel, 0,
                                                   1, False))
    return AdaptiveAvgPool2d.apply(x, output_size=(oh, ow))
