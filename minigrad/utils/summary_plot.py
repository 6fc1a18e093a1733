"""`summary(...).plot()`: parameters and multiply-adds per layer as two bar charts.

Each convolution and linear layer is one bar, in forward order, coloured by kind, so that a
MobileNet shows where its weights and its work are: the depthwise layers' bars are hardly
visible beside the pointwise ones. Needs matplotlib (the `plot` extra), imported here only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from minigrad import nn

if TYPE_CHECKING:
    from minigrad.utils.summary import ModelSummary

KIND_COLORS = {
    "depthwise conv": "tab:orange",
    "pointwise conv": "tab:blue",
    "standard conv": "tab:green",
    "grouped conv": "tab:olive",
    "linear": "tab:purple",
}


def layer_kind(module: nn.Module) -> str | None:
    """"depthwise conv", "pointwise conv", "standard conv", "grouped conv", "linear" or None."""
    if isinstance(module, nn.Linear):
        return "linear"
    if not isinstance(module, nn.Conv2d):
        return None
    if module.groups > 1 and module.groups == module.in_channels:
        return "depthwise conv"
    if module.groups > 1:
        return "grouped conv"
    return "pointwise conv" if tuple(module.kernel_size) == (1, 1) else "standard conv"


def plot_summary(summary: ModelSummary, path: str | os.PathLike[str] | None = None,
                 log: bool = False) -> Any:
    """Draw `summary`'s layers; returns the matplotlib `Figure` (saved to `path` if given).

    Args:
        summary: what `minigrad.utils.summary(model, input_shape)` returned.
        path: an image file to write (PNG, SVG, PDF: by its suffix).
        log: a logarithmic y axis, to see the small layers too.

    The legend gives each kind's share of the parameters and multiply-adds.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as missing:
        raise ImportError("plot: needs matplotlib: pip install 'minigrad-mobilenet[plot]'"
                          ) from missing
    rows = _kinded_rows(summary)
    figure = Figure(figsize=(11, 6), layout="constrained")
    params_axes, macs_axes = figure.subplots(2, 1, sharex=True)
    for axes, key, label in ((params_axes, "params", "parameters"),
                             (macs_axes, "macs", "multiply-adds")):
        _draw(axes, rows, key, label, log)
    macs_axes.set_xlabel("layer (convolutions and linear layers, in forward order)")
    figure.suptitle(f"{type(summary.model).__name__}, input {list(summary.input_shape)}: "
                    f"{summary.total_params:,} parameters, {summary.total_macs / 1e6:.1f}M MACs")
    if path is not None:
        figure.savefig(path, dpi=110)
    return figure


def _kinded_rows(summary: ModelSummary) -> list[tuple[Any, str]]:
    if summary.model is None:
        raise ValueError("plot: this summary does not know its model; make it with "
                         "minigrad.utils.summary(model, input_shape)")
    modules = dict(summary.model.named_modules())
    rows = [(row, layer_kind(modules[row.name])) for row in summary.rows if row.name in modules]
    return [(row, kind) for row, kind in rows if kind is not None]


def _draw(axes: Any, rows: list[tuple[Any, str]], key: str, label: str, log: bool) -> None:
    from matplotlib.patches import Patch

    values = [getattr(row, key) for row, _ in rows]
    total = sum(values) or 1
    axes.bar(range(len(rows)), values, width=0.8,
             color=[KIND_COLORS[kind] for _, kind in rows])
    handles = []
    for kind, color in KIND_COLORS.items():
        if any(k == kind for _, k in rows):
            share = sum(v for v, (_, k) in zip(values, rows) if k == kind)
            handles.append(Patch(color=color,
                                 label=f"{kind}: {share:,} ({100 * share / total:.1f}%)"))
    axes.set_ylabel(label)
    axes.set_yscale("log" if log else "linear")
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
