"""Depthwise forward on tiny input planes (at most 8×8 pixels) as one small matrix per channel.

On a tiny plane a depthwise convolution of channel c is a linear map from its H·W input pixels
to its OH·OW outputs: y[n, c] = x[n, c] · M[c], with

    M[c, y·W + x, i·OW + j] = w[c, u, v]   where (y, x) = (i·s + u·d − pt, j·s + v·d − pl)

and 0 where no tap links the two pixels (padding needs no zeros: a tap that reads padding
has no row in M). The C products (N, H·W)·(H·W, OH·OW) are one stacked `matmul` on x as it
lies (NCHW), so the NCHW↔NHWC copies and the padding of the channels-last kernel go away.
M does more multiply-adds than the taps (H·W per output instead of KH·KW), but as BLAS
products on planes this small it is the faster way (benchmarks/README.md, "Depthwise eval").

Backward is two more such products per channel. dx[n, c] = g[n, c] · M[c]ᵀ. For dw, the
(H·W, OH·OW) matrix P[c] = Σ_n x[n, c]ᵀ · g[n, c] holds, at each pixel pair, the sum over
the batch of input times output gradient; dw[c, k] is the sum of P[c] over the pairs that tap
k links.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from minigrad.fast.threads import for_each_chunk, for_each_part
from minigrad.reference.conv import output_size

# inputs of at most this many pixels per plane take the matrix forward; at 16×16 the
# channels-last taps are faster (benchmarks/README.md, "Depthwise eval")
MAX_MATRIX_PLANE = 64


def uses_matrix(in_hw: tuple[int, int]) -> bool:
    return in_hw[0] * in_hw[1] <= MAX_MATRIX_PLANE


@lru_cache(maxsize=64)
def tap_of_pixel_pair(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                      padding: tuple[int, int, int, int], dilation: tuple[int, int]
                      ) -> np.ndarray:
    """(H·W, OH·OW) array: the tap k = u·KW + v that links input pixel p to output pixel q,
    or KH·KW where none does (read-only; cached per geometry)."""
    (h, w), (kh, kw) = in_hw, kernel
    oh, ow = output_size(in_hw, kernel, stride, padding, dilation)
    taps = np.full((h * w, oh * ow), kh * kw, dtype=np.intp)
    i, j = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    for u, v in np.ndindex(kh, kw):
        row = i * stride[0] + u * dilation[0] - padding[0]
        col = j * stride[1] + v * dilation[1] - padding[2]
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        taps[(row * w + col)[inside], (i * ow + j)[inside]] = u * kw + v
    taps.flags.writeable = False
    return taps


def matrix_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple[int, int],
                   padding: tuple[int, int, int, int], dilation: tuple[int, int]) -> np.ndarray:
    """y (N, C, OH, OW) from x (N, C, H, W) and w (C, 1, KH, KW), C = w's channels (x's
    channels already repeated for a channel multiplier > 1); channel runs over the threads."""
    n, c, h, width = x.shape
    kh, kw = w.shape[2:]
    out_hw = output_size((h, width), (kh, kw), stride, padding, dilation)
    taps = tap_of_pixel_pair((h, width), (kh, kw), stride, padding, dilation)
    # (C, 1, KH, KW) -> (C, KH*KW + 1): the last column is the 0 of "no tap"
    w_ext = np.zeros((c, kh * kw + 1), dtype=x.dtype)
    w_ext[:, :-1] = w.reshape(c, kh * kw)
    y = np.empty((n, c, out_hw[0] * out_hw[1]), dtype=x.dtype)
    x_c = x.reshape(n, c, h * width).transpose(1, 0, 2)  # (N, C, H*W) -> (C, N, H*W), a view
    y_c = y.transpose(1, 0, 2)  # (N, C, OH*OW) -> (C, N, OH*OW), a view

    def part(chans: slice) -> None:
        m = w_ext[chans][:, taps]  # (c, H*W, OH*OW)
        y_c[chans] = np.matmul(x_c[chans], m)
        if b is not None:
            y_c[chans] += b[chans, None, None]

    for_each_part(part, c, x.nbytes + y.nbytes)
    return y.reshape(n, c, *out_hw)


def matrix_backward(x: np.ndarray, g: np.ndarray, w_uvc: np.ndarray, stride: tuple[int, int],
                    padding: tuple[int, int, int, int], dilation: tuple[int, int],
                    want_dx: bool, want_dw: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dx (N, C, H, W), dw (KH, KW, C)) of `matrix_forward` from g (N, C, OH, OW) and the
    weights as (KH, KW, C), None where not wanted; channel runs over the threads (module
    docstring)."""
    n, c, h, width = x.shape
    kh, kw = w_uvc.shape[:2]
    geometry = ((h, width), (kh, kw), stride, padding, dilation)
    taps = tap_of_pixel_pair(*geometry)
    w_ext = np.zeros((c, kh * kw + 1), dtype=x.dtype)  # the last column: "no tap"
    w_ext[:, :-1] = w_uvc.reshape(kh * kw, c).T
    # (N, C, P) -> (C, N, P) views, P the pixels of a plane
    x_c = x.reshape(n, c, h * width).transpose(1, 0, 2)
    g_c = g.reshape(n, c, taps.shape[1]).transpose(1, 0, 2)
    dx = np.empty((n, c, h * width), dtype=g.dtype) if want_dx else None
    dw = np.empty((kh * kw, c), dtype=g.dtype) if want_dw else None

    def part(chans: slice) -> None:
        if dx is not None:
            m = w_ext[chans][:, taps]  # (c, H*W, OH*OW)
            dx.transpose(1, 0, 2)[chans] = np.matmul(g_c[chans], m.transpose(0, 2, 1))
        if dw is not None:
            # (c, H*W, N) · (c, N, OH*OW) -> (c, H*W, OH*OW), then summed over each tap's pairs
            pairs = np.matmul(x_c[chans].transpose(0, 2, 1), g_c[chans])
            pairs = pairs.reshape(pairs.shape[0], -1)
            for k, linked in enumerate(pairs_of_taps(*geometry)):
                dw[k, chans] = pairs[:, linked].sum(axis=1)

    # chunks of channels that do not depend on the threads, so that neither do the sums over
    # each tap's pairs (NumPy adds up a row differently depending on how many rows it gets)
    passes = want_dx + want_dw
    for_each_chunk(part, c, passes * (x[:, 0].nbytes + g[:, 0].nbytes) + taps.size * g.itemsize)
    dx_nchw = None if dx is None else dx.reshape(x.shape)
    dw_uvc = None if dw is None else dw.reshape(kh, kw, c)  # (KH*KW, C) -> (KH, KW, C)
    return dx_nchw, dw_uvc


@lru_cache(maxsize=64)
def pairs_of_taps(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int, int, int], dilation: tuple[int, int]
                  ) -> tuple[np.ndarray, ...]:
    """For each tap k, the flat indices (into the flattened `tap_of_pixel_pair`) of the pixel
    pairs it links (read-only; cached per geometry)."""
    taps = tap_of_pixel_pair(in_hw, kernel, stride, padding, dilation).reshape(-1)
    linked = tuple(np.flatnonzero(taps == k) for k in range(kernel[0] * kernel[1]))
    for indices in linked:
        indices.flags.writeable = False
    return linked
