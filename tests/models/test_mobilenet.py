"""The four MobileNets against their torch twins (torchvision's layout): state-dict keys and
shapes, exact parameter counts, outputs in train and eval mode, every parameter gradient and
the running statistics after a training step; builder arguments; init."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import models
from tests.helpers import assert_close
from tests.models import torch_mobilenet as tm

BUILDERS = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]
PARAMS = {"mobilenet_v1": 4_231_976, "mobilenet_v2": 3_504_872,
          "mobilenet_v3_small": 2_542_856, "mobilenet_v3_large": 5_483_032}
ATOL, RTOL = 1e-8, 1e-6


def build_pair(name: str, **kwargs):
    """The minigrad model and its torch twin, sharing the twin's weights, in float64."""
    torch.manual_seed(0)
    twin = getattr(tm, name)(**kwargs).double()
    model = getattr(models, name)(**kwargs)
    model.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    return model.double(), twin


@pytest.mark.parametrize("name", BUILDERS)
def test_state_dict_layout_and_parameter_count_match_torchvision(name):
    model, twin = getattr(models, name)(), getattr(tm, name)()
    mine = {k: v.shape for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    assert list(mine) == list(theirs)
    assert mine == theirs
    assert sum(p.data.size for p in model.parameters()) == PARAMS[name]


def test_v2_and_v3_keys_are_torchvisions():
    v2 = models.mobilenet_v2().state_dict()
    assert v2["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert v2["features.2.conv.2.weight"].shape == (24, 96, 1, 1)
    assert v2["features.18.1.num_batches_tracked"].shape == ()
    assert v2["classifier.1.weight"].shape == (1000, 1280)
    v3 = models.mobilenet_v3_large().state_dict()
    assert v3["features.4.block.2.fc1.weight"].shape == (24, 72, 1, 1)
    assert v3["features.16.0.weight"].shape == (960, 160, 1, 1)
    assert v3["classifier.3.weight"].shape == (1000, 1280)
    assert models.mobilenet_v3_small().state_dict()["classifier.0.weight"].shape == (1024, 576)


@pytest.mark.parametrize("name, width", [("mobilenet_v1", 0.25), ("mobilenet_v2", 0.35),
                                         ("mobilenet_v3_small", 0.5),
                                         ("mobilenet_v3_large", 0.35)])
def test_model_matches_torch_in_train_and_eval(name, width):
    model, twin = build_pair(name, num_classes=10, width_mult=width, small_input=True,
                             dropout=0.0)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    out, expected = model(minigrad.tensor(x)), twin(torch.tensor(x))
    assert_close(out, expected, ATOL, RTOL, "train-mode output")
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for (key, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert_close(p.grad, q.grad, ATOL, RTOL, f"gradient of {key}")
    for (key, b), (_, c) in zip(model.named_buffers(), twin.named_buffers()):
        assert_close(b.data, c, ATOL, RTOL, f"buffer {key} after a train step")
    model.eval()
    twin.eval()
    with minigrad.no_grad(), torch.no_grad():
        assert_close(model(minigrad.tensor(x)), twin(torch.tensor(x)), ATOL, RTOL, "eval output")


@pytest.mark.parametrize("name", BUILDERS)
def test_small_input_ends_at_4x4(name):
    model = getattr(models, name)(num_classes=3, width_mult=0.25, small_input=True)
    model.eval()
    with minigrad.no_grad():
        features = model.features(minigrad.zeros(1, 3, 32, 32))
        assert features.shape[2:] == (4, 4)
        assert model(minigrad.zeros(1, 3, 32, 32)).shape == (1, 3)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("kwargs, error", [
    ({"num_classes": 0}, ValueError), ({"width_mult": 0.0}, ValueError),
    ({"width_mult": -1.0}, ValueError), ({"width_mult": float("inf")}, ValueError),
    ({"dropout": 1.5}, ValueError), ({"num_classes": 2.5}, TypeError),
    ({"width_mult": "1"}, TypeError), ({"in_channels": 0}, ValueError),
])
def test_builders_reject_bad_arguments(name, kwargs, error):
    with pytest.raises(error, match=f"^{name}: "):
        getattr(models, name)(**kwargs)


@pytest.mark.parametrize("name", BUILDERS)
def test_in_channels_sets_the_stem_for_grayscale_images(name):
    """The main job's set-up (one channel, 24×24 crops) against the torch twin's."""
    model, twin = build_pair(name, num_classes=10, width_mult=0.25, small_input=True,
                             dropout=0.0, in_channels=1)
    assert model.features[0][0].weight.shape[1] == 1
    x = np.random.default_rng(0).standard_normal((2, 1, 24, 24))
    out, expected = model(minigrad.tensor(x)), twin(torch.tensor(x))
    assert_close(out, expected, ATOL, RTOL, "train-mode output")
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    stem, twin_stem = model.features[0][0].weight, twin.features[0][0].weight
    assert_close(stem.grad, twin_stem.grad, ATOL, RTOL, "gradient of the stem")


def test_wrong_input_channels_raise_conv2d_error():
    model = models.mobilenet_v2(num_classes=2, width_mult=0.25, small_input=True)
    with pytest.raises(ValueError, match="conv2d"):
        model(minigrad.zeros(1, 4, 32, 32))


def test_default_dropout_follows_torchvision():
    assert models.mobilenet_v1().classifier[0].p == 0.0
    assert models.mobilenet_v2().classifier[0].p == 0.2
    assert models.mobilenet_v3_small().classifier[2].p == 0.2
    assert models.mobilenet_v3_large(dropout=0.3).classifier[2].p == 0.3
    assert not hasattr(models.mobilenet_v2(), "avgpool")


def test_init_follows_torchvision():
    minigrad.manual_seed(0)
    model = models.mobilenet_v2()
    conv = model.features[18][0].weight.data  # (1280, 320, 1, 1): fan_out = 1280
    assert abs(conv.std() / np.sqrt(2 / 1280) - 1) < 0.02
    dw = model.features[1].conv[0][0].weight.data  # (32, 1, 3, 3): fan_out = 32·9
    assert abs(dw.std() / np.sqrt(2 / (32 * 9)) - 1) < 0.15
    linear = model.classifier[1]
    assert abs(linear.weight.data.std() / 0.01 - 1) < 0.02
    assert not linear.bias.data.any()
    bn = model.features[1].conv[2]
    assert (bn.weight.data == 1).all() and not bn.bias.data.any()
    assert model.features[0][0].bias is None


def test_v3_batchnorm_hyperparameters_follow_torchvision():
    bns = [m for m in models.mobilenet_v3_small().modules()
           if isinstance(m, minigrad.nn.BatchNorm2d)]
    assert bns and all(bn.eps == 0.001 and bn.momentum == 0.01 for bn in bns)


@pytest.mark.parametrize("kernels", ["reference", "fast"])
@pytest.mark.parametrize("name, width", [("mobilenet_v1", 0.25), ("mobilenet_v2", 0.35),
                                         ("mobilenet_v3_small", 0.5),
                                         ("mobilenet_v3_large", 0.35)])
def test_eval_mode_gradients_match_torch(name, width, kernels):
    """In eval mode BatchNorm normalises with its running statistics, a different backward
    (dx = g·γ/√(running_var + eps)): every parameter's and the input's gradient, as torch's."""
    model, twin = build_pair(name, num_classes=10, width_mult=width, small_input=True,
                             dropout=0.0)
    rng = np.random.default_rng(2)
    for (key, b), (_, c) in zip(model.named_buffers(), twin.named_buffers()):
        if b.data.dtype.kind == "f":  # statistics away from their initial 0 and 1
            b.data[...] = (rng.uniform(0.5, 1.5, b.shape) if key.endswith("var")
                           else rng.normal(0, 0.1, b.shape))
            c.copy_(torch.tensor(b.data))
    model.eval()
    twin.eval()
    x = rng.standard_normal((2, 3, 32, 32))
    xm, xt = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with minigrad.use_kernels(kernels):
        out = model(xm)
        upstream = rng.standard_normal(out.shape)
        out.backward(upstream)
    expected = twin(xt)
    expected.backward(torch.tensor(upstream))
    assert_close(out, expected, ATOL, RTOL, "eval output")
    assert_close(xm.grad, xt.grad, ATOL, RTOL, "gradient of the input")
    for (key, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert_close(p.grad, q.grad, ATOL, RTOL, f"gradient of {key}")
