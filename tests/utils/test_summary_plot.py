"""`summary(...).plot()`: one bar per convolution or linear layer, coloured by kind."""

from __future__ import annotations

import sys

import matplotlib.colors
import pytest

from minigrad import models, nn
from minigrad.utils import summary
from minigrad.utils.summary import ModelSummary
from minigrad.utils.summary_plot import KIND_COLORS, layer_kind


def bars(axes) -> list[tuple[float, str]]:
    return [(patch.get_height(), matplotlib.colors.to_hex(patch.get_facecolor()))
            for patch in axes.patches]


def test_plot_draws_parameters_and_macs_of_every_layer_coloured_by_kind():
    model = models.mobilenet_v2(num_classes=10, width_mult=0.35, small_input=True)
    result = summary(model, (3, 32, 32))
    modules = dict(model.named_modules())
    kinds = [(row, layer_kind(modules[row.name])) for row in result.rows]
    layers = [(row, kind) for row, kind in kinds if kind is not None]
    params_axes, macs_axes = result.plot().axes
    for axes, key in ((params_axes, "params"), (macs_axes, "macs")):
        assert bars(axes) == [(getattr(row, key), matplotlib.colors.to_hex(KIND_COLORS[kind]))
                              for row, kind in layers]
    # V2: a standard stem, then depthwise and pointwise convolutions, a linear classifier
    assert {kind for _, kind in layers} == {"standard conv", "depthwise conv", "pointwise conv",
                                             "linear"}
    legend = [text.get_text() for text in macs_axes.get_legend().get_texts()]
    depthwise = sum(row.macs for row, kind in layers if kind == "depthwise conv")
    assert legend[0] == (f"depthwise conv: {depthwise:,} "
                         f"({100 * depthwise / result.total_macs:.1f}%)")


def test_layer_kind_tells_depthwise_pointwise_standard_grouped_and_linear():
    assert layer_kind(nn.Conv2d(8, 8, 3, groups=8)) == "depthwise conv"
    assert layer_kind(nn.Conv2d(8, 16, 3, groups=8)) == "depthwise conv"  # multiplier 2
    assert layer_kind(nn.Conv2d(8, 16, 1)) == "pointwise conv"
    assert layer_kind(nn.Conv2d(8, 16, 3)) == "standard conv"
    assert layer_kind(nn.Conv2d(8, 16, 3, groups=2)) == "grouped conv"
    assert layer_kind(nn.Linear(4, 2)) == "linear"
    assert layer_kind(nn.ReLU()) is None


def test_plot_writes_the_image_and_draws_a_log_scale_on_request(tmp_path):
    target = tmp_path / "layers.png"
    figure = summary(models.mobilenet_v3_small(num_classes=10), (3, 32, 32)).plot(target, log=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [axes.get_yscale() for axes in figure.axes] == ["log", "log"]


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    result = summary(nn.Sequential(nn.Conv2d(3, 4, 3)), (3, 8, 8))
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"plot: needs matplotlib: pip install "
                                          r"'minigrad-mobilenet\[plot\]'"):
        result.plot()


def test_plot_of_a_summary_made_by_hand_asks_for_the_model():
    with pytest.raises(ValueError, match="plot: this summary does not know its model"):
        ModelSummary((1, 3, 8, 8)).plot()
