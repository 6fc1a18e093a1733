"""Bad calls to layers, `load_state_dict`, optimizers (and their state dicts and steps), LR
schedulers (and their state dicts), data loading, model builders, `summary`, `gradcheck` and
checkpoint files: each raises the right exception type, names the function and the bad value,
and changes no parameter, buffer or optimizer state."""

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



def _opt_state(world, change) -> dict:
    """The world optimizer's state dict (a momentum buffer for each of its six parameters),
    changed."""
    sd = world.opt.state_dict()
    change(sd)
    return sd


def _load_opt(change):
    return lambda wd: wd.opt.load_state_dict(_opt_state(wd, change))


def _side_optimizer(name: str = "SGD", **kwargs) -> optim.Optimizer:
    """An optimizer of its own (schedulers change their optimizer's groups when built)."""
    params = [nn.Parameter(np.ones((2, 2), np.float32)), nn.Parameter(np.ones((), np.float32))]
    return getattr(optim, name)(params, lr=0.1, **kwargs)


def _side_load(name: str, state: dict, **kwargs) -> None:
    opt = _side_optimizer(name, **kwargs)
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)


def _step_with_state(world, key, value) -> None:
    """Step with a broken momentum buffer on the last parameter: no parameter may move."""
    state = world.opt.state[world.model[5].bias]
    good = state[key]
    state[key] = value
    try:
        world.opt.step()
    finally:
        state[key] = good


def _scheduler_load(make, change):
    def call(world):
        sched = make(_side_optimizer())
        sched.load_state_dict(change(sched.state_dict()))
    return call


OPTIMIZER_STATE = [
    Bad("SGD-params-None", lambda wd: optim.SGD(None, lr=0.1),
        TypeError, "SGD", "None"),
    Bad("SGD-a-module-as-params", lambda wd: optim.SGD(wd.model, lr=0.1),
        TypeError, "SGD", "Sequential module; pass its .parameters()"),
    Bad("Adam-params-int", lambda wd: optim.Adam(5),
        TypeError, "Adam", "5"),
    Bad("SGD.add_param_group-None", lambda wd: wd.opt.add_param_group(None),
        TypeError, "SGD", "NoneType"),
    Bad("SGD-nesterov-string", lambda wd: optim.SGD(_params(wd), lr=0.1, momentum=0.9,
                                                    nesterov="yes"),
        TypeError, "SGD", "'yes'"),
    Bad("SGD.load_state_dict-None", lambda wd: wd.opt.load_state_dict(None),
        TypeError, "SGD.load_state_dict", "None"),
    Bad("SGD.load_state_dict-group-lacks-momentum",
        _load_opt(lambda sd: sd["param_groups"][0].pop("momentum")),
        ValueError, "SGD.load_state_dict", "lacks the key 'momentum'"),
    Bad("SGD.load_state_dict-group-lacks-params",
        _load_opt(lambda sd: sd["param_groups"][0].pop("params")),
        ValueError, "SGD.load_state_dict", "lacks the key 'params'"),
    Bad("SGD.load_state_dict-group-not-a-dict",
        _load_opt(lambda sd: sd["param_groups"].__setitem__(0, "group")),
        TypeError, "SGD.load_state_dict", "'group'"),
    Bad("SGD.load_state_dict-lr-None",
        _load_opt(lambda sd: sd["param_groups"][0].__setitem__("lr", None)),
        TypeError, "SGD.load_state_dict", "lr must be a number, got None"),
    Bad("SGD.load_state_dict-nesterov-string",
        _load_opt(lambda sd: sd["param_groups"][0].__setitem__("nesterov", "no")),
        TypeError, "SGD.load_state_dict", "'no'"),
    Bad("SGD.load_state_dict-list-buffer",
        _load_opt(lambda sd: sd["state"][3].__setitem__("momentum_buffer", [0.0] * 5)),
        TypeError, "SGD.load_state_dict", "[0.0, 0.0, 0.0, 0.0, 0.0]"),
    Bad("SGD.load_state_dict-0d-buffer-for-a-kernel",
        _load_opt(lambda sd: sd["state"][0].__setitem__("momentum_buffer", np.zeros(()))),
        ValueError, "SGD.load_state_dict", "has shape ()"),
    Bad("SGD.load_state_dict-int-buffer",
        _load_opt(lambda sd: sd["state"][1].__setitem__("momentum_buffer",
                                                        np.zeros(4, np.int64))),
        TypeError, "SGD.load_state_dict", "int64"),
    Bad("SGD.load_state_dict-unknown-entry",
        _load_opt(lambda sd: sd["state"][1].__setitem__("velocity", np.zeros(4))),
        ValueError, "SGD.load_state_dict", "'velocity'"),
    Bad("SGD.load_state_dict-unknown-index",
        _load_opt(lambda sd: sd["state"].__setitem__(9, {})),
        ValueError, "SGD.load_state_dict", "parameter 9"),
    Bad("SGD.load_state_dict-index-twice",
        _load_opt(lambda sd: sd["param_groups"][0].__setitem__("params", [0, 1, 1, 3, 4, 5])),
        ValueError, "SGD.load_state_dict", "[0, 1, 1, 3, 4, 5]"),
    Bad("SGD.load_state_dict-state-not-a-dict",
        _load_opt(lambda sd: sd.__setitem__("state", [1, 2])),
        TypeError, "SGD.load_state_dict", "[1, 2]"),
    Bad("SGD.load_state_dict-extra-key",
        _load_opt(lambda sd: sd.__setitem__("epoch", 3)),
        ValueError, "SGD.load_state_dict", "'epoch'"),
    Bad("Adam.load_state_dict-amsgrad-list",
        lambda wd: _side_load("Adam", {1: {"step": 2.0, "exp_avg": np.zeros(()),
                                           "exp_avg_sq": np.zeros(()),
                                           "max_exp_avg_sq": [0.0]}}, amsgrad=True),
        TypeError, "Adam.load_state_dict", "[0.0]"),
    Bad("Adam.load_state_dict-lacks-exp_avg_sq",
        lambda wd: _side_load("Adam", {0: {"step": 1.0, "exp_avg": np.zeros((2, 2))}}),
        ValueError, "Adam.load_state_dict", "'exp_avg_sq'"),
    Bad("RMSprop.load_state_dict-negative-step",
        lambda wd: _side_load("RMSprop", {1: {"step": -3.0, "square_avg": np.zeros(())}}),
        ValueError, "RMSprop.load_state_dict", "-3.0"),
    Bad("SGD.step-list-buffer", lambda wd: _step_with_state(wd, "momentum_buffer", [0.0] * 5),
        TypeError, "SGD.step", "[0.0, 0.0, 0.0, 0.0, 0.0]"),
    Bad("SGD.step-number-buffer", lambda wd: _step_with_state(wd, "momentum_buffer", 0.5),
        TypeError, "SGD.step", "0.5"),
    Bad("SGD.step-closure-string", lambda wd: wd.opt.step("loss"),
        TypeError, "SGD.step", "'loss'"),
]

SCHEDULER_STATE = [
    Bad("MultiStepLR-None", lambda wd: lr_scheduler.MultiStepLR(wd.opt, None),
        TypeError, "MultiStepLR", "None"),
    Bad("MultiStepLR-float-milestone", lambda wd: lr_scheduler.MultiStepLR(wd.opt, [2, 4.5]),
        TypeError, "MultiStepLR", "4.5"),
    Bad("LinearLR-None-start", lambda wd: lr_scheduler.LinearLR(wd.opt, start_factor=None),
        TypeError, "LinearLR", "None"),
    Bad("SequentialLR-None", lambda wd: lr_scheduler.SequentialLR(wd.opt, None, [2]),
        TypeError, "SequentialLR", "None"),
    Bad("OneCycleLR-string-pct",
        lambda wd: lr_scheduler.OneCycleLR(wd.opt, max_lr=0.1, total_steps=5, pct_start="0.3"),
        TypeError, "OneCycleLR", "'0.3'"),
    Bad("StepLR.load_state_dict-None",
        _scheduler_load(lambda o: lr_scheduler.StepLR(o, 2), lambda sd: None),
        TypeError, "StepLR.load_state_dict", "None"),
    Bad("StepLR.load_state_dict-lacks-last_epoch",
        _scheduler_load(lambda o: lr_scheduler.StepLR(o, 2),
                        lambda sd: {k: v for k, v in sd.items() if k != "last_epoch"}),
        ValueError, "StepLR.load_state_dict", "'last_epoch'"),
    Bad("StepLR.load_state_dict-string-gamma",
        _scheduler_load(lambda o: lr_scheduler.StepLR(o, 2), lambda sd: {**sd, "gamma": "0.1"}),
        TypeError, "StepLR.load_state_dict", "'0.1'"),
    Bad("CosineAnnealingLR.load_state_dict-float-epoch",
        _scheduler_load(lambda o: lr_scheduler.CosineAnnealingLR(o, 5),
                        lambda sd: {**sd, "last_epoch": 2.5}),
        ValueError, "CosineAnnealingLR.load_state_dict", "2.5"),
    Bad("SequentialLR.load_state_dict-one-of-two",
        _scheduler_load(lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, total_iters=2), lr_scheduler.StepLR(o, 2)], [2]),
            lambda sd: {**sd, "_schedulers": sd["_schedulers"][:1]}),
        ValueError, "SequentialLR.load_state_dict", "2 state dicts"),
]


def _self_containing() -> dict:
    loop: dict = {"epoch": 1}
    loop["again"] = loop
    return loop


def _deep(levels: int = 5000) -> list:
    chain: list = []
    for _ in range(levels):
        chain = [chain]
    return chain


def _load_text(path: Path) -> None:
    path.write_text("not a checkpoint\n")
    minigrad.load(path)


def _load_pickled_array(path: Path) -> None:
    minigrad.save({"x": np.ones(2)}, path)
    with np.load(path) as archive:
        structure = archive["__structure__"]
    np.savez(path, x=np.array([{}], dtype=object), __structure__=structure)
    minigrad.load(path)


def _load_torch_over_cap(world, path: Path) -> None:
    minigrad.save_torch(world.model.state_dict(), path)
    minigrad.load_torch(path, max_pickle_bytes=100)


FILE_MISUSE = [
    Bad("load-text-file", lambda wd: _in_temp_dir(_load_text),
        ValueError, "load", "starts with b'not '"),
    Bad("load-pickled-array", lambda wd: _in_temp_dir(_load_pickled_array),
        ValueError, "load", "object (pickled) array"),
    Bad("save-contains-itself", lambda wd: _in_temp_dir(lambda p: minigrad.save(
        _self_containing(), p)), ValueError, "save", "'again' contains itself"),
    Bad("save-nested-too-deeply", lambda wd: _in_temp_dir(lambda p: minigrad.save(_deep(), p)),
        ValueError, "save", "nested too deeply"),
    Bad("save-path-None", lambda wd: minigrad.save(wd.model.state_dict(), None),
        TypeError, "save", "NoneType"),
    Bad("load-path-None", lambda wd: minigrad.load(None),
        TypeError, "load", "NoneType"),
    Bad("save_torch-contains-itself", lambda wd: _in_temp_dir(lambda p: minigrad.save_torch(
        _self_containing(), p)), ValueError, "save_torch", "contains itself"),
    Bad("save_torch-nested-too-deeply", lambda wd: _in_temp_dir(
        lambda p: minigrad.save_torch({"x": _deep()}, p)),
        ValueError, "save_torch", "nested too deeply"),
    Bad("save-a-module", lambda wd: _in_temp_dir(lambda p: minigrad.save(wd.model, p)),
        TypeError, "save", "save its state_dict()"),
    Bad("save_torch-a-module", lambda wd: _in_temp_dir(lambda p: minigrad.save_torch(
        {"model": wd.model}, p)), TypeError, "save_torch", "save its state_dict()"),
    Bad("load_torch-map_location-cuda", lambda wd: minigrad.load_torch("x.pth", "cuda:0"),
        ValueError, "load_torch", "'cuda:0'"),
    Bad("load_torch-weights_only-False",
        lambda wd: minigrad.load_torch("x.pth", weights_only=False),
        ValueError, "load_torch", "weights_only must be True, got False"),
    Bad("load_torch-zero-cap", lambda wd: minigrad.load_torch("x.pth", max_pickle_bytes=0),
        ValueError, "load_torch", "got 0"),
    Bad("load_torch-pickle-over-cap", lambda wd: _in_temp_dir(
        lambda p: _load_torch_over_cap(wd, p)),
        ValueError, "load_torch", "max_pickle_bytes=100"),
]

ROWS = (LAYERS + LOAD_STATE_DICT + OPTIMIZERS + SCHEDULERS + DATA + MODELS + TOOLS + FILES
        + OPTIMIZER_STATE + SCHEDULER_STATE + FILE_MISUSE)


@pytest.mark.parametrize("row", params(ROWS))
def test_bad_call_raises_a_clear_error_and_changes_nothing(row: Bad) -> None:
    check_bad_call(row)


def test_the_battery_has_at_least_120_distinct_rows() -> None:
    from tests.reliability import test_bad_calls_ops

    ids = [row.id for row in ROWS + test_bad_calls_ops.ROWS]
    assert len(ids) >= 120 and len(set(ids)) == len(ids)
