"""`to_torch` / `from_torch` (minigrad/interop/convert.py): every `minigrad.nn` layer and the
four MobileNets round-trip with the same names, values, dtypes and modes; outputs, gradients
and one SGD step agree with torch in float64."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
from minigrad import models, nn, optim
from minigrad.interop import from_torch, to_torch
from tests.strategies import conv_cases

OUT_TOL = 1e-10  # outputs, float64
GRAD_RTOL = 1e-7  # gradients and weights after a step, relative to each array's largest value
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


LAYERS = [
    # (id, builder, input shape)
    ("conv", lambda: nn.Conv2d(4, 6, 3), (2, 4, 7, 7)),
    ("conv_stride_pad_dilation", lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                                   dilation=(1, 2), bias=False), (2, 4, 7, 7)),
    ("conv_groups", lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 7, 7)),
    ("conv_depthwise", lambda: nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4), (2, 4, 7, 7)),
    ("conv_depthwise_multiplier", lambda: nn.Conv2d(4, 8, 5, padding=2, groups=4), (2, 4, 7, 7)),
    ("conv_pointwise", lambda: nn.Conv2d(4, 6, 1), (2, 4, 7, 7)),
    ("conv_same", lambda: nn.Conv2d(4, 6, 4, padding="same", dilation=2), (2, 4, 7, 7)),
    ("conv_valid", lambda: nn.Conv2d(4, 6, 3, padding="valid"), (2, 4, 7, 7)),
    ("conv_reflect", lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"), (2, 4, 7, 7)),
    ("conv_replicate", lambda: nn.Conv2d(4, 6, 3, padding=(2, 1), groups=2,
                                         padding_mode="replicate"), (2, 4, 7, 7)),
    ("conv_circular", lambda: nn.Conv2d(4, 4, 3, padding=1, groups=4,
                                        padding_mode="circular"), (2, 4, 7, 7)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(4), (3, 4, 5, 5)),
    ("batchnorm2d_options", lambda: nn.BatchNorm2d(4, eps=1e-3, momentum=None, bias=False),
     (3, 4, 5, 5)),
    ("batchnorm2d_no_affine", lambda: nn.BatchNorm2d(4, affine=False), (3, 4, 5, 5)),
    ("batchnorm2d_no_stats", lambda: nn.BatchNorm2d(4, track_running_stats=False), (3, 4, 5, 5)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(5, momentum=0.3), (6, 5)),
    ("batchnorm1d_3d", lambda: nn.BatchNorm1d(5), (3, 5, 4)),
    ("linear", lambda: nn.Linear(5, 3), (4, 5)),
    ("linear_no_bias_3d", lambda: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    ("relu", nn.ReLU, (2, 3, 4, 4)),
    ("relu6", nn.ReLU6, (2, 3, 4, 4)),
    ("silu", nn.SiLU, (2, 3, 4, 4)),
    ("hardsigmoid", nn.Hardsigmoid, (2, 3, 4, 4)),
    ("hardswish", nn.Hardswish, (2, 3, 4, 4)),
    ("sigmoid", nn.Sigmoid, (2, 3, 4, 4)),
    ("tanh", nn.Tanh, (2, 3, 4, 4)),
    ("softmax", lambda: nn.Softmax(dim=1), (3, 5)),
    ("log_softmax", lambda: nn.LogSoftmax(dim=-1), (3, 5)),
    ("dropout", lambda: nn.Dropout(0.0), (3, 5)),
    ("maxpool", lambda: nn.MaxPool2d(3, 2, 1), (2, 3, 7, 7)),
    ("maxpool_options", lambda: nn.MaxPool2d((2, 3), stride=(1, 2), dilation=2, ceil_mode=True),
     (2, 3, 7, 8)),
    ("avgpool", lambda: nn.AvgPool2d(2), (2, 3, 6, 6)),
    ("avgpool_options", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     (2, 3, 8, 8)),
    ("avgpool_divisor", lambda: nn.AvgPool2d(3, 1, 1, divisor_override=5), (2, 3, 5, 5)),
    ("adaptive_avgpool_global", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 6)),
    ("adaptive_avgpool_uneven", lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    ("flatten", nn.Flatten, (2, 3, 4, 4)),
    ("flatten_dims", lambda: nn.Flatten(0, 2), (2, 3, 4, 4)),
    ("identity", nn.Identity, (2, 3)),
    ("upsample_nearest", lambda: nn.Upsample(scale_factor=2), (2, 3, 4, 5)),
    ("upsample_bilinear", lambda: nn.Upsample(size=(7, 6), mode="bilinear", align_corners=True),
     (2, 3, 4, 5)),
    ("upsampling_nearest2d", lambda: nn.UpsamplingNearest2d(size=6), (2, 3, 4, 5)),
    ("upsampling_bilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=1.5), (2, 3, 4, 4)),
    ("sequential", lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU6(),
                                         nn.Flatten(), nn.Linear(4 * 3 * 3, 2)), (3, 3, 5, 5)),
    ("sequential_named", lambda: nn.Sequential(OrderedDict(
        conv=nn.Conv2d(3, 4, 1), act=nn.Hardswish(), pool=nn.AdaptiveAvgPool2d(1),
        flat=nn.Flatten())), (2, 3, 4, 4)),
]

MOBILENETS = [
    ("v1", lambda: models.mobilenet_v1(num_classes=5, width_mult=0.25, small_input=True,
                                       in_channels=1), (2, 1, 16, 16)),
    ("v2", lambda: models.mobilenet_v2(num_classes=5, width_mult=0.25, small_input=True,
                                       dropout=0.0, in_channels=1), (2, 1, 16, 16)),
    ("v2_full_stem", lambda: models.mobilenet_v2(num_classes=5, width_mult=0.25, dropout=0.0),
     (4, 3, 32, 32)),
    ("v3_small", lambda: models.mobilenet_v3_small(num_classes=5, width_mult=0.25,
                                                   small_input=True, dropout=0.0), (2, 3, 16, 16)),
    ("v3_large", lambda: models.mobilenet_v3_large(num_classes=5, width_mult=0.25,
                                                   small_input=True, dropout=0.0,
                                                   in_channels=2), (2, 2, 16, 16)),
]

ALL = LAYERS + MOBILENETS


def _torch_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _assert_same_state(mg: nn.Module, tm: torch.nn.Module) -> None:
    """Same keys in the same order, dtypes and values; same requires_grad and modes."""
    mine, theirs = mg.state_dict(), _torch_state(tm)
    assert list(mine) == list(theirs)
    for key in mine:
        assert mine[key].dtype == theirs[key].dtype, key
        np.testing.assert_array_equal(mine[key], theirs[key], err_msg=key)
    assert ([p.requires_grad for p in mg.parameters()]
            == [p.requires_grad for p in tm.parameters()])
    assert ([(n, m.training) for n, m in mg.named_modules()]
            == [(n, m.training) for n, m in tm.named_modules()])


def _rel_close(actual, expected, rtol, name):
    """Largest difference ≤ rtol × the largest expected value, with a floor of OUT_TOL: a
    shift before a train-mode BatchNorm (a conv bias, the bias of a block feeding one) has a
    gradient that is zero in exact arithmetic and rounding noise (~1e-13) in both."""
    scale = np.abs(expected).max()
    assert np.abs(actual - expected).max() <= max(rtol * scale, OUT_TOL), name


@pytest.mark.parametrize("name, build, shape", ALL, ids=[case[0] for case in ALL])
def test_to_torch_has_the_same_names_values_dtypes_and_modes(name, build, shape):
    mg = build().double()
    tm = to_torch(mg)
    assert isinstance(tm, torch.nn.Module)
    assert type(tm).__name__ == type(mg).__name__
    _assert_same_state(mg, tm)
    back = from_torch(tm)
    assert type(back) is type(mg)
    _assert_same_state(back, tm)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name, build, shape", ALL, ids=[case[0] for case in ALL])
def test_outputs_match_torch_and_the_round_trip(name, build, shape, training, rng):
    mg = build().double()
    _randomise_statistics(mg, rng)
    mg.train(training)
    tm = to_torch(mg)
    back = from_torch(tm)
    x = rng.standard_normal(shape)
    expected = tm(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(mg(minigrad.tensor(x)).data, expected, rtol=OUT_TOL, atol=OUT_TOL)
    np.testing.assert_allclose(back(minigrad.tensor(x)).data, expected, rtol=OUT_TOL,
                               atol=OUT_TOL)
    # train mode updated the running statistics the same way on all three
    for other in (_torch_state(tm), back.state_dict()):
        for key, value in mg.state_dict().items():
            np.testing.assert_allclose(value, other[key], rtol=OUT_TOL, atol=OUT_TOL,
                                       err_msg=key)


@pytest.mark.parametrize("name, build, shape", ALL, ids=[case[0] for case in ALL])
def test_gradients_and_one_sgd_step_match_torch(name, build, shape, rng):
    mg = build().double()
    _randomise_statistics(mg, rng)
    tm = to_torch(mg)
    x = rng.standard_normal(shape)
    mg_x = minigrad.tensor(x, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=True)
    mg_out, torch_out = mg(mg_x), tm(torch_x)
    upstream = rng.standard_normal(mg_out.shape)
    mg_out.backward(upstream)
    torch_out.backward(torch.from_numpy(upstream))
    _rel_close(mg_x.grad.data, torch_x.grad.numpy(), GRAD_RTOL, "input gradient")
    for (key, p), q in zip(mg.named_parameters(), tm.parameters()):
        _rel_close(p.grad.data, q.grad.numpy(), GRAD_RTOL, f"gradient of {key}")
    if not list(mg.parameters()):
        return
    mg_opt = optim.SGD(mg.parameters(), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    mg_opt.step()
    torch_opt.step()
    for (key, p), q in zip(mg.named_parameters(), tm.parameters()):
        _rel_close(p.data, q.detach().numpy(), GRAD_RTOL, f"{key} after a step")


def _randomise_statistics(model: nn.Module, rng: np.random.Generator) -> None:
    """Running statistics and affine parameters away from their initial 0/1, so that eval
    mode and the copies are tested on values that differ per channel."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if module.running_mean is not None:
                module.running_mean.data[...] = rng.standard_normal(module.num_features) * 0.1
                module.running_var.data[...] = rng.uniform(0.5, 1.5, module.num_features)
            if module.weight is not None:
                module.weight.data[...] = rng.uniform(0.5, 1.5, module.num_features)
            if module.bias is not None:
                module.bias.data[...] = rng.standard_normal(module.num_features) * 0.1


def test_float32_models_stay_float32(rng):
    tm = to_torch(models.mobilenet_v2(num_classes=3, width_mult=0.25, small_input=True))
    assert {p.dtype for p in tm.parameters()} == {torch.float32}
    assert tm.features[0][1].num_batches_tracked.dtype == torch.int64


def test_containers_keep_their_names_and_children():
    mg = nn.Sequential(nn.ModuleList([nn.Linear(2, 3), nn.ReLU()]),
                       nn.ModuleDict({"head": nn.Linear(3, 1), "act": nn.Tanh()}))
    tm = to_torch(mg)
    assert isinstance(tm[0], torch.nn.ModuleList) and isinstance(tm[1], torch.nn.ModuleDict)
    assert list(tm[1].keys()) == ["head", "act"]
    _assert_same_state(mg, tm)
    back = from_torch(tm)
    assert isinstance(back[1], nn.ModuleDict) and list(back[1].keys()) == ["head", "act"]


def test_a_shared_layer_stays_shared():
    shared = nn.Linear(3, 3)
    tm = to_torch(nn.Sequential(shared, nn.ReLU(), shared))
    assert tm[0] is tm[2]
    assert len(list(tm.parameters())) == 2


def test_frozen_parameters_and_mixed_modes_cross_over():
    mg = models.mobilenet_v1(num_classes=3, width_mult=0.25, small_input=True)
    mg.features[0].requires_grad_(False)
    mg.features[1].eval()
    _assert_same_state(mg, to_torch(mg))
    _assert_same_state(from_torch(to_torch(mg)), to_torch(mg))


def test_block_attributes_are_carried():
    mg = models.mobilenet_v2(num_classes=3, width_mult=0.25, small_input=True)
    back = from_torch(to_torch(mg))
    assert [getattr(b, "use_res_connect", None) for b in back.features] == \
        [getattr(b, "use_res_connect", None) for b in mg.features]
    assert back.last_channel == mg.last_channel


def test_the_copies_are_independent():
    mg = nn.Linear(2, 2)
    tm = to_torch(mg)
    with torch.no_grad():
        tm.weight.fill_(7.0)
    assert not np.any(mg.weight.data == 7.0)


def test_the_torch_twin_pickles():
    import pickle

    tm = to_torch(models.mobilenet_v3_small(num_classes=3, width_mult=0.25, small_input=True))
    again = pickle.loads(pickle.dumps(tm))
    assert type(again) is type(tm)
    x = torch.randn(1, 3, 16, 16)
    tm.eval(), again.eval()
    torch.testing.assert_close(again(x), tm(x), rtol=0, atol=0)


class TinyNet(nn.Module):
    """A user-defined module: translated only through a twin given as into=."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        return self.body(x).mean((2, 3)) * self.scale


class TorchTinyNet(torch.nn.Module):
    def __init__(self, channels: int = 2) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, channels, 3), torch.nn.ReLU())
        self.scale = torch.nn.Parameter(torch.ones(channels))

    def forward(self, x):
        return self.body(x).mean((2, 3)) * self.scale


def test_a_user_defined_module_asks_for_into():
    with pytest.raises(TypeError, match=r"TinyNet.*into="):
        to_torch(TinyNet())
    with pytest.raises(TypeError, match=r"TinyNet \(at '1'\).*into="):
        to_torch(nn.Sequential(nn.ReLU(), TinyNet()))


def test_into_copies_values_and_mode(rng):
    mg = TinyNet()
    mg.scale.data[:] = [2.0, -1.0]
    mg.eval()
    twin = to_torch(mg, into=TorchTinyNet())
    assert not twin.training
    x = rng.standard_normal((2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(),
                               mg(minigrad.tensor(x)).data, rtol=1e-6, atol=1e-6)
    back = from_torch(twin, into=TinyNet())
    np.testing.assert_array_equal(back.scale.data, [2.0, -1.0])


def test_into_with_a_different_name_or_shape_names_the_first_key():
    renamed = TorchTinyNet()
    renamed.gain = renamed.scale
    del renamed.scale
    with pytest.raises(ValueError, match="'scale'"):
        to_torch(TinyNet(), into=renamed)
    with pytest.raises(ValueError, match=r"'scale' has shape \(2,\) in the minigrad module, "
                                         r"\(3,\) in the torch module"):
        to_torch(TinyNet(), into=TorchTinyNet(channels=3))
    with pytest.raises(ValueError, match="'scale'"):
        from_torch(TorchTinyNet(channels=3), into=TinyNet())


def test_into_must_be_a_module_of_the_other_framework():
    with pytest.raises(TypeError, match="into= must be a torch.nn.Module"):
        to_torch(nn.Linear(2, 2), into=nn.Linear(2, 2))
    with pytest.raises(TypeError, match="expected a minigrad Module"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        from_torch(nn.Linear(2, 2))


def test_from_torch_names_a_class_it_cannot_translate():
    with pytest.raises(TypeError, match=r"torch.nn.modules.conv.Conv1d \(at '0'\).*into="):
        from_torch(torch.nn.Sequential(torch.nn.Conv1d(2, 2, 3)))


def _conv_layer(draw_case, padding_mode):
    (x, weight, *bias), kwargs = draw_case
    layer = nn.Conv2d(x.shape[1], weight.shape[0], weight.shape[2:], bias=bool(bias),
                      padding_mode=padding_mode, **kwargs).double()
    layer.weight.data[...] = weight
    if bias:
        layer.bias.data[...] = bias[0]
    return layer, x


def _pads_fit(layer, x, padding_mode):
    """reflect needs each pad below the side it mirrors, circular at most the side."""
    left, right, top, bottom = layer._pad_widths()
    h, w = x.shape[2:]
    limit_h, limit_w = (h - 1, w - 1) if padding_mode == "reflect" else (h, w)
    return max(top, bottom) <= limit_h and max(left, right) <= limit_w


@given(case=conv_cases(), padding_mode=st.sampled_from(PADDING_MODES))
def test_any_conv2d_translates_and_matches_torch(case, padding_mode):
    layer, x = _conv_layer(case, padding_mode)
    assume(padding_mode == "zeros" or _pads_fit(layer, x, padding_mode))
    tm = to_torch(layer)
    expected = tm(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(minigrad.tensor(x)).data, expected, rtol=OUT_TOL,
                               atol=OUT_TOL)
    back = from_torch(tm)
    assert (back.padding, back.padding_mode, back.groups) == \
        (layer.padding, layer.padding_mode, layer.groups)


LOSSES = [
    # (id, builder, target maker: rng, logits shape -> target array)
    ("cross_entropy", lambda: nn.CrossEntropyLoss(weight=np.linspace(0.5, 2.0, 5),
                                                  ignore_index=1, label_smoothing=0.1),
     lambda rng, shape: rng.integers(0, shape[1], shape[0])),
    ("nll", lambda: nn.NLLLoss(reduction="sum"),
     lambda rng, shape: rng.integers(0, shape[1], shape[0])),
    ("mse", lambda: nn.MSELoss(reduction="none"), lambda rng, shape: rng.standard_normal(shape)),
    ("bce_with_logits", lambda: nn.BCEWithLogitsLoss(pos_weight=np.linspace(0.5, 3.0, 5)),
     lambda rng, shape: rng.uniform(0, 1, shape)),
]


@pytest.mark.parametrize("name, build, target", LOSSES, ids=[case[0] for case in LOSSES])
def test_loss_modules_cross_with_their_options_and_weights(name, build, target, rng):
    mg = build().double()
    tm = to_torch(mg)
    assert type(tm) is getattr(torch.nn, type(mg).__name__)
    _assert_same_state(mg, tm)
    back = from_torch(tm)
    assert type(back) is type(mg)
    _assert_same_state(back, tm)
    x, t = rng.standard_normal((6, 5)), target(rng, (6, 5))
    theirs = tm(torch.tensor(x), torch.tensor(t)).detach().numpy()
    for module in (mg, back):
        np.testing.assert_allclose(module(minigrad.tensor(x), minigrad.tensor(t)).numpy(),
                                   theirs, rtol=1e-12, atol=1e-12)
