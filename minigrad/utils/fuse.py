"""`fuse_for_inference(model)`: an eval-only copy of a model with every conv–BatchNorm pair
folded into one convolution (`nn.utils.fuse_conv_bn_eval`), and the activation after it
applied to the convolution's output in place.

The copy keeps the module tree: in each `Sequential` (a `Conv2dNormActivation` is one), a
`Conv2d` followed by a `BatchNorm2d` becomes one `FusedConv2d`, which also takes the ReLU,
ReLU6 or Hardswish that follows, and the layers it replaced become `Identity`, so every
remaining layer keeps its index and its parameter names (`features.0.0.weight`). `print`
shows what was fused (`FusedConv2d(..., folded=BatchNorm2d(16, eps=1e-05),
activation=relu6)`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from minigrad import nn
from minigrad.fast.threads import for_each_chunk
from minigrad.nn import functional as F
from minigrad.nn.fusion import fuse_conv_bn_eval
from minigrad.tensor import Tensor


def _relu_(y: np.ndarray) -> None:
    np.clip(y, 0.0, np.inf, out=y)


def _relu6_(y: np.ndarray) -> None:
    np.clip(y, 0.0, 6.0, out=y)


def _hardswish_(y: np.ndarray) -> None:
    # y · (clip(y, −3, 3) + 3) / 6, with one temporary the size of the chunk
    shifted = np.clip(y, -3.0, 3.0)
    shifted += 3.0
    y *= shifted
    y /= 6.0


# the activations a FusedConv2d takes in: module type -> (name, in place on an array, op)
ACTIVATIONS: dict[type, tuple[str, Callable[[np.ndarray], None], Callable[[Tensor], Tensor]]] = {
    nn.ReLU: ("relu", _relu_, F.relu),
    nn.ReLU6: ("relu6", _relu6_, F.relu6),
    nn.Hardswish: ("hardswish", _hardswish_, F.hardswish),
}
_BY_NAME = {name: (in_place, op) for name, in_place, op in ACTIVATIONS.values()}


class FusedConv2d(nn.Conv2d):
    """A `Conv2d` whose weight and bias fold in the eval-mode BatchNorm that followed it,
    then the activation that followed that, if any; made by `fuse_for_inference`.

    When nothing records a graph (no input requires grad, or under `no_grad`), the
    activation runs in place on the convolution's fresh output, saving one pass that writes
    a new array; otherwise it runs as its own op, so gradients reach the input as usual.
    Eval only: calling it in training mode raises `RuntimeError`.

    Args:
        conv: the convolution with the BatchNorm folded in (`fuse_conv_bn_eval`).
        folded: how the folded BatchNorm is shown in the repr, e.g. "BatchNorm2d(16)".
        activation: "relu", "relu6", "hardswish" or None.

    Shape: as `Conv2d`.
    """

    def __init__(self, conv: nn.Conv2d, folded: str, activation: str | None = None) -> None:
        if activation is not None and activation not in _BY_NAME:
            raise ValueError(f"FusedConv2d: activation must be one of {sorted(_BY_NAME)} or "
                             f"None, got {activation!r}")
        nn.Module.__init__(self)  # Conv2d.__init__ would draw new random weights
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                     "dilation", "groups", "padding_mode"):
            setattr(self, name, getattr(conv, name))
        self.weight, self.bias = conv.weight, conv.bias
        self.folded, self.activation = folded, activation
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            raise RuntimeError("FusedConv2d: this layer has a BatchNorm folded in with its "
                               "running statistics and only runs in eval mode; train the "
                               "original model, then call fuse_for_inference again")
        y = super().forward(x)
        if self.activation is None:
            return y
        in_place, op = _BY_NAME[self.activation]
        if y.requires_grad:
            return op(y)
        sample_bytes = y.data[:1].nbytes
        for_each_chunk(lambda rows: in_place(y.data[rows]), y.shape[0], sample_bytes)
        return y

    def extra_repr(self) -> str:
        text = f"{super().extra_repr()}, folded={self.folded}"
        return text if self.activation is None else f"{text}, activation={self.activation}"


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An eval-only deep copy of `model` with every conv–BatchNorm pair folded.

    In every `Sequential` of the tree, a `Conv2d` directly followed by a `BatchNorm2d` with
    running statistics becomes a `FusedConv2d` (with the ReLU, ReLU6 or Hardswish right after
    them, if any), and the replaced layers `Identity`. The copy's parameters do not require
    grad. Its outputs equal `model`'s eval outputs up to rounding (the fold is computed in
    float64). `model` itself is not changed.

    Raises:
        TypeError: `model` is not a Module.
        RuntimeError: `model`, or any module in it, is in training mode (the folded
            statistics would not be the ones its BatchNorms use); the fused layers also raise
            if the copy is put back in training mode and called.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fuse_for_inference: model must be a Module, got {type(model).__name__}")
    training = [name or "(the model itself)" for name, m in model.named_modules() if m.training]
    if training:
        shown = ", ".join(training[:3]) + (", …" if len(training) > 3 else "")
        raise RuntimeError(f"fuse_for_inference: the model must be in eval mode, but "
                           f"{len(training)} module(s) are in training mode ({shown}); "
                           "call model.eval() first")
    fused = copy.deepcopy(model)
    for module in list(fused.modules()):
        if isinstance(module, nn.Sequential):
            _fuse_sequential(module)
    fused.requires_grad_(False)
    return fused


def _fuse_sequential(layers: nn.Sequential) -> None:
    """Fold each (Conv2d, BatchNorm2d[, activation]) run of `layers` in place."""
    i = 0
    while i + 1 < len(layers):
        conv, norm = layers[i], layers[i + 1]
        if not (isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
                and _foldable(conv, norm)):
            i += 1
            continue
        after = layers[i + 2] if i + 2 < len(layers) else None
        activation = ACTIVATIONS[type(after)][0] if type(after) in ACTIVATIONS else None
        folded = f"{type(norm).__name__}({norm.num_features}, eps={norm.eps})"
        layers[i] = FusedConv2d(fuse_conv_bn_eval(conv, norm), folded, activation)
        layers[i + 1] = nn.Identity()
        if activation is not None:
            layers[i + 2] = nn.Identity()
        i += 2 if activation is None else 3


def _foldable(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> bool:
    # exact types: a subclass may compute something else in its forward
    return (type(conv) is nn.Conv2d and type(norm) is nn.BatchNorm2d
            and norm.running_mean is not None and norm.num_features == conv.out_channels)
