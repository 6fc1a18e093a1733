"""`summary`: MACs and parameters of the MobileNets against the published figures and a
torch-hook count, input shapes with and without batch, and no trace left on the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import models, nn
from minigrad.utils import summary
from tests.models import torch_mobilenet as tm

# published multiply-adds at 224×224 (torchvision's model cards; V1 from its paper)
PUBLISHED_MACS = {"mobilenet_v1": 569e6, "mobilenet_v2": 300.8e6,
                  "mobilenet_v3_small": 56.5e6, "mobilenet_v3_large": 216.6e6}


@pytest.mark.parametrize("name", list(PUBLISHED_MACS))
def test_summary_totals_at_224_match_published_figures(name):
    model = getattr(models, name)()
    result = summary(model, (3, 224, 224))
    assert abs(result.total_macs / PUBLISHED_MACS[name] - 1) < 0.005
    assert result.total_params == result.trainable_params
    assert result.total_params == sum(p.data.size for p in model.parameters())
    assert result.rows[-1].output_shape == (1, 1000)


def torch_rows(twin: torch.nn.Module, x: torch.Tensor) -> list[tuple]:
    """(name, output shape, params, MACs) of every leaf module of a torch model, by hooks."""
    rows = []
    for name, module in twin.named_modules():
        if list(module.children()):
            continue

        def hook(m, _inputs, out, name=name):
            macs = out.numel() * m.weight[0].numel() if isinstance(
                m, (torch.nn.Conv2d, torch.nn.Linear)) else 0
            rows.append((name, tuple(out.shape), sum(p.numel() for p in m.parameters()), macs))

        module.register_forward_hook(hook)
    with torch.no_grad():
        twin.eval()(x)
    return rows


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_summary_rows_match_torch_hooks(name):
    kwargs = {"num_classes": 10, "width_mult": 0.5, "small_input": True}
    rows = summary(getattr(models, name)(**kwargs), (2, 3, 32, 32)).rows
    expected = torch_rows(getattr(tm, name)(**kwargs), torch.zeros(2, 3, 32, 32))
    assert [(r.name, r.output_shape, r.params, r.macs) for r in rows] == expected


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(8 * 4 * 4, 5))


def test_summary_counts_conv_and_linear_macs():
    result = summary(small_model(), (3, 8, 8))
    macs = [r.macs for r in result.rows]
    assert macs == [8 * 4 * 4 * 3 * 9, 0, 0, 8 * 4 * 4 * 9, 0, 0, 5 * 128]
    assert [r.type for r in result.rows] == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d",
                                             "Flatten", "Dropout", "Linear"]
    assert result.total_params == 224 + 16 + 72 + 645
    assert result.activation_bytes == 4 * (128 * 6 + 5)  # float32 outputs


def test_summary_accepts_shape_with_or_without_batch():
    model = small_model()
    one, batched = summary(model, (3, 8, 8)), summary(model, (1, 3, 8, 8))
    assert one.rows == batched.rows and one.total_macs == batched.total_macs
    assert summary(model, (4, 3, 8, 8)).total_macs == 4 * one.total_macs


def test_summary_leaves_model_untouched():
    model = small_model()
    model.train()
    model[5].eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    summary(model, (3, 8, 8))
    assert [m.training for m in model.modules()] == [True] * 6 + [False, True]
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_summary_counts_frozen_parameters_as_non_trainable():
    model = small_model()
    model[0].requires_grad_(False)
    result = summary(model, (3, 8, 8))
    assert result.total_params - result.trainable_params == 224


def test_summary_table_lists_layers_and_totals():
    text = str(summary(small_model(), (3, 8, 8)))
    assert "Output shape" in text and "[1, 8, 4, 4]" in text
    assert "Total params: 957" in text and "Total MACs: 5,248" in text
    assert text.count("Conv2d") == 2


def test_summary_restores_forward_after_a_failing_forward():
    model = small_model()
    with pytest.raises(ValueError, match="conv2d"):
        summary(model, (4, 8, 8))
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize("shape, error", [((), ValueError), ((1, 1, 3, 8, 8), ValueError),
                                          ((3, 0, 8), ValueError), ((3, 8.0, 8), TypeError)])
def test_summary_rejects_bad_input_shapes(shape, error):
    with pytest.raises(error, match="^summary: "):
        summary(small_model(), shape)


def test_summary_rejects_non_modules():
    with pytest.raises(TypeError, match="^summary: "):
        summary(minigrad.zeros(3), (3, 8, 8))


def test_summary_feeds_the_models_dtype():
    model = small_model().double()
    result = summary(model, (3, 8, 8))
    assert result.activation_bytes == 8 * (128 * 6 + 5)  # float64 outputs
    assert summary(nn.Sequential(nn.ReLU()), (3, 2, 2)).activation_bytes == 4 * 12


def torch_calls(twin: torch.nn.Module, x: torch.Tensor) -> list[tuple]:
    """(name, output shape, subtree params) of every module call of a torch model, in the
    order the calls start (pre-hooks), shapes filled in by forward hooks."""
    calls, by_module = [], {}
    for name, module in twin.named_modules():
        def pre(m, _inputs, name=name):
            by_module.setdefault(id(m), []).append(len(calls))
            calls.append([name, None, sum(p.numel() for p in m.parameters())])

        def post(m, _inputs, out):
            calls[by_module[id(m)].pop()][1] = tuple(out.shape)

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)
    with torch.no_grad():
        twin.eval()(x)
    return [tuple(c) for c in calls]


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_summary_calls_of_blocks_and_layers_match_torch_hooks(name):
    kwargs = {"num_classes": 10, "width_mult": 0.5, "small_input": True}
    result = summary(getattr(models, name)(**kwargs), (2, 3, 32, 32))
    expected = torch_calls(getattr(tm, name)(**kwargs), torch.zeros(2, 3, 32, 32))
    assert [(r.name, r.output_shape, r.params) for r in result.calls] == expected


def test_summary_block_macs_are_the_sum_of_their_layers():
    result = summary(models.mobilenet_v2(num_classes=10, width_mult=0.5, small_input=True),
                     (3, 32, 32))
    for block in result.calls:
        inside = [r.macs for r in result.rows
                  if block.name == "" or r.name.startswith(block.name + ".")]
        assert block.macs == (sum(inside) if not block.is_leaf else block.macs)
    assert result.calls[0].macs == result.total_macs


@pytest.mark.parametrize("depth, names", [
    (0, [""]), (1, ["", "features", "classifier"]),
    (2, ["", "features"] + [f"features.{i}" for i in range(19)]
     + ["classifier", "classifier.0", "classifier.1"]),
])
def test_summary_depth_folds_deeper_modules_into_their_blocks(depth, names):
    model = models.mobilenet_v2(num_classes=10, width_mult=0.5, small_input=True)
    result = summary(model, (3, 32, 32), depth=depth)
    assert [r.name for r in result.shown_rows] == names
    table = str(result)
    assert ("features.0 (Conv2dNormActivation)" in table) == (depth >= 2)
    # the per-layer rows do not depend on the depth: one per leaf layer
    assert len(result.rows) == sum(1 for m in model.modules() if not list(m.children()))


def test_summary_takes_non_image_inputs():
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    one, batched = summary(mlp, (4,)), summary(mlp, (5, 4))
    assert one.input_shape == (1, 4) and batched.input_shape == (5, 4)
    assert [r.output_shape for r in one.rows] == [(1, 8), (1, 8), (1, 3)]
    assert one.total_macs == 4 * 8 + 8 * 3 and batched.total_macs == 5 * one.total_macs


def test_summary_reports_sizes_in_megabytes():
    model = small_model()
    result = summary(model, (3, 8, 8))
    assert result.param_bytes == 4 * 957 and result.input_bytes == 4 * 3 * 8 * 8
    text = str(result)
    assert f"Params size (MB): {4 * 957 / 1e6:.2f}" in text
    assert f"Activations size (MB): {result.activation_bytes / 1e6:.2f}" in text
    total = result.param_bytes + result.activation_bytes + result.input_bytes
    assert f"Estimated total size (MB): {total / 1e6:.2f}" in text


def test_summary_leaves_no_hook_behind():
    model = small_model()
    summary(model, (3, 8, 8))
    assert not any(m._has_hooks() for m in model.modules())


@pytest.mark.parametrize("depth", [-1, 1.5, True])
def test_summary_rejects_a_bad_depth(depth):
    with pytest.raises(ValueError, match="^summary: depth must be a non-negative int"):
        summary(small_model(), (3, 8, 8), depth=depth)


def test_summary_keeps_the_users_own_hooks():
    model = small_model()
    seen = []
    model[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    summary(model, (3, 8, 8))
    assert seen == [(1, 8, 4, 4)] and model[0]._has_hooks()
    model(minigrad.zeros(1, 3, 8, 8))
    assert len(seen) == 2
