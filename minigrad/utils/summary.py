"""`summary(model, input_shape)`: a nested table of the model's blocks and layers with output
shapes, parameters and multiply-adds, and the memory of parameters and activations (like
torchinfo's)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad import nn
from minigrad.autograd import no_grad
from minigrad.tensor import Tensor


@dataclass
class LayerRow:
    """One module call: its dotted name ('' for the model), class, output shape, parameters
    (its own and its sub-modules') and MACs (its sub-modules' for a block), and its depth in
    the module tree (0 for the model, 1 for its children, ...)."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    depth: int = 0
    is_leaf: bool = True


@dataclass
class ModelSummary:
    """What `summary` returns; `str()` of it is the table, down to `depth`, with the totals.

    `rows` holds every leaf layer call (the per-layer view, whatever the depth), `calls` every
    module call including blocks and the model, in call order. `total_macs` and the byte counts
    are for the whole input batch; `activation_bytes` is the memory of every leaf layer's
    output in one forward (roughly what training keeps for backward), `param_bytes` that of
    the parameters, `input_bytes` that of the input.
    """

    input_shape: tuple[int, ...]
    depth: int = 3
    rows: list[LayerRow] = field(default_factory=list)
    calls: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    activation_bytes: int = 0
    param_bytes: int = 0
    input_bytes: int = 0
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def shown_rows(self) -> list[LayerRow]:
        """The calls down to `depth` (deeper ones are folded into their block's row)."""
        return [r for r in self.calls if r.depth <= self.depth]

    def plot(self, path: str | os.PathLike[str] | None = None, log: bool = False) -> Any:
        """Parameters and multiply-adds per layer as bar charts, depthwise against pointwise;
        returns the matplotlib Figure. Needs matplotlib (the `plot` extra); see
        `minigrad.utils.summary_plot.plot_summary`."""
        from minigrad.utils.summary_plot import plot_summary

        return plot_summary(self, path, log)

    def __str__(self) -> str:
        headers = ("Layer (type)", "Output shape", "Params", "MACs")
        cells = [(_label(r), str(list(r.output_shape)), f"{r.params:,}", f"{r.macs:,}")
                 for r in self.shown_rows]
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines = [rule, _format_row(headers, widths), rule]
        lines += [_format_row(c, widths) for c in cells]
        mb = 1e6  # torchinfo's MB
        lines += [rule, f"Input shape: {list(self.input_shape)}",
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                  f"Total MACs: {self.total_macs:,} ({self.total_macs / 1e6:.1f}M)",
                  rule,
                  f"Input size (MB): {self.input_bytes / mb:.2f}",
                  f"Activations size (MB): {self.activation_bytes / mb:.2f}",
                  f"Params size (MB): {self.param_bytes / mb:.2f}",
                  f"Estimated total size (MB): "
                  f"{(self.input_bytes + self.activation_bytes + self.param_bytes) / mb:.2f}",
                  rule]
        return "\n".join(lines)


def _label(row: LayerRow) -> str:
    if row.depth == 0:
        return row.type
    return "  " * (row.depth - 1) + f"{row.name} ({row.type})"


def _format_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    left = [c.ljust(w) for c, w in zip(cells[:2], widths[:2])]
    right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:])]
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
    """(F,) and (C, H, W) get a batch of one; (N, F) and (N, C, H, W) are used as given."""
    shape = tuple(input_shape)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise TypeError(f"summary: input_shape must be a tuple of ints, got {input_shape!r}")
    if len(shape) not in (1, 2, 3, 4) or min(shape) < 1:
        raise ValueError("summary: input_shape must be (F,), (N, F), (C, H, W) or (N, C, H, W) "
                         f"with positive sizes, got {input_shape!r}")
    return shape if len(shape) in (2, 4) else (1, *shape)


def _record_one_forward(model: nn.Module, x: Tensor, recorder: _Recorder) -> None:
    """One eval-mode, no-grad forward of x with every module's calls recorded by hooks; each
    module's mode is restored and every hook removed afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    handles: list[Any] = []
    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(recorder.enter(name)))
            handles.append(module.register_forward_hook(recorder.leave))
        model.eval()
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training


def summary(model: nn.Module, input_shape: Sequence[int], dtype: Any = None,
            depth: int = 3) -> ModelSummary:
    """Run one forward of zeros through `model` and tabulate its blocks and layers.

    Args:
        model: any `Module`.
        input_shape: `(C, H, W)` or `(F,)` (a batch of one is added), or `(N, C, H, W)` or
            `(N, F)`.
        dtype: of the zeros fed in; by default the dtype of the model's first parameter
            (float32 for a model without parameters).
        depth: how deep the table goes: 1 shows the model's top-level blocks only, deeper
            modules are folded into their block's row (torchinfo's default is 3).

    MACs are those of `layer_macs`: convolutions and linear layers only, for the whole batch.
    At 224×224 this gives V1 568.7M, V2 300.8M, V3-small 56.5M, V3-large 216.6M; counting
    convolutions alone would give 2.9% less for V3-small, whose classifier holds 1.6M of them.

    The forward runs under `no_grad` in eval mode (so BatchNorm statistics are not touched),
    recorded by forward hooks; each module's mode is restored and every hook removed afterwards.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: model must be a Module, got {type(model).__name__}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"summary: depth must be a non-negative int, got {depth!r}")
    shape = _full_shape(input_shape)
    x = Tensor(np.zeros(shape, dtype=_input_dtype(model, dtype)))
    result = ModelSummary(shape, depth=int(depth), input_bytes=x.data.nbytes, model=model)
    _record_one_forward(model, x, _Recorder(result))
    _add_totals(model, result)
    return result


def _input_dtype(model: nn.Module, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    first = next(model.parameters(), None)
    return first.dtype if first is not None else np.dtype(np.float32)


class _Recorder:
    """Forward pre-hooks open a row (in call order), forward hooks complete it; a block's MACs
    are the sum of the calls made inside it."""

    def __init__(self, result: ModelSummary) -> None:
        self.result = result
        self.open: list[LayerRow] = []

    def enter(self, name: str) -> Any:
        def pre_hook(module: nn.Module, args: tuple) -> None:
            is_leaf = not any(True for _ in module.children())
            params = sum(p.data.size for p in module.parameters())
            row = LayerRow(name, type(module).__name__, (), params, 0,
                           name.count(".") + 1 if name else 0, is_leaf)
            self.result.calls.append(row)
            if is_leaf:
                self.result.rows.append(row)
            self.open.append(row)

        return pre_hook

    def leave(self, module: nn.Module, args: tuple, out: Any) -> None:
        row = self.open.pop()
        row.output_shape = tuple(out.shape) if isinstance(out, Tensor) else ()
        if row.is_leaf and isinstance(out, Tensor):
            row.macs = layer_macs(module, out)
            self.result.activation_bytes += out.data.nbytes
        if self.open:
            self.open[-1].macs += row.macs


def _add_totals(model: nn.Module, result: ModelSummary) -> None:
    params = {id(p): p for p in model.parameters()}.values()
    result.total_params = int(sum(p.data.size for p in params))
    result.trainable_params = int(sum(p.data.size for p in params if p.requires_grad))
    result.param_bytes = int(sum(p.data.nbytes for p in params))
    result.total_macs = sum(r.macs for r in result.rows)
