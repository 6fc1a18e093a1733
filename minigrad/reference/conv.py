"""Convolution stated for a reader: depthwise, pointwise (1×1) and the general grouped conv.

A kernel tap (u, v) meets, for every output pixel (i, j), the padded input pixel
(i·s + u·d, j·s + v·d): over all output pixels that is one strided view of xp, so every sum
over taps below is a loop over the KH·KW taps of whole-array operations. Backward runs the
same loop with the products swapped; the input gradient is scattered onto a padded array
(`dxp[tap] += ...`) whose border is then cropped off.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # (top, bottom, left, right)


def output_size(in_hw: tuple[int, ...], kernel: tuple[int, ...], stride: Pair,
                padding: Padding, dilation: Pair) -> Pair:
    """(OH, OW) = ⌊(H + pads − d·(K − 1) − 1) / s⌋ + 1 per axis (padding: T, B, L, R)."""
    pads = (padding[0] + padding[1], padding[2] + padding[3])
    oh, ow = ((n + p - d * (k - 1) - 1) // s + 1
              for n, p, k, s, d in zip(in_hw, pads, kernel, stride, dilation))
    return oh, ow


def tap_slices(u: int, v: int, out_hw: tuple[int, ...], stride: Pair,
               dilation: Pair) -> tuple[slice, slice]:
    """Rows and columns of the padded input that tap (u, v) meets, one per output pixel."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (slice(u * dh, u * dh + sh * (oh - 1) + 1, sh),
            slice(v * dw, v * dw + sw * (ow - 1) + 1, sw))


def pad(x: np.ndarray, padding: Padding) -> np.ndarray:
    """x (N, C, H, W) with zeros added above, below, left and right of every plane."""
    top, bottom, left, right = padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def crop(dxp: np.ndarray, padding: Padding, in_hw: tuple[int, ...]) -> np.ndarray:
    """The inverse of `pad`: the input pixels of a padded (N, C, Hp, Wp) array."""
    top, left = padding[0], padding[2]
    return dxp[:, :, top:top + in_hw[0], left:left + in_hw[1]]


class DepthwiseConv2d(Function):
    """y[n,c·m+k,i,j] = b + Σ_{u,v} w[c·m+k,0,u,v]·xp[n,c,i·s+u·d,j·s+v·d] (m = C_out/C_in);
    dw = Σ_{n,i,j} g·tap, dxp[tap] += Σ_k g·w, db = Σ g. docs/derivations.md#depthwise-convolution
    """

    @staticmethod
    def forward(ctx: Context, x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        n, c = x.shape[:2]
        m, (kh, kw) = w.shape[0] // c, w.shape[2:]
        out_hw = output_size(x.shape[2:], (kh, kw), stride, padding, dilation)
        xp = pad(x, padding)
        w5 = w.reshape(c, m, kh, kw)  # (C·m, 1, KH, KW) -> (C, m, KH, KW)
        y = np.zeros((n, c, m, *out_hw), dtype=x.dtype)
        for u, v in np.ndindex(kh, kw):
            at = (..., *tap_slices(u, v, out_hw, stride, dilation))
            tap = xp[at]  # (N, C, OH, OW)
            y += w5[None, :, :, u, v, None, None] * tap[:, :, None]
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation)
        out = y.reshape(n, c * m, *out_hw)  # (N, C, m, OH, OW) -> (N, C·m, OH, OW)
        return out if b is None else out + b[:, None, None]

    @staticmethod
    def backward(ctx: Context, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        (n, c), (kh, kw), out_hw = x.shape[:2], w.shape[2:], g.shape[2:]
        m = w.shape[0] // c
        xp, w5 = pad(x, padding), w.reshape(c, m, kh, kw)  # w: (C·m, 1, KH, KW) -> (C, m, KH, KW)
        g5 = g.reshape(n, c, m, *out_hw)  # (N, C·m, OH, OW) -> (N, C, m, OH, OW)
        dxp, dw5 = np.zeros_like(xp), np.zeros_like(w5)
        for u, v in np.ndindex(kh, kw):
            at = (..., *tap_slices(u, v, out_hw, stride, dilation))
            dw5[:, :, u, v] = np.einsum("ncmij,ncij->cm", g5, xp[at])  # Σ_{n,i,j} g·tap
            dxp[at] += np.einsum("ncmij,cm->ncij", g5, w5[:, :, u, v])  # Σ_k g·w
        dw = dw5.reshape(w.shape)  # (C, m, KH, KW) -> (C·m, 1, KH, KW)
        return crop(dxp, padding, x.shape[2:]), dw, g.sum(axis=(0, 2, 3))


class PointwiseConv2d(Function):
    """y[n] = W·x[n] + b with W = w as (C_out, C_in), x[n] as (C_in, H·W);
    dx[n] = Wᵀ·g[n], dW = Σ_n g[n]·x[n]ᵀ, db = Σ g. docs/derivations.md#pointwise-11-convolution
    """

    @staticmethod
    def forward(ctx: Context, x, w, b):
        n, c_in, h, width = x.shape
        ctx.save_for_backward(x, w)
        x3, w2 = x.reshape(n, c_in, h * width), w[:, :, 0, 0]  # (N, C_in, H·W), (C_out, C_in)
        y = np.matmul(w2, x3).reshape(n, w.shape[0], h, width)  # (N, C_out, H·W) -> NCHW
        return y if b is None else y + b[:, None, None]

    @staticmethod
    def backward(ctx: Context, g):
        x, w = ctx.saved_tensors
        n, c_in, h, width = x.shape
        x3, w2 = x.reshape(n, c_in, h * width), w[:, :, 0, 0]  # (N, C_in, H·W), (C_out, C_in)
        g3 = g.reshape(n, w.shape[0], h * width)  # (N, C_out, H, W) -> (N, C_out, H·W)
        dx = np.matmul(w2.T, g3).reshape(x.shape)
        dw = np.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0)  # Σ_n (C_out, C_in)
        return dx, dw.reshape(w.shape), g.sum(axis=(0, 2, 3))


def split_groups(xp: np.ndarray, w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """xp (N, C_in, Hp, Wp) -> (N, G, Cg, Hp, Wp) and w (C_out, Cg, KH, KW) -> (G, Og, Cg, KH, KW):
    channels are group-major, so group G is a slice of each."""
    n, c_in = xp.shape[:2]
    return (xp.reshape(n, groups, c_in // groups, *xp.shape[2:]),
            w.reshape(groups, w.shape[0] // groups, *w.shape[1:]))


class GeneralConv2d(Function):
    """Per group G: y_G = b + Σ_{u,v} W_G[:,:,u,v]·tap(xp_G), one product per tap (u, v);
    dW_G[:,:,u,v] = Σ_n g_G·tapᵀ, dxp_G[tap] += W_Gᵀ·g_G, db = Σ g.
    See docs/derivations.md#general-convolution."""

    @staticmethod
    def forward(ctx: Context, x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                groups=1):
        n, (c_out, cg, kh, kw) = x.shape[0], w.shape
        out_hw = output_size(x.shape[2:], (kh, kw), stride, padding, dilation)
        pixels = out_hw[0] * out_hw[1]
        xg, wg = split_groups(pad(x, padding), w, groups)
        y = np.zeros((n, groups, c_out // groups, pixels), dtype=x.dtype)
        for u, v in np.ndindex(kh, kw):
            at = (..., *tap_slices(u, v, out_hw, stride, dilation))
            tap = xg[at]  # (N, G, Cg, OH, OW)
            y += np.matmul(wg[..., u, v], tap.reshape(n, groups, cg, pixels))  # (N, G, Og, OH·OW)
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation, groups)
        y = y.reshape(n, c_out, *out_hw)  # (N, G, Og, OH·OW) -> (N, C_out, OH, OW)
        return y if b is None else y + b[:, None, None]

    @staticmethod
    def backward(ctx: Context, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.geometry
        n, (c_out, cg, kh, kw), out_hw = x.shape[0], w.shape, g.shape[2:]
        pixels = out_hw[0] * out_hw[1]
        xg, wg = split_groups(pad(x, padding), w, groups)
        g4 = g.reshape(n, groups, c_out // groups, pixels)  # (N, C_out, OH, OW) -> (N, G, Og, L)
        dxg, dwg = np.zeros_like(xg), np.zeros_like(wg)
        for u, v in np.ndindex(kh, kw):
            at = (..., *tap_slices(u, v, out_hw, stride, dilation))
            tap = xg[at].reshape(n, groups, cg, pixels)  # (N, G, Cg, OH·OW)
            dwg[..., u, v] = np.matmul(g4, tap.transpose(0, 1, 3, 2)).sum(axis=0)
            dxg[at] += np.matmul(wg[..., u, v].transpose(0, 2, 1), g4).reshape(xg[at].shape)
        dxp = dxg.reshape(n, groups * cg, *xg.shape[3:])  # -> (N, C_in, Hp, Wp)
        return crop(dxp, padding, x.shape[2:]), dwg.reshape(w.shape), g.sum(axis=(0, 2, 3))
