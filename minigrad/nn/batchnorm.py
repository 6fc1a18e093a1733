"""`BatchNorm1d` and `BatchNorm2d`: batch normalisation with running statistics (`F.batch_norm`)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from minigrad.dtypes import DTypeLike
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.conv import factory_dtype, positive_int
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d, which differ only in the input ranks they accept."""

    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: str | None = None, dtype: DTypeLike = None, *, bias: bool = True
                 ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        for option, value in (("eps", eps), ("momentum", 0.1 if momentum is None else momentum)):
            if isinstance(value, bool) or not isinstance(value, Real):
                raise TypeError(f"{name}: {option} must be a number, got {value!r}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = factory_dtype(name, device, dtype)
        self._make_parameters(dtype, bias)
        self._make_buffers(dtype)
        self.reset_parameters()

    def _make_parameters(self, dtype: np.dtype, bias: bool) -> None:
        if self.affine:
            self.weight = Parameter(np.empty(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.affine and bias:
            self.bias = Parameter(np.empty(self.num_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def _make_buffers(self, dtype: np.dtype) -> None:
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Running statistics reset; γ = 1, β = 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        update = self.training and self.track_running_stats
        # momentum=None is torch's cumulative average: the k-th batch has weight 1/k
        if update and self.momentum is None:
            factor = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        else:
            factor = 0.0 if self.momentum is None else self.momentum
        # without running statistics, eval mode normalises with the batch's own, as torch
        use_batch_stats = self.training or self.running_mean is None
        use_running = not self.training or self.track_running_stats
        y = F.batch_norm(x, self.running_mean if use_running else None,
                         self.running_var if use_running else None, self.weight, self.bias,
                         use_batch_stats, factor, self.eps)
        if update:
            # counted after F.batch_norm succeeded, so a rejected input changes nothing
            self.num_batches_tracked.add_(1)
        return y

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got {type(x).__name__}")
        if x.ndim not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{type(self).__name__}: expected {ranks} input, "
                             f"got {x.ndim}D input of shape {x.shape}")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images per channel, as `torch.nn.BatchNorm2d`.

    Training mode normalises with the batch's mean and biased variance over (N, H, W) and
    updates the running statistics: new = (1 − momentum)·old + momentum·batch, with the
    unbiased variance (momentum=None: cumulative average). Eval mode uses the running ones.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: weight of the new batch in the running statistics, or None.
        affine: learn a per-channel scale γ (`weight`, starts at 1) and shift β (`bias`, 0).
        track_running_stats: keep `running_mean`, `running_var` and `num_batches_tracked`
            buffers; without them both modes use batch statistics.
        device: None or 'cpu' (accepted for torch compatibility).
        dtype: of parameters and running statistics (float32 by default).
        bias: keyword only; with `affine`, learn β too (False: scale only), as torch 2.13.

    Shape:
        Input (N, C, H, W), output the same.
    """

    _ranks = (4,)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features, as `torch.nn.BatchNorm1d` (see `BatchNorm2d`).

    Shape:
        Input (N, C) or (N, C, L), output the same.
    """

    _ranks = (2, 3)
