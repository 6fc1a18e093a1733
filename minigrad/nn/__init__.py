"""Layers and models as in `torch.nn`: `Module`, `Parameter`, containers, layers, and the
submodules `functional` (as `F`), `init` and `utils`."""

from minigrad.nn import functional, init, utils
from minigrad.nn.activation import (
    Hardsigmoid,
    Hardswish,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from minigrad.nn.batchnorm import BatchNorm1d, BatchNorm2d
from minigrad.nn.containers import ModuleDict, ModuleList, Sequential
from minigrad.nn.conv import Conv2d
from minigrad.nn.dropout import Dropout
from minigrad.nn.linear import Flatten, Identity, Linear
from minigrad.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from minigrad.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout",
    "Flatten", "Hardsigmoid", "Hardswish", "Identity", "Linear", "LogSoftmax", "MaxPool2d",
    "Module", "ModuleDict", "ModuleList", "Parameter", "ReLU", "ReLU6", "Sequential", "Sigmoid",
    "SiLU", "Softmax", "Tanh", "functional", "init", "utils",
]
__all__ += ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss", "Upsample",
            "UpsamplingBilinear2d", "UpsamplingNearest2d"]
