"""Upsampling layers as in `torch.nn`: `Upsample` and its two fixed-mode shorthands, thin
modules around `minigrad.ops.interpolate.interpolate`."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.nn.module import Module
from minigrad.ops.interpolate import interpolate
from minigrad.tensor import Tensor


class Upsample(Module):
    """Resize the spatial axes by `scale_factor` or to `size`, as `F.interpolate`.

    Args:
        size: output spatial size (an int or one per axis).
        scale_factor: multiplier of the spatial size (a float or one per axis).
        mode: 'nearest', 'nearest-exact', 'linear', 'bilinear' or 'trilinear'.
        align_corners: linear modes only (default False).
        recompute_scale_factor: as `F.interpolate`.

    Shape: (N, C, *in_spatial) -> (N, C, *out_spatial).
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        self.scale_factor: float | tuple[float, ...] | None = None  # floats, as torch
        if isinstance(scale_factor, Sequence):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        elif scale_factor:
            self.scale_factor = float(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        shown = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                 else f"size={self.size!r}")
        return f"{shown}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """`Upsample(size, scale_factor, mode='nearest')` for (N, C, H, W) input."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """`Upsample(size, scale_factor, mode='bilinear', align_corners=True)` (torch's choice)."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
