"""`minigrad.onnx.export` (minigrad/onnx/): the four MobileNets and custom nets run in
onnxruntime with minigrad's eval outputs (1e-5 relative, float32) and pass onnx.checker."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
from minigrad import models, nn
from minigrad.autograd import Function
from minigrad.onnx import UnsupportedOpError, export
from minigrad.onnx.converters import CONVERTERS
from tests.strategies import conv_cases

REL_TOL = 1e-5


def _randomise_statistics(model: nn.Module, rng: np.random.Generator) -> None:
    """Running statistics and affine parameters that differ per channel (not 0/1)."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = module.num_features
            module.running_mean.data[...] = rng.standard_normal(c) * 0.1
            module.running_var.data[...] = rng.uniform(0.5, 1.5, c)
            module.weight.data[...] = rng.uniform(0.5, 1.5, c)
            module.bias.data[...] = rng.standard_normal(c) * 0.1


def _run(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _assert_matches(actual: np.ndarray, expected: np.ndarray) -> None:
    """Largest difference ≤ REL_TOL × the largest output."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    error = np.abs(actual - expected).max() / np.abs(expected).max()
    assert error <= REL_TOL, f"relative error {error:.2e}"


def _export_and_compare(model, shape, tmp_path, rng, **options):
    x = rng.standard_normal(shape).astype(np.float32)
    path = tmp_path / "model.onnx"
    export(model, minigrad.tensor(x), path, **options)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    model.eval()
    with minigrad.no_grad():
        expected = model(minigrad.tensor(x)).data
    _assert_matches(_run(path, x), expected)
    return path


MOBILENETS = {
    "v1": lambda: models.mobilenet_v1(num_classes=10, width_mult=0.25, small_input=True),
    "v2": lambda: models.mobilenet_v2(num_classes=10, width_mult=0.35, in_channels=1),
    "v3_small": lambda: models.mobilenet_v3_small(num_classes=10, width_mult=0.5,
                                                  small_input=True),
    "v3_large": lambda: models.mobilenet_v3_large(num_classes=10, width_mult=0.35),
}
SHAPES = {"v1": (2, 3, 32, 32), "v2": (2, 1, 64, 64), "v3_small": (2, 3, 32, 32),
          "v3_large": (2, 3, 64, 64)}


@pytest.mark.parametrize("name", MOBILENETS)
def test_mobilenets_run_in_onnxruntime_as_in_minigrad(name, tmp_path, rng):
    model = MOBILENETS[name]()
    _randomise_statistics(model, rng)
    _export_and_compare(model, SHAPES[name], tmp_path, rng)


def test_a_dynamic_batch_takes_other_batch_sizes(tmp_path, rng):
    model = MOBILENETS["v3_small"]()
    _randomise_statistics(model, rng)
    path = _export_and_compare(model, (2, 3, 32, 32), tmp_path, rng, dynamic_batch=True)
    x = rng.standard_normal((5, 3, 32, 32)).astype(np.float32)
    with minigrad.no_grad():
        expected = model(minigrad.tensor(x)).data
    _assert_matches(_run(path, x), expected)
    dim = onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "batch"


def test_a_custom_sequential_with_every_layer_kind(tmp_path, rng):
    model = nn.Sequential(OrderedDict(
        conv=nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"),
        bn=nn.BatchNorm2d(8),
        relu=nn.ReLU(),
        grouped=nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4, bias=False),
        relu6=nn.ReLU6(),
        maxpool=nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        depthwise=nn.Conv2d(8, 16, 3, padding="same", groups=8, padding_mode="replicate"),
        hardswish=nn.Hardswish(),
        avgpool=nn.AvgPool2d(3, 1, 1, count_include_pad=False),
        sigmoid=nn.Sigmoid(),
        adaptive=nn.AdaptiveAvgPool2d((3, 2)),
        flatten=nn.Flatten(),
        linear=nn.Linear(16 * 6, 12),
        bn1d=nn.BatchNorm1d(12),
        silu=nn.SiLU(),
        dropout=nn.Dropout(0.5),
        tanh=nn.Tanh(),
        head=nn.Linear(12, 5),
        softmax=nn.Softmax(dim=1),
    ))
    _randomise_statistics(model, rng)
    _export_and_compare(model, (3, 3, 20, 20), tmp_path, rng)


class Elementwise(nn.Module):
    """A user's own module: constants, residual sums, concatenation, reductions."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 1)
        self.scale = nn.Parameter(np.linspace(0.5, 2.0, 4, dtype=np.float32).reshape(1, 4, 1, 1))

    def forward(self, x):
        y = self.conv(x) * self.scale + 1.0
        z = minigrad.cat([y.clip(-1.0, 2.0), (y - 0.5).abs().sqrt()], dim=1)  # (N, 8, H, W)
        z = nn.functional.hardsigmoid(z) / 2.0 + minigrad.maximum(z, -z).exp() * 0.1
        pooled = z.mean((2, 3)) - z.sum((2, 3), keepdim=False) * 0.01  # (N, 8)
        return nn.functional.log_softmax(pooled.permute(1, 0).permute(1, 0), dim=1)


def test_a_users_module_of_elementwise_ops(tmp_path, rng):
    _export_and_compare(Elementwise(), (2, 2, 5, 5), tmp_path, rng)


def test_frozen_parameters_export_too(tmp_path, rng):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 9, 2))
    model.requires_grad_(False)
    _export_and_compare(model, (2, 3, 5, 5), tmp_path, rng)


def test_initializers_are_named_as_the_state_dict(tmp_path, rng):
    model = MOBILENETS["v2"]()
    x = minigrad.tensor(rng.standard_normal((1, 1, 32, 32)).astype(np.float32))
    proto = export(model, x, tmp_path / "m.onnx")
    names = {init.name for init in proto.graph.initializer}
    wanted = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert wanted <= names


def test_modes_are_restored(tmp_path, rng):
    model = MOBILENETS["v1"]()
    model.classifier.eval()
    before = [m.training for m in model.modules()]
    x = minigrad.tensor(rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    running = model.features[0][1].running_mean.data.copy()
    export(model, x, tmp_path / "m.onnx")
    assert [m.training for m in model.modules()] == before
    np.testing.assert_array_equal(model.features[0][1].running_mean.data, running)


class Twice(Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return (2 * g,)


class UsesTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def forward(self, x):
        return Twice.apply(self.linear(x))


def test_an_unknown_function_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(UnsupportedOpError, match=r"test_export\.Twice"):
        export(UsesTwice(), minigrad.randn(2, 3), path)
    assert not path.exists()
    assert issubclass(UnsupportedOpError, TypeError)


def test_a_reshape_across_the_batch_cannot_be_dynamic(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Flatten(0, 1))
    with pytest.raises(ValueError, match="batch axis"):
        export(model, minigrad.randn(2, 3), tmp_path / "m.onnx", dynamic_batch=True)
    export(model, minigrad.randn(2, 3), tmp_path / "m.onnx")  # a fixed batch is fine


def test_bad_arguments_raise(tmp_path):
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="minigrad Module"):
        export(lambda x: x, minigrad.randn(1, 3), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="minigrad Tensor"):
        export(model, np.zeros((1, 3), np.float32), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="floating"):
        export(model, minigrad.tensor(np.zeros((1, 3), np.int64)), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="opset"):
        export(model, minigrad.randn(1, 3), tmp_path / "m.onnx", opset=11)


def test_the_registry_maps_the_mobilenet_ops():
    names = {cls.__name__ for cls in CONVERTERS}
    assert {"PointwiseConv2d", "DepthwiseConv2d", "GeneralConv2d", "BatchNormFunction",
            "HardSwishFunction", "HardSigmoidFunction", "GlobalAvgPool2d", "Linear"} <= names


class MoreOps(nn.Module):
    """The remaining converters: stack, expand, where, cast, matmul, pow, neg, log, minimum,
    clone, a 3-D linear, circular padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular")
        self.linear = nn.Linear(4, 3)
        self.mixer = nn.Parameter(np.eye(3, dtype=np.float32)[::-1].copy())

    def forward(self, x):
        x = self.conv(x)  # (N, 2, 4, 4)
        y = self.linear(x.reshape(x.shape[0], 8, 4))  # (N, 8, 3): MatMul + Add
        y = y @ self.mixer
        y = minigrad.stack([y, -y, minigrad.minimum(y, 0.5)], dim=1)  # (N, 3, 8, 3)
        y = minigrad.where(np.arange(3) % 2 == 0, y, y.clone() ** 2)
        y = (y.abs() + 1.0).log() + y.double().float()
        return y + self.linear.bias.reshape(1, 1, 1, 3).expand(y.shape[0], 3, 8, 3)


def test_the_remaining_converters(tmp_path, rng):
    _export_and_compare(MoreOps(), (2, 2, 4, 4), tmp_path, rng, opset=19)


class MaxValues(nn.Module):
    def forward(self, x):
        values, _ = nn.functional.max_pool2d(x, 2, return_indices=True)
        return values


def test_forms_onnx_cannot_express_raise(tmp_path):
    x = minigrad.randn(2, 2, 4, 4)
    with pytest.raises(ValueError, match="opset 19"):
        export(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), x, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="running"):
        export(nn.BatchNorm2d(2, track_running_stats=False), x, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="return_indices"):
        export(MaxValues(), x, tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="one Tensor, got tuple"):
        export(nn.MaxPool2d(2, return_indices=True), x, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@given(case=conv_cases(), padding_mode=st.sampled_from(("zeros", "reflect", "replicate",
                                                        "circular")))
def test_any_conv2d_exports(case, padding_mode, tmp_path_factory):
    (x, weight, *bias), kwargs = case
    layer = nn.Conv2d(x.shape[1], weight.shape[0], weight.shape[2:], bias=bool(bias),
                      padding_mode=padding_mode, **kwargs)
    left, right, top, bottom = layer._pad_widths()
    limit = 1 if padding_mode == "reflect" else 0  # reflect needs each pad below its side
    assume(padding_mode == "zeros" or (max(top, bottom) <= x.shape[2] - limit
                                       and max(left, right) <= x.shape[3] - limit))
    layer.weight.data[...] = weight
    if bias:
        layer.bias.data[...] = bias[0]
    x = x.astype(np.float32)
    path = tmp_path_factory.mktemp("conv") / "conv.onnx"
    export(layer, minigrad.tensor(x), path, opset=19)
    with minigrad.no_grad():
        expected = layer(minigrad.tensor(x)).data
    _assert_matches(_run(path, x), expected)
