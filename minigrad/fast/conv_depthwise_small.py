"""Fast depthwise convolution on small planes (MobileNet's last stages: 8×8 and 4×4 outputs).

What it does differently from `minigrad.reference.conv.DepthwiseConv2d`, and why: the
phase-plane kernel (conv_depthwise) computes every tap on the padded plane, so on a 4×4 output
with a 5×5 kernel most of its work is thrown away. Here the activations are channels-last
(NHWC) instead, and the taps are a strided view `patches[n, i, j, u, v, c] =
xp[n, i·s + u·d, j·s + v·d, c]` (no copy): one `einsum` then does every multiply-add in a
single pass with channels as the contiguous inner loop, and nothing is wasted.

    forward:  y[n,i,j,c]  = Σ_{u,v} patches[n,i,j,u,v,c] · w[u,v,c]
    backward: dw[u,v,c]   = Σ_{n,i,j} patches[n,i,j,u,v,c] · g[n,i,j,c]
              dxp[n, i·s+u·d, j·s+v·d, c] += g[n,i,j,c] · w[u,v,c]   (for every tap u, v)

At stride 1 the scatter is a correlation: dx is the forward's einsum run on g, zero-padded by
d·(K − 1) − p on each side, with the kernel flipped (`small_input_grad_by_gather`). At stride
> 1 that g would have to be spread out by the stride, mostly zeros, so dxp is built tap by tap
instead: each tap's pixels are one strided view of the padded NHWC array, so a tap is one
multiply and one add over (N, OH, OW, C) with channels the contiguous inner loop; no work
lands outside the pixels the forward read. Batch chunks run over the threads.
See docs/derivations.md#depthwise-convolution.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minigrad.autograd import Context, Function
from minigrad.fast.conv_depthwise import repeat_channels, sum_channel_copies
from minigrad.fast.conv_depthwise_matrix import matrix_backward, matrix_forward, uses_matrix
from minigrad.fast.threads import for_each_chunk, sum_in_batch_order
from minigrad.reference.conv import output_size

# outputs of at most this many pixels per plane take this kernel; from 16×16 on the phase
# planes are faster (benchmarks/README.md, "Fast conv kernels")
MAX_SMALL_PLANE = 64


def uses_small_planes(out_hw: tuple[int, int]) -> bool:
    return out_hw[0] * out_hw[1] <= MAX_SMALL_PLANE


class DepthwiseConv2d(Function):
    """Depthwise convolution (any channel multiplier m = C_out / C_in) on small planes,
    channels last (module docstring). Computes what `minigrad.reference.conv.DepthwiseConv2d`
    computes; for m > 1 the input channels are repeated m times first and dx sums the copies
    back. Inputs of at most 8×8 pixels run forward and backward as matrices per channel
    (`conv_depthwise_matrix`). Saved: the padded NHWC input (C_out channels; for those tiny
    inputs the NCHW input) and w as (KH, KW, C_out).
    """

    @staticmethod
    def forward(ctx: Context, x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        c, _, kh, kw = w.shape
        out_hw = output_size(x.shape[2:], (kh, kw), stride, padding, dilation)
        ctx.in_shape = x.shape
        ctx.geometry = (stride, padding, dilation)
        # (C, 1, KH, KW) -> (KH, KW, C): one row of channel weights per tap
        w_uvc = np.ascontiguousarray(w.reshape(c, kh, kw).transpose(1, 2, 0))
        x = repeat_channels(x, c)
        ctx.matrix = uses_matrix(x.shape[2:])
        if ctx.matrix:  # backward also runs as matrices per channel, on x as it is
            ctx.save_for_backward(x, w_uvc)
            return matrix_forward(x, w, b, stride, padding, dilation)
        xp = pad_channels_last(x, padding)
        ctx.save_for_backward(xp, w_uvc)
        return small_forward(xp, w_uvc, b, out_hw, stride, dilation)

    @staticmethod
    def backward(ctx: Context, g):
        _, c_in, h, width = ctx.in_shape
        dx_rep, dw_uvc = small_conv_backward(ctx, g, (h, width))
        dx = dw = db = None
        if dx_rep is not None:
            dx = sum_channel_copies(dx_rep, c_in)
        if dw_uvc is not None:
            kh, kw, c_out = dw_uvc.shape
            # (KH, KW, C) -> (C, 1, KH, KW)
            dw = dw_uvc.transpose(2, 0, 1).reshape(c_out, 1, kh, kw)
        if ctx.needs_input_grad[2]:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db


def small_conv_backward(ctx: Context, g: np.ndarray, in_hw: tuple[int, int]
                        ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dx with C_out channels, dw as (KH, KW, C_out)) of the forward; None where not needed."""
    xp, w_uvc = ctx.saved_tensors
    stride, padding, dilation = ctx.geometry
    if ctx.matrix:  # xp is x itself, (N, C, H, W)
        return matrix_backward(xp, g, w_uvc, stride, padding, dilation,
                               ctx.needs_input_grad[0], ctx.needs_input_grad[1])
    border = gather_padding(w_uvc.shape[:2], stride, padding, dilation)
    dx = dw_uvc = None
    if ctx.needs_input_grad[0] and border is not None:
        gp = pad_channels_last(g, border)
        top, left = border[0], border[2]
        g_nhwc = gp[:, top:top + g.shape[2], left:left + g.shape[3]]  # g itself, NHWC
        dx = small_input_grad_by_gather(gp, w_uvc, in_hw, dilation)
    else:
        g_nhwc = _channels_last(g)
        if ctx.needs_input_grad[0]:
            dx = small_input_grad(g_nhwc, w_uvc, in_hw, padding, stride, dilation)
    if ctx.needs_input_grad[1]:
        dw_uvc = small_weight_grad(g_nhwc, xp, w_uvc.shape[:2], stride, dilation)
    return dx, dw_uvc


def _patches(a: np.ndarray, out_hw: tuple[int, int], kernel: tuple[int, int],
             stride: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """A read-only (N, OH, OW, KH, KW, C) view of a (N, Hp, Wp, C) array: every tap of every
    output pixel."""
    sn, sh, sw, sc = a.strides
    shape = (a.shape[0], *out_hw, *kernel, a.shape[3])
    strides = (sn, stride[0] * sh, stride[1] * sw, dilation[0] * sh, dilation[1] * sw, sc)
    return as_strided(a, shape, strides, writeable=False)


def pad_channels_last(x: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    """(N, C, H, W) -> zero-padded (N, H + top + bottom, W + left + right, C), batch chunks
    over the threads."""
    n, c, h, w = x.shape
    top, bottom, left, right = padding
    xp = np.empty((n, h + top + bottom, w + left + right, c), dtype=x.dtype)

    def chunk(rows: slice) -> None:
        xp[rows] = 0
        # (n, C, H, W) -> (n, H, W, C)
        xp[rows, top:top + h, left:left + w] = x[rows].transpose(0, 2, 3, 1)

    for_each_chunk(chunk, n, xp.strides[0] + x[:1].nbytes)  # bytes per sample
    return xp


def _channels_last(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> C-contiguous (N, H, W, C), batch chunks over the threads."""
    out = np.empty((a.shape[0], *a.shape[2:], a.shape[1]), dtype=a.dtype)

    def chunk(rows: slice) -> None:
        out[rows] = a[rows].transpose(0, 2, 3, 1)

    for_each_chunk(chunk, a.shape[0], 2 * a[:1].nbytes)  # bytes per sample
    return out


def small_forward(xp: np.ndarray, w_uvc: np.ndarray, b: np.ndarray | None,
                  out_hw: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int]) -> np.ndarray:
    """y (N, C, OH, OW) from the padded NHWC input xp and the weights w_uvc (KH, KW, C)."""
    patches = _patches(xp, out_hw, w_uvc.shape[:2], stride, dilation)
    n, c = xp.shape[0], xp.shape[3]
    y = np.empty((n, c, *out_hw), dtype=xp.dtype)

    def chunk(rows: slice) -> None:
        # Σ_{u,v} patches[n,i,j,u,v,c]·w[u,v,c], one pass over the chunk's padded input
        y_nhwc = np.einsum("nijuvc,uvc->nijc", patches[rows], w_uvc)
        if b is not None:
            y_nhwc += b
        # (n, OH, OW, C) -> (n, C, OH, OW), while the chunk is in cache
        y[rows] = y_nhwc.transpose(0, 3, 1, 2)

    for_each_chunk(chunk, n, xp.strides[0] + 2 * y[:1].nbytes)  # bytes per sample
    return y


def small_weight_grad(g_nhwc: np.ndarray, xp: np.ndarray, kernel: tuple[int, int],
                      stride: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """dw (KH, KW, C) = Σ_{n,i,j} patches·g, one pass over the patches: one partial sum per
    batch chunk over the threads, added in batch order so that the result does not depend on
    timing."""
    patches = _patches(xp, g_nhwc.shape[1:3], kernel, stride, dilation)
    sums: dict[int, np.ndarray] = {}

    def chunk(rows: slice) -> None:
        sums[rows.start] = np.einsum("nijuvc,nijc->uvc", patches[rows], g_nhwc[rows])

    for_each_chunk(chunk, g_nhwc.shape[0], xp.strides[0] + g_nhwc.strides[0])  # per sample
    return sum_in_batch_order(sums, (*kernel, g_nhwc.shape[3]), g_nhwc.dtype)


def gather_padding(kernel: tuple[int, int], stride: tuple[int, int],
                   padding: tuple[int, int, int, int], dilation: tuple[int, int]
                   ) -> tuple[int, int, int, int] | None:
    """The zero border (top, bottom, left, right) around g that turns dx into a correlation of
    g with the flipped kernel: d·(K − 1) − p on each side. None at stride > 1 (g would have to
    be spread out by the stride, mostly zeros) and where a padding exceeds d·(K − 1)."""
    if stride != (1, 1):
        return None
    (kh, kw), (dh, dw) = kernel, dilation
    top, bottom, left, right = padding
    border = (dh * (kh - 1) - top, dh * (kh - 1) - bottom,
              dw * (kw - 1) - left, dw * (kw - 1) - right)
    return border if min(border) >= 0 else None


def small_input_grad_by_gather(gp: np.ndarray, w_uvc: np.ndarray, in_hw: tuple[int, int],
                               dilation: tuple[int, int]) -> np.ndarray:
    """dx (N, C, H, W) at stride 1, from g padded by `gather_padding` (gp, NHWC). With pt and
    pl the convolution's top and left padding, g is 0 outside its plane, and gp[n, i, j] =
    g[n, i − d·(KH − 1) + pt, j − d·(KW − 1) + pl]:

        dx[n,y,x,c] = Σ_{u,v} g[n, y + pt − u·d, x + pl − v·d, c] · w[u,v,c]
                    = Σ_{u,v} gp[n, y + u·d, x + v·d, c] · w[KH−1−u, KW−1−v, c]

    which is the forward on gp with the kernel flipped: one einsum pass instead of a multiply
    and a strided add per tap.
    """
    return small_forward(gp, w_uvc[::-1, ::-1], None, in_hw, (1, 1), dilation)


def small_input_grad(g_nhwc: np.ndarray, w_uvc: np.ndarray, in_hw: tuple[int, int],
                     padding: tuple[int, int, int, int], stride: tuple[int, int],
                     dilation: tuple[int, int]) -> np.ndarray:
    """dx (N, C, H, W): every tap scatters g·w[u, v] back onto the padded pixels it read,
    then the padding is cropped off. Batch chunks over the threads."""
    n, oh, ow, c = g_nhwc.shape
    (kh, kw), (sh, sw), (dh, dw) = w_uvc.shape[:2], stride, dilation
    top, bottom, left, right = padding
    dxp = np.empty((n, in_hw[0] + top + bottom, in_hw[1] + left + right, c), dtype=g_nhwc.dtype)
    dx = np.empty((n, c, *in_hw), dtype=dxp.dtype)

    def chunk(rows: slice) -> None:
        dxp[rows] = 0
        product = np.empty_like(g_nhwc[rows])
        for u, v in np.ndindex(kh, kw):
            # the padded pixels (i·s + u·d, j·s + v·d) that tap (u, v) read
            read = (rows, slice(u * dh, u * dh + sh * (oh - 1) + 1, sh),
                    slice(v * dw, v * dw + sw * (ow - 1) + 1, sw))
            np.multiply(g_nhwc[rows], w_uvc[u, v], out=product)
            dxp[read] += product
        # (n, Hp, Wp, C) -> (n, C, Hp, Wp), cut to the input pixels inside the padding
        dx[rows] = dxp[rows, top:top + in_hw[0], left:left + in_hw[1]].transpose(0, 3, 1, 2)

    for_each_chunk(chunk, n, dxp.strides[0] + g_nhwc.strides[0] + dx[:1].nbytes)
    return dx
