"""Fast general 2-D convolution (any groups, stride, padding, dilation) by im2col / col2im.

What it does differently from `minigrad.reference.conv.GeneralConv2d`, and why: instead of
one small matrix product per kernel tap, im2col copies, for every tap, the padded-input pixels
that tap meets into one column buffer, so that each group's convolution is ONE matrix product
over all taps at once (larger products run faster in BLAS); col2im is its adjoint, adding each
tap's columns back onto the pixels they came from.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.reference.conv import output_size, tap_slices


def pad_nchw(x: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    """x zero-padded on H (top, bottom) and W (left, right); x itself when there is no padding."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def im2col(xp: np.ndarray, kernel: tuple[int, int], out_hw: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """cols[n, c, u, v, i, j] = xp[n, c, i·s + u·d, j·s + v·d]; shape (N, C, KH, KW, OH, OW)."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, *kernel, *out_hw), dtype=xp.dtype)
    for u in range(kernel[0]):
        for v in range(kernel[1]):
            rows, columns = tap_slices(u, v, out_hw, stride, dilation)
            cols[:, :, u, v] = xp[:, :, rows, columns]
    return cols


def col2im(dcols: np.ndarray, padded_hw: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int]) -> np.ndarray:
    """The adjoint of im2col: dxp[n, c, i·s + u·d, j·s + v·d] += dcols[n, c, u, v, i, j]."""
    n, c, kh, kw, oh, ow = dcols.shape
    dxp = np.zeros((n, c, *padded_hw), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            rows, columns = tap_slices(u, v, (oh, ow), stride, dilation)
            dxp[:, :, rows, columns] += dcols[:, :, u, v]
    return dxp


class GeneralConv2d(Function):
    """Grouped 2-D convolution through im2col (module docstring): one batched matrix product
    per pass.

    With G groups, Cg = C_in/G input and Og = C_out/G output channels per group, and
    cols = im2col(x zero-padded) seen as (N, G, Cg·KH·KW, OH·OW), Wg = w as (G, Og, Cg·KH·KW):

        forward:  y[n, g] = Wg[g] · cols[n, g] + b            (per group, per sample)
        backward: dW[g]   = Σ_n g[n, g] · cols[n, g]ᵀ
                  dcols   = Wg[g]ᵀ · g[n, g],  dx = col2im(dcols) with the padding cropped
                  db      = Σ_{n,i,j} g[n, o, i, j]

    Saved: cols, w.  See docs/derivations.md#general-convolution.
    """

    @staticmethod
    def forward(ctx: Context, x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                groups=1):
        n, c_in, h, width = x.shape
        c_out, cg, kh, kw = w.shape
        out_hw = output_size((h, width), (kh, kw), stride, padding, dilation)
        xp = pad_nchw(x, padding)
        # (N, C, KH, KW, OH, OW) -> (N, G, Cg*KH*KW, OH*OW): channels are group-major
        cols = im2col(xp, (kh, kw), out_hw, stride, dilation).reshape(
            n, groups, cg * kh * kw, out_hw[0] * out_hw[1])
        # (C_out, Cg, KH, KW) -> (G, Og, Cg*KH*KW)
        wg = w.reshape(groups, c_out // groups, cg * kh * kw)
        y = np.matmul(wg, cols)  # (N, G, Og, OH*OW)
        if b is not None:
            y += b.reshape(groups, c_out // groups, 1)
        ctx.save_for_backward(cols, w)
        ctx.geometry = (x.shape, xp.shape[2:], stride, padding, dilation)
        # (N, G, Og, OH*OW) -> (N, C_out, OH, OW)
        return y.reshape(n, c_out, *out_hw)

    @staticmethod
    def backward(ctx: Context, g):
        cols, w = ctx.saved_tensors
        x_shape, padded_hw, stride, padding, dilation = ctx.geometry
        n, groups = cols.shape[:2]
        c_out = w.shape[0]
        # (N, C_out, OH, OW) -> (N, G, Og, OH*OW)
        g4 = g.reshape(n, groups, c_out // groups, g.shape[2] * g.shape[3])
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            wg = w.reshape(groups, c_out // groups, -1)
            dcols = np.matmul(wg.transpose(0, 2, 1), g4)  # (N, G, Cg*KH*KW, OH*OW)
            # (N, G, Cg*KH*KW, OH*OW) -> (N, C_in, KH, KW, OH, OW)
            dcols = dcols.reshape(n, x_shape[1], *w.shape[2:], *g.shape[2:])
            dxp = col2im(dcols, padded_hw, stride, dilation)
            top, _, left, _ = padding
            dx = dxp[:, :, top:top + x_shape[2], left:left + x_shape[3]]
        if ctx.needs_input_grad[1]:
            # Σ_n (G, Og, OH*OW) · (G, OH*OW, Cg*KH*KW) -> (G, Og, Cg*KH*KW)
            dw = np.matmul(g4, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
        if ctx.needs_input_grad[2]:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db
