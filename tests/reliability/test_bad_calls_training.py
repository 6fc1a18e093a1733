"""Bad calls to layers, `load_state_dict`, optimizers, LR schedulers, data loading, model
builders, `summary`, `gradcheck` and checkpoint files: each raises the right exception type,
names the function and the bad value, and changes no parameter, buffer or optimizer state."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import models, nn, optim
from minigrad.data import DataLoader, TensorDataset, transforms
from minigrad.optim import lr_scheduler
from minigrad.utils import summary
from tests.reliability.bad_call import Bad, check_bad_call, params

NAN = float("nan")


def r(*shape: int) -> minigrad.Tensor:
    return minigrad.randn(*shape)


def _with_state(world, **changes) -> dict:
    """The world's state dict with some entries replaced."""
    return {**world.model.state_dict(), **changes}


LAYERS = [
    Bad("Conv2d-groups", lambda wd: nn.Conv2d(3, 4, 3, groups=2),
        ValueError, "Conv2d", "in_channels=3"),
    Bad("Conv2d-zero-channels", lambda wd: nn.Conv2d(0, 4, 3),
        ValueError, "Conv2d", "got 0"),
    Bad("Conv2d-zero-kernel", lambda wd: nn.Conv2d(3, 4, 0),
        ValueError, "Conv2d", "kernel_size must be ≥ 1, got 0"),
    Bad("Conv2d-float-channels", lambda wd: nn.Conv2d(3.0, 4, 3),
        TypeError, "Conv2d", "3.0"),
    Bad("Conv2d-padding-mode", lambda wd: nn.Conv2d(3, 4, 3, padding_mode="mirror"),
        ValueError, "Conv2d", "'mirror'"),
    Bad("BatchNorm2d-negative-eps", lambda wd: nn.BatchNorm2d(4, eps=-1.0),
        ValueError, "BatchNorm2d", "-1.0"),
    Bad("BatchNorm2d-nan-momentum", lambda wd: nn.BatchNorm2d(4, momentum=NAN),
        ValueError, "BatchNorm2d", "nan"),
    Bad("BatchNorm2d-string-eps", lambda wd: nn.BatchNorm2d(4, eps="1e-5"),
        TypeError, "BatchNorm2d", "'1e-5'"),
    Bad("BatchNorm2d-zero-features", lambda wd: nn.BatchNorm2d(0),
        ValueError, "BatchNorm2d", "0"),
    Bad("Linear-negative-features", lambda wd: nn.Linear(-1, 3),
        ValueError, "Linear", "-1"),
    Bad("Linear-int-dtype", lambda wd: nn.Linear(4, 3, dtype=np.int64),
        TypeError, "Linear", "int64"),
    Bad("Dropout-p", lambda wd: nn.Dropout(p=2.0),
        ValueError, "Dropout", "2.0"),
    Bad("MaxPool2d-zero-kernel", lambda wd: nn.MaxPool2d(0),
        ValueError, "MaxPool2d", "got 0"),
    Bad("AvgPool2d-padding", lambda wd: nn.AvgPool2d(2, padding=2),
        ValueError, "AvgPool2d", "padding 2"),
    Bad("model-forward-channels", lambda wd: wd.model(r(2, 5, 6, 6)),
        ValueError, "conv2d", "(2, 5, 6, 6)"),
    Bad("model-forward-empty-batch", lambda wd: wd.model(r(0, 3, 6, 6)),
        ValueError, "batch_norm", "(0, 4, 6, 6)"),
    Bad("model-forward-one-pixel-batch", lambda wd: wd.model(r(1, 3, 1, 1)),
        ValueError, "batch_norm", "(1, 4, 1, 1)"),
    Bad("model-forward-ndarray", lambda wd: wd.model(np.zeros((2, 3, 6, 6), np.float32)),
        TypeError, "conv2d", "ndarray"),
    Bad("BatchNorm2d-forward-rank", lambda wd: wd.model[1](r(2, 4)),
        ValueError, "BatchNorm2d", "(2, 4)"),
    Bad("Linear-forward-features", lambda wd: wd.model[5](r(2, 3)),
        ValueError, "linear", "(2, 3)"),
]

LOAD_STATE_DICT = [
    Bad("load_state_dict-shape",
        lambda wd: wd.model.load_state_dict(_with_state(wd, **{"5.bias": np.zeros(7)})),
        RuntimeError, "load_state_dict", "size mismatch for 5.bias"),
    Bad("load_state_dict-missing",
        lambda wd: wd.model.load_state_dict(
            {k: v for k, v in wd.model.state_dict().items() if k != "1.running_var"}),
        RuntimeError, "load_state_dict", '"1.running_var"'),
    Bad("load_state_dict-unexpected",
        lambda wd: wd.model.load_state_dict(_with_state(wd, **{"9.weight": np.zeros(2)})),
        RuntimeError, "load_state_dict", '"9.weight"'),
    Bad("load_state_dict-object-array",
        lambda wd: wd.model.load_state_dict(
            _with_state(wd, **{"5.bias": np.array([{}] * 5, dtype=object)})),
        RuntimeError, "load_state_dict", "dtype object"),
    Bad("load_state_dict-string",
        lambda wd: wd.model.load_state_dict(_with_state(wd, **{"5.bias": "zeros"})),
        RuntimeError, "load_state_dict", "str"),
    Bad("load_state_dict-not-a-mapping", lambda wd: wd.model.load_state_dict([1, 2]),
        TypeError, "load_state_dict", "list"),
]


def _step_with_grad(world, grad: minigrad.Tensor) -> None:
    """Step with a bad gradient on the last parameter: no earlier parameter may move."""
    bias = world.model[5].bias
    good = bias.grad.data
    bias.grad.data = grad.data  # (assigning `bias.grad` itself refuses a bad gradient)
    try:
        world.opt.step()
    finally:
        bias.grad.data = good


def _step_with_nan_lr(world) -> None:
    group = world.opt.param_groups[0]
    group["lr"] = NAN
    try:
        world.opt.step()
    finally:
        group["lr"] = 0.1


def _params(world) -> list:
    return list(world.model.parameters())


OPTIMIZERS = [
    Bad("SGD-negative-lr", lambda wd: optim.SGD(_params(wd), lr=-0.1),
        ValueError, "SGD", "-0.1"),
    Bad("SGD-nan-lr", lambda wd: optim.SGD(_params(wd), lr=NAN),
        ValueError, "SGD", "nan"),
    Bad("SGD-string-lr", lambda wd: optim.SGD(_params(wd), lr="0.1"),
        TypeError, "SGD", "'0.1'"),
    Bad("SGD-negative-momentum", lambda wd: optim.SGD(_params(wd), lr=0.1, momentum=-0.5),
        ValueError, "SGD", "-0.5"),
    Bad("SGD-nesterov-without-momentum", lambda wd: optim.SGD(_params(wd), nesterov=True),
        ValueError, "SGD", "momentum 0"),
    Bad("SGD-empty-params", lambda wd: optim.SGD([], lr=0.1),
        ValueError, "SGD", "empty"),
    Bad("SGD-set-of-params", lambda wd: optim.SGD(set(_params(wd)), lr=0.1),
        TypeError, "SGD", "set"),
    Bad("Adam-beta-one", lambda wd: optim.Adam(_params(wd), betas=(1.0, 0.999)),
        ValueError, "Adam", "betas[0] 1.0"),
    Bad("Adam-negative-eps", lambda wd: optim.Adam(_params(wd), eps=-1e-8),
        ValueError, "Adam", "-1e-08"),
    Bad("AdamW-negative-weight-decay", lambda wd: optim.AdamW(_params(wd), weight_decay=-0.01),
        ValueError, "AdamW", "-0.01"),
    Bad("RMSprop-negative-alpha", lambda wd: optim.RMSprop(_params(wd), alpha=-0.5),
        ValueError, "RMSprop", "-0.5"),
    Bad("SGD.step-grad-shape", lambda wd: _step_with_grad(wd, minigrad.zeros(3)),
        ValueError, "SGD.step", "(3,)"),
    Bad("SGD.step-int-grad",
        lambda wd: _step_with_grad(wd, minigrad.tensor(np.zeros(5, dtype=np.int64))),
        TypeError, "SGD.step", "int64"),
    Bad("SGD.step-nan-lr", _step_with_nan_lr,
        ValueError, "SGD", "nan"),
    Bad("SGD.load_state_dict-shape",
        lambda wd: wd.opt.load_state_dict(
            {"state": {0: {"momentum_buffer": np.zeros(3)}},
             "param_groups": wd.opt.state_dict()["param_groups"]}),
        ValueError, "SGD.load_state_dict", "(3,)"),
    Bad("SGD.load_state_dict-groups",
        lambda wd: wd.opt.load_state_dict({"state": {}, "param_groups": []}),
        ValueError, "SGD.load_state_dict", "0 parameter groups"),
]

SCHEDULERS = [
    Bad("StepLR-zero-step", lambda wd: lr_scheduler.StepLR(wd.opt, step_size=0),
        ValueError, "StepLR", "0"),
    Bad("StepLR-nan-gamma", lambda wd: lr_scheduler.StepLR(wd.opt, step_size=2, gamma=NAN),
        ValueError, "StepLR", "nan"),
    Bad("StepLR-not-an-optimizer", lambda wd: lr_scheduler.StepLR("sgd", step_size=2),
        TypeError, "StepLR", "str"),
    Bad("CosineAnnealingLR-zero-T_max", lambda wd: lr_scheduler.CosineAnnealingLR(wd.opt, 0),
        ValueError, "CosineAnnealingLR", "0"),
    Bad("CosineAnnealingLR-nan-eta_min",
        lambda wd: lr_scheduler.CosineAnnealingLR(wd.opt, 10, eta_min=NAN),
        ValueError, "CosineAnnealingLR", "nan"),
    Bad("OneCycleLR-nan-max_lr",
        lambda wd: lr_scheduler.OneCycleLR(wd.opt, max_lr=NAN, total_steps=10),
        ValueError, "OneCycleLR", "nan"),
    Bad("OneCycleLR-momenta-per-group",
        lambda wd: lr_scheduler.OneCycleLR(wd.opt, max_lr=0.1, total_steps=10,
                                           max_momentum=[0.9, 0.95]),
        ValueError, "OneCycleLR", "2 values"),
    Bad("LinearLR-zero-start", lambda wd: lr_scheduler.LinearLR(wd.opt, start_factor=0),
        ValueError, "LinearLR", "0"),
]


def _dataset() -> TensorDataset:
    return TensorDataset(r(6, 3, 6, 6), minigrad.tensor(np.arange(6) % 5))


def _first_batch(loader: DataLoader) -> tuple:
    return next(iter(loader))


DATA = [
    Bad("DataLoader-zero-batch", lambda wd: DataLoader(_dataset(), batch_size=0),
        ValueError, "DataLoader", "0"),
    Bad("DataLoader-float-batch", lambda wd: DataLoader(_dataset(), batch_size=2.5),
        ValueError, "DataLoader", "2.5"),
    Bad("DataLoader-not-a-dataset", lambda wd: DataLoader(5, batch_size=2),
        TypeError, "DataLoader", "int"),
    Bad("DataLoader-negative-seed", lambda wd: DataLoader(_dataset(), shuffle=True, seed=-1),
        ValueError, "DataLoader", "-1"),
    Bad("TensorDataset-lengths", lambda wd: TensorDataset(r(3, 2), r(4)),
        ValueError, "TensorDataset", "(4,)"),
    Bad("RandomCrop-larger-than-image",
        lambda wd: _first_batch(DataLoader(_dataset(), 2, transform=transforms.RandomCrop(9))),
        ValueError, "RandomCrop", "(9, 9)"),
    Bad("RandomCrop-zero", lambda wd: transforms.RandomCrop(0),
        ValueError, "RandomCrop", "0"),
    Bad("RandomHorizontalFlip-p", lambda wd: transforms.RandomHorizontalFlip(p=1.5),
        ValueError, "RandomHorizontalFlip", "1.5"),
    Bad("Normalize-zero-std", lambda wd: transforms.Normalize(0.5, 0.0),
        ValueError, "Normalize", "0.0"),
]

MODELS = [
    Bad("mobilenet_v2-zero-classes", lambda wd: models.mobilenet_v2(num_classes=0),
        ValueError, "mobilenet_v2", "0"),
    Bad("mobilenet_v2-zero-width", lambda wd: models.mobilenet_v2(width_mult=0.0),
        ValueError, "mobilenet_v2", "0.0"),
    Bad("mobilenet_v2-dropout", lambda wd: models.mobilenet_v2(dropout=1.5),
        ValueError, "mobilenet_v2", "1.5"),
    Bad("mobilenet_v3_small-nan-width", lambda wd: models.mobilenet_v3_small(width_mult=NAN),
        ValueError, "mobilenet_v3_small", "nan"),
    Bad("mobilenet_v3_large-float-classes",
        lambda wd: models.mobilenet_v3_large(num_classes=2.5),
        TypeError, "mobilenet_v3_large", "float"),
    Bad("mobilenet_v1-negative-classes", lambda wd: models.mobilenet_v1(num_classes=-1),
        ValueError, "mobilenet_v1", "-1"),
    Bad("InvertedResidual-stride", lambda wd: models.InvertedResidual(8, 8, 3, 6),
        ValueError, "InvertedResidual", "3"),
]


def _gradcheck(fn, x, **kwargs):
    return minigrad.gradcheck(fn, [x], **kwargs)


def _x64(requires_grad: bool = True) -> minigrad.Tensor:
    return minigrad.ones(3, dtype="float64", requires_grad=requires_grad)


TOOLS = [
    Bad("summary-negative-size", lambda wd: summary(wd.model, (3, -1, 6)),
        ValueError, "summary", "-1"),
    Bad("summary-not-a-module", lambda wd: summary("net", (3, 6, 6)),
        TypeError, "summary", "str"),
    Bad("summary-float-size", lambda wd: summary(wd.model, (3, 6.5, 6)),
        TypeError, "summary", "6.5"),
    Bad("summary-wrong-channels", lambda wd: summary(wd.model, (5, 6, 6)),
        ValueError, "conv2d", "(1, 5, 6, 6)"),
    Bad("gradcheck-nothing-requires-grad", lambda wd: _gradcheck(lambda x: x * 2, _x64(False)),
        ValueError, "gradcheck", "no input requires grad"),
    Bad("gradcheck-float32", lambda wd: _gradcheck(lambda x: x * 2, minigrad.ones(
        3, requires_grad=True)), TypeError, "gradcheck", "float32"),
    Bad("gradcheck-zero-eps", lambda wd: _gradcheck(lambda x: x * 2, _x64(), eps=0.0),
        ValueError, "gradcheck", "0.0"),
    Bad("gradcheck-nan-atol", lambda wd: _gradcheck(lambda x: x * 2, _x64(), atol=NAN),
        ValueError, "gradcheck", "nan"),
    Bad("gradcheck-returns-number", lambda wd: _gradcheck(lambda x: 3.0, _x64()),
        TypeError, "gradcheck", "float"),
    Bad("gradcheck-not-callable", lambda wd: _gradcheck(3, _x64()),
        TypeError, "gradcheck", "int"),
]


def _in_temp_dir(action):
    with tempfile.TemporaryDirectory() as directory:
        return action(Path(directory) / "checkpoint.npz")


def _load_truncated(world, path: Path) -> None:
    minigrad.save(world.model.state_dict(), path)
    path.write_bytes(path.read_bytes()[:-100])
    world.model.load_state_dict(minigrad.load(path))


def _load_torch_text(path: Path) -> None:
    path.write_text("not a checkpoint")
    minigrad.load_torch(path)


FILES = [
    Bad("save-object-array",
        lambda wd: _in_temp_dir(lambda p: minigrad.save({"w": np.array([{}, 1], dtype=object)}, p)),
        ValueError, "save", "object array"),
    Bad("save-set", lambda wd: _in_temp_dir(lambda p: minigrad.save({"s": {1, 2}}, p)),
        TypeError, "save", "set"),
    Bad("load-truncated", lambda wd: _in_temp_dir(lambda p: _load_truncated(wd, p)),
        ValueError, "load", "checkpoint.npz"),
    Bad("load_torch-not-a-path", lambda wd: minigrad.load_torch(5),
        TypeError, "load_torch", "int"),
    Bad("load_torch-text-file", lambda wd: _in_temp_dir(_load_torch_text),
        ValueError, "load_torch", "not a torch checkpoint"),
]

ROWS = LAYERS + LOAD_STATE_DICT + OPTIMIZERS + SCHEDULERS + DATA + MODELS + TOOLS + FILES


@pytest.mark.parametrize("row", params(ROWS))
def test_bad_call_raises_a_clear_error_and_changes_nothing(row: Bad) -> None:
    check_bad_call(row)


def test_the_battery_has_at_least_sixty_distinct_rows() -> None:
    from tests.reliability import test_bad_calls_ops

    ids = [row.id for row in ROWS + test_bad_calls_ops.ROWS]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)
