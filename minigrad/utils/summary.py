"""`summary(model, input_shape)`: per-layer output shapes, parameters and multiply-adds."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad import nn
from minigrad.autograd import no_grad
from minigrad.tensor import Tensor

_MISSING = object()


@dataclass
class LayerRow:
    """One leaf layer of a summary: its dotted name, class, output shape, parameters and MACs."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


@dataclass
class ModelSummary:
    """What `summary` returns; `str()` of it is the table with the totals below it.

    `total_macs` and `activation_bytes` are for the whole input batch; `activation_bytes` is
    the memory of every leaf layer's output in one forward (what training keeps for backward,
    roughly).
    """

    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    activation_bytes: int = 0
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    def plot(self, path: str | os.PathLike[str] | None = None, log: bool = False) -> Any:
        """Parameters and multiply-adds per layer as bar charts, depthwise against pointwise;
        returns the matplotlib Figure. Needs matplotlib (the `plot` extra); see
        `minigrad.utils.summary_plot.plot_summary`."""
        from minigrad.utils.summary_plot import plot_summary

        return plot_summary(self, path, log)

    def __str__(self) -> str:
        headers = ("Layer", "Type", "Output shape", "Params", "MACs")
        cells = [(r.name, r.type, str(list(r.output_shape)), f"{r.params:,}", f"{r.macs:,}")
                 for r in self.rows]
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines = [rule, _format_row(headers, widths), rule]
        lines += [_format_row(c, widths) for c in cells]
        lines += [rule, f"Input shape: {list(self.input_shape)}",
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                  f"Total MACs: {self.total_macs:,} ({self.total_macs / 1e6:.1f}M)",
                  f"Activation memory: {self.activation_bytes / 2**20:.2f} MiB", rule]
        return "\n".join(lines)


def _format_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    left = [c.ljust(w) for c, w in zip(cells[:3], widths[:3])]
    right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:])]
    return "  ".join(left + right)


def layer_macs(module: nn.Module, output: Tensor) -> int:
    """Multiply-adds of one layer producing `output`: convolutions and linear layers only.

    Conv2d: `N·C_out·H_out·W_out · C_in/groups·KH·KW`; Linear: `N·out_features · in_features`.
    Bias adds, BatchNorm, activations, pooling, the SE rescale and residual adds are not counted
    (they are linear in the activations, not in the weights): the convention of the MobileNet
    papers and torchvision's published figures, so V2 at 224×224 counts 299.5M conv + 1.3M
    linear = 300.8M.
    """
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        # weight (C_out, C_in/groups, KH, KW) or (out, in): each output element costs the
        # product of the weight's trailing dimensions
        return int(output.data.size * np.prod(module.weight.shape[1:]))
    return 0


def _full_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise TypeError(f"summary: input_shape must be a tuple of ints, got {input_shape!r}")
    if len(shape) not in (3, 4) or min(shape) < 1:
        raise ValueError("summary: input_shape must be (C, H, W) or (N, C, H, W) with positive "
                         f"sizes, got {input_shape!r}")
    return shape if len(shape) == 4 else (1, *shape)


def summary(model: nn.Module, input_shape: Sequence[int], dtype: Any = None) -> ModelSummary:
    """Run one forward of zeros through `model` and tabulate every leaf layer.

    Args:
        model: any `Module`.
        input_shape: `(C, H, W)` (a batch of one is added) or `(N, C, H, W)`.
        dtype: of the zeros fed in; by default the dtype of the model's first parameter
            (float32 for a model without parameters).

    MACs are those of `layer_macs`: convolutions and linear layers only, for the whole batch.
    At 224×224 this gives V1 568.7M, V2 300.8M, V3-small 56.5M, V3-large 216.6M; counting
    convolutions alone would give 2.9% less for V3-small, whose classifier holds 1.6M of them.

    The forward runs under `no_grad` in eval mode (so BatchNorm statistics are not touched);
    each module's mode is restored afterwards and no hook or wrapper is left behind.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: model must be a Module, got {type(model).__name__}")
    shape = _full_shape(input_shape)
    result = ModelSummary(shape, model=model)
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    modes = [(m, m.training) for m in model.modules()]
    # a module may already shadow `forward` on its instance: put back exactly what was there
    shadowed = [(m, m.__dict__.get("forward", _MISSING)) for _, m in leaves]
    try:
        for name, module in leaves:
            _record_calls(module, name, result)
        model.eval()
        with no_grad():
            model(Tensor(np.zeros(shape, dtype=_input_dtype(model, dtype))))
    finally:
        for module, previous in shadowed:
            _restore_forward(module, previous)
        for module, training in modes:
            module.training = training
    _add_totals(model, result)
    return result


def _input_dtype(model: nn.Module, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    first = next(model.parameters(), None)
    return first.dtype if first is not None else np.dtype(np.float32)


def _restore_forward(module: nn.Module, previous: Any) -> None:
    if previous is _MISSING:
        module.__dict__.pop("forward", None)
    else:
        module.__dict__["forward"] = previous


def _record_calls(module: nn.Module, name: str, result: ModelSummary) -> None:
    """Shadow the module's `forward` with an instance attribute that also records a row."""
    forward = module.forward

    def recording_forward(*args: Any, **kwargs: Any) -> Any:
        out = forward(*args, **kwargs)
        params = sum(p.data.size for p in module.parameters())
        result.rows.append(LayerRow(name, type(module).__name__, tuple(out.shape), params,
                                    layer_macs(module, out)))
        result.activation_bytes += out.data.nbytes
        return out

    module.__dict__["forward"] = recording_forward


def _add_totals(model: nn.Module, result: ModelSummary) -> None:
    params = {id(p): p for p in model.parameters()}.values()
    result.total_params = int(sum(p.data.size for p in params))
    result.trainable_params = int(sum(p.data.size for p in params if p.requires_grad))
    result.total_macs = sum(r.macs for r in result.rows)
