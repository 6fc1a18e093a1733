"""Fast depthwise convolution on phase planes (outputs larger than 8×8 pixels).

What it does differently from `minigrad.reference.conv.DepthwiseConv2d`, and why:

- Layout: every (sample, channel) image is an independent plane. Zero-padded and with its
  rows flattened, a plane turns each kernel tap into one contiguous slice: at stride 1,
  output position l = i·Wp + j (computed on the padded width Wp; the extra columns are
  dropped) reads tap (u, v) at flat l + u·d·Wp + v·d. The N planes of one channel are laid end
  to end, so a tap is ONE contiguous run per channel times one scalar weight, NumPy's fastest
  loop, and activations are never transposed. Outputs that straddle two planes are garbage
  and dropped, like the extra columns.
- Phase planes: stride s > 1 is reduced to stride 1 by splitting each padded plane into its
  s×s phases xp[a::s, b::s] (polyphase): tap (u, v) reads phase ((u·d) mod s, (v·d) mod s)
  at offset (⌊u·d/s⌋, ⌊v·d/s⌋).
- Cache tiles and threads: channels are processed a tile at a time (about TILE_BYTES of
  buffers), so a tile's input, accumulator and product stay in cache across all KH·KW taps.
  The tiles are independent, so with `minigrad.set_num_threads(n)` each thread takes the
  next tile whenever it is free; tiles of equal size, as many as give every thread the same
  number of channels. A tile's phase planes go to a buffer of the thread's own, zeroed once;
  they are never stored for all channels (backward splits them again from the saved x).

Measurements behind these choices: benchmarks/README.md, "Fast conv kernels".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.fast.threads import share_out, split_for_threads
from minigrad.reference.conv import output_size

# more than a core's L2, so a tile's taps run from L3, but fewer calls per byte than smaller
# tiles (chosen by measurement: benchmarks/README.md, "Fast conv kernels")
TILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PlanePlan:
    """Where each tap reads in the flat phase planes of one depthwise convolution.

    `taps[k] = (phase, offset)` for tap k = u·KW + v; a phase plane is `phase_hw`, and so is an
    output plane before its extra rows and columns are dropped.
    """

    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    stride: tuple[int, int]
    pad_top_left: tuple[int, int]
    phase_hw: tuple[int, int]
    taps: tuple[tuple[int, int], ...]

    @property
    def plane_len(self) -> int:
        return self.phase_hw[0] * self.phase_hw[1]

    @property
    def tail(self) -> int:
        """Zeros after a channel's last plane, so that every tap's slice stays in bounds."""
        return max(offset for _, offset in self.taps)


def plan_planes(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int, int, int], dilation: tuple[int, int]) -> PlanePlan:
    out_hw = output_size(in_hw, kernel, stride, padding, dilation)
    (sh, sw), (dh, dw) = stride, dilation
    # tap (u, v) sits at padded (u·d, v·d) = (p·s + a, q·s + b): phase (a, b), offset (p, q)
    shifts = [(divmod(u * dh, sh), divmod(v * dw, sw))
              for u in range(kernel[0]) for v in range(kernel[1])]
    p_max = max(p for (p, _), _ in shifts)
    q_max = max(q for _, (q, _) in shifts)
    phase_hw = (out_hw[0] + p_max, out_hw[1] + q_max)
    taps = tuple((a * sw + b, p * phase_hw[1] + q) for (p, a), (q, b) in shifts)
    return PlanePlan(in_hw, out_hw, stride, (padding[0], padding[2]), phase_hw, taps)


def _interior(plan: PlanePlan) -> tuple[int, int]:
    """How many input rows and columns land inside the phase planes (the rest are never read)."""
    (sh, sw), (top, left), (hph, wph) = plan.stride, plan.pad_top_left, plan.phase_hw
    return (max(0, min(plan.in_hw[0], sh * hph - top)),
            max(0, min(plan.in_hw[1], sw * wph - left)))


def _phase_window(plan: PlanePlan, axis: int, phase: int) -> tuple[slice, slice]:
    """Along one axis of phase `phase`: the phase-plane positions that hold input pixels, and
    those input pixels as a strided slice. Position i holds padded position i·s + phase, which
    is input pixel i·s + phase − pad when that lies inside the input.
    """
    s, pad = plan.stride[axis], plan.pad_top_left[axis]
    size, length = plan.in_hw[axis], plan.phase_hw[axis]
    first = max(0, -((phase - pad) // s))  # ⌈(pad − phase) / s⌉, at least 0
    stop = max(first, min(length, (size - 1 + pad - phase) // s + 1))
    pixel = first * s + phase - pad
    return slice(first, stop), slice(pixel, pixel + s * (stop - first), s)


def _phase_views(phases: np.ndarray, plan: PlanePlan, n: int
                 ) -> Iterator[tuple[np.ndarray, tuple[slice, slice], tuple[slice, slice]]]:
    """For each of the sh·sw phases of phases (c, S, N·Hph·Wph + tail): the phase as a
    (c, N, Hph, Wph) view, the rows and columns of it that hold input pixels, and the input
    rows and columns they hold (strided slices)."""
    (sh, sw), (hph, wph) = plan.stride, plan.phase_hw
    # (c, S, N*Hph*Wph) -> (c, S, N, Hph, Wph)
    planes = phases[:, :, :n * plan.plane_len].reshape(phases.shape[0], sh * sw, n, hph, wph)
    for a, b in np.ndindex(sh, sw):
        (rows, in_rows), (cols, in_cols) = _phase_window(plan, 0, a), _phase_window(plan, 1, b)
        yield planes[:, a * sw + b], (rows, cols), (in_rows, in_cols)


def copy_phases(x: np.ndarray, plan: PlanePlan, out: np.ndarray) -> None:
    """Write the phase planes of x (N, c, H, W) into out (c, S, N·Hph·Wph + tail), one strided
    copy per phase: only the positions that hold input pixels are written, the same ones for
    every x, so a buffer zeroed once stays zero-padded across tiles."""
    x_c = x.transpose(1, 0, 2, 3)  # (N, c, H, W) -> (c, N, H, W), a view
    for plane, (rows, cols), (in_rows, in_cols) in _phase_views(out, plan, x.shape[0]):
        plane[:, :, rows, cols] = x_c[:, :, in_rows, in_cols]


def merge_phases(dphases: np.ndarray, plan: PlanePlan, dx: np.ndarray) -> None:
    """The adjoint of copy_phases into a zeroed buffer: dphases (c, S, N·Hph·Wph + tail) ->
    dx (N, c, H, W).

    Every input pixel inside the planes sits in exactly one phase; the pixels past them are
    read by no tap, so their gradient is 0.
    """
    dx_c = dx.transpose(1, 0, 2, 3)  # (N, c, H, W) -> (c, N, H, W), a view
    for plane, (rows, cols), (in_rows, in_cols) in _phase_views(dphases, plan, dx.shape[0]):
        dx_c[:, :, in_rows, in_cols] = plane[:, :, rows, cols]
    rows_in, cols_in = _interior(plan)
    dx_c[:, :, rows_in:] = 0
    dx_c[:, :, :, cols_in:] = 0


def _tiles(n_channels: int, channel_bytes: int, total_bytes: int) -> tuple[int, list[slice]]:
    """Tiles of channels whose buffers together take at most about TILE_BYTES (at least one
    channel), of nearly equal size and shared evenly over the threads; and the largest tile's
    channel count (what the buffers are sized for)."""
    tiles = split_for_threads(n_channels, TILE_BYTES // max(1, channel_bytes), total_bytes)
    return max((t.stop - t.start for t in tiles), default=1), tiles


def depthwise_forward(x: np.ndarray, w_taps: np.ndarray, b: np.ndarray | None, plan: PlanePlan,
                      y: np.ndarray) -> None:
    """y (N, C, OH, OW) = b + Σ_k w_taps[k] · (tap k's slice of the phase planes of x), tile
    by tile; the tiles are shared out over the threads, and each thread splits its tiles into
    one buffer of its own, zeroed once, that stays in cache."""
    (oh, ow), (hph, wph), n = plan.out_hw, plan.phase_hw, x.shape[0]
    span = n * plan.plane_len
    phase_bytes = _phase_bytes(plan, n, y.itemsize)
    tile, tiles = _tiles(x.shape[1], phase_bytes + 2 * span * y.itemsize,
                         x.shape[1] * phase_bytes)
    y_c = y.transpose(1, 0, 2, 3)  # (N, C, OH, OW) -> (C, N, OH, OW), a view

    def run(my_tiles: Iterator[slice]) -> None:
        acc = np.empty((tile, span), dtype=y.dtype)
        product = np.empty_like(acc)
        phases = _phase_buffer(plan, tile, n, y.dtype)
        for t in my_tiles:
            c = t.stop - t.start
            copy_phases(x[:, t], plan, phases[:c])
            for k, (s, offset) in enumerate(plan.taps):
                np.multiply(phases[:c, s, offset:offset + span], w_taps[k, t, None],
                            out=product[:c] if k else acc[:c])
                if k:
                    acc[:c] += product[:c]
            if b is not None:
                acc[:c] += b[t, None]
            # (c, N*Hph*Wph) -> (c, N, Hph, Wph), the rows past OH and columns past OW dropped
            y_c[t] = acc[:c].reshape(c, n, hph, wph)[:, :, :oh, :ow]

    share_out(run, tiles, x.shape[1] * phase_bytes)


def depthwise_backward(g: np.ndarray, x: np.ndarray, w_taps: np.ndarray, plan: PlanePlan,
                       dw_taps: np.ndarray | None, dx: np.ndarray | None) -> None:
    """Fill dw_taps (K, C) and dx (N, C, H, W) from g (N, C, OH, OW) and x (N, C, H, W), tile
    by tile; the tiles are shared out over the threads. Each thread splits x's phase planes
    again, a tile at a time, into a buffer of its own (only when dw is wanted: dx needs
    none)."""
    n = g.shape[0]
    span = n * plan.plane_len
    phase_bytes = _phase_bytes(plan, n, g.itemsize)
    tile, tiles = _tiles(g.shape[1], 2 * (phase_bytes + span * g.itemsize),
                         g.shape[1] * phase_bytes)
    step = _BackwardTiles(g.transpose(1, 0, 2, 3),  # (N, C, OH, OW) -> (C, N, OH, OW), a view
                          x, w_taps, plan, dw_taps, dx)

    def run(my_tiles: Iterator[slice]) -> None:
        # the dropped outputs get gradient 0, so they add nothing to dw or dx
        g_wide = np.zeros((tile, span), dtype=g.dtype)
        phases = _phase_buffer(plan, tile if dw_taps is not None else 0, n, g.dtype)
        dphases = np.empty((tile if dx is not None else 0, *phases.shape[1:]), dtype=g.dtype)
        scratch = (g_wide, np.empty_like(g_wide), phases, dphases)
        for t in my_tiles:
            step.tile(t, *scratch)

    share_out(run, tiles, g.shape[1] * phase_bytes)


def _phase_bytes(plan: PlanePlan, n: int, itemsize: int) -> int:
    """The bytes of one channel's phase planes."""
    return plan.stride[0] * plan.stride[1] * (n * plan.plane_len + plan.tail) * itemsize


def _phase_buffer(plan: PlanePlan, channels: int, n: int, dtype: np.dtype) -> np.ndarray:
    """Zeros for the phase planes of `channels` channels, (channels, S, N·Hph·Wph + tail)."""
    return np.zeros((channels, plan.stride[0] * plan.stride[1], n * plan.plane_len + plan.tail),
                    dtype=dtype)


@dataclass
class _BackwardTiles:
    """What every tile of one depthwise backward reads and writes; `tile` runs one tile."""

    g_c: np.ndarray
    x: np.ndarray
    w_taps: np.ndarray
    plan: PlanePlan
    dw_taps: np.ndarray | None
    dx: np.ndarray | None

    def __post_init__(self) -> None:
        self.writers = _phase_writers(self.plan)
        # the writing taps first: they set their phase's first span, the others add to it
        self.order = [*self.writers.values(),
                      *(k for k in range(len(self.plan.taps)) if k not in self.writers.values())]

    def tile(self, t: slice, g_wide: np.ndarray, product: np.ndarray, phases: np.ndarray,
             dphases: np.ndarray) -> None:
        """dw_taps[:, t] and dx[:, t] of the channels t, in the scratch buffers given (phases
        zero-padded, for dw; dphases, for dx)."""
        c, n, span = t.stop - t.start, self.g_c.shape[1], g_wide.shape[1]
        (oh, ow), (hph, wph) = self.plan.out_hw, self.plan.phase_hw
        # (c, N*Hph*Wph) -> (c, N, Hph, Wph)
        g_wide[:c].reshape(c, n, hph, wph)[:, :, :oh, :ow] = self.g_c[t]
        if self.dw_taps is not None:
            copy_phases(self.x[:, t], self.plan, phases[:c])
        if self.dx is not None:
            for s in range(dphases.shape[1]):
                dphases[:c, s, span if s in self.writers else 0:] = 0
        for k in self.order:
            s, offset = self.plan.taps[k]
            if self.dw_taps is not None:
                _channel_dots(phases[:c, s, offset:offset + span], g_wide[:c],
                              self.dw_taps[k, t])
            if self.dx is None:
                continue
            if self.writers.get(s) == k:
                np.multiply(g_wide[:c], self.w_taps[k, t, None], out=dphases[:c, s, :span])
            else:
                np.multiply(g_wide[:c], self.w_taps[k, t, None], out=product[:c])
                dphases[:c, s, offset:offset + span] += product[:c]
        if self.dx is not None:
            merge_phases(dphases[:c], self.plan, self.dx[:, t])


def _channel_dots(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[c] = Σ_l a[c, l]·b[c, l]: one BLAS dot product per channel, (c, 1, L) · (c, L, 1).

    Each channel's dot is the same whatever tile it is in, so dw rounds the same on any number
    of threads (an `einsum` would release the GIL, but rounds a row differently depending on
    how many rows it is given). NumPy keeps the GIL through a matmul whose stack holds 500
    products or fewer: another thread waits meanwhile, if it needs the GIL, for the length of
    these dots, a small part of the backward.
    """
    out[...] = np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


def _phase_writers(plan: PlanePlan) -> dict[int, int]:
    """For each phase that has a tap at offset 0, that tap's index: in backward it writes its
    product over the phase's first span instead of adding it to zeros, so the phase needs
    zeroing only past that span (the other phases are zeroed whole)."""
    writers: dict[int, int] = {}
    for k, (phase, offset) in enumerate(plan.taps):
        if offset == 0:
            writers.setdefault(phase, k)
    return writers


def repeat_channels(x: np.ndarray, c_out: int) -> np.ndarray:
    """x (N, C_in, H, W) with each channel repeated m = C_out / C_in times, so that output
    channel o meets its own copy of input channel ⌊o / m⌋ (x itself when m = 1)."""
    c_in = x.shape[1]
    return x if c_out == c_in else np.repeat(x, c_out // c_in, axis=1)


def sum_channel_copies(dx_rep: np.ndarray, c_in: int) -> np.ndarray:
    """The adjoint of `repeat_channels`: (N, C_in·m, H, W) -> (N, C_in, H, W), adding up the m
    copies of each channel."""
    n, c_out, h, w = dx_rep.shape
    if c_out == c_in:
        return dx_rep
    return dx_rep.reshape(n, c_in, c_out // c_in, h, w).sum(axis=2)


class DepthwiseConv2d(Function):
    """Depthwise convolution (any channel multiplier m = C_out / C_in) on phase planes.

    Computes what `minigrad.reference.conv.DepthwiseConv2d` computes; the sums over taps run
    as whole-plane multiply-adds on the flat phase planes of the module docstring, a tile of
    channels at a time. For m > 1 the input channels are repeated m times first, so that
    output channel o meets its own copy; dx then sums the m copies back. Saved: x (its
    channels repeated, for m > 1), w as (KH·KW, C_out); nothing when no grad is recorded.
    The phase planes are never stored whole: forward and backward each split a tile of
    channels at a time into a buffer of their own, zeroed once, that stays in cache (a
    stored copy would cost a write of the input's size to memory and as much memory until
    backward). See docs/derivations.md#depthwise-convolution.
    """

    @staticmethod
    def forward(ctx: Context, x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        n, c_in, h, width = x.shape
        c_out, _, kh, kw = w.shape
        plan = plan_planes((h, width), (kh, kw), stride, padding, dilation)
        x = repeat_channels(x, c_out)  # channel c -> c·m, ..., c·m + m − 1
        ctx.shapes = (plan, (n, c_in, h, width), w.shape)
        # (C_out, 1, KH, KW) -> (KH*KW, C_out): one row of channel weights per tap
        w_taps = np.ascontiguousarray(w.reshape(c_out, kh * kw).T)
        y = np.empty((n, c_out, *plan.out_hw), dtype=x.dtype)
        depthwise_forward(x, w_taps, b, plan, y)
        ctx.save_for_backward(x, w_taps)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        x, w_taps = ctx.saved_tensors
        plan, (n, c_in, h, width), w_shape = ctx.shapes
        c_out, _, kh, kw = w_shape
        dx_rep = dw_taps = dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx_rep = np.empty((n, c_out, h, width), dtype=g.dtype)
        if ctx.needs_input_grad[1]:
            dw_taps = np.empty((kh * kw, c_out), dtype=g.dtype)
        if dx_rep is not None or dw_taps is not None:
            depthwise_backward(g, x, w_taps, plan, dw_taps, dx_rep)
        if dx_rep is not None:
            dx = sum_channel_copies(dx_rep, c_in)
        if dw_taps is not None:
            dw = dw_taps.T.reshape(w_shape)  # (KH*KW, C_out) -> (C_out, 1, KH, KW)
        if ctx.needs_input_grad[2]:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db
