"""torch twins of minigrad's own blocks and models. This module imports torch: minigrad
imports it only inside the conversion functions, never when minigrad is imported.

A twin is a `torch.nn.Module` whose children are the translated children of the minigrad
module and whose `forward` is the minigrad module's `forward`, written in torch. Only modules
that have a `forward` of their own need one; layers map onto `torch.nn` classes directly.
The classes live at module level, so torch modules built from them pickle, e.g. into
`torch.multiprocessing` workers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F


class Twin(torch.nn.Module):
    """A module built from finished children and the plain attributes `forward` reads."""

    def __init__(self, children: Iterable[tuple[str, torch.nn.Module]],
                 attributes: dict[str, Any]) -> None:
        super().__init__()
        for name, value in attributes.items():
            setattr(self, name, value)
        for name, child in children:
            self.add_module(name, child)


class Conv2dNormActivation(torch.nn.Sequential):
    """Conv, norm and optional activation in a row."""

    def __init__(self, children: Iterable[tuple[str, torch.nn.Module]],
                 attributes: dict[str, Any]) -> None:
        super().__init__()
        for name, child in children:
            self.add_module(name, child)


class DepthwiseSeparableConv(Twin):
    dw: torch.nn.Module
    pw: torch.nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class InvertedResidual(Twin):
    use_res_connect: bool
    conv: torch.nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class SqueezeExcitation(Twin):
    avgpool: torch.nn.Module
    fc1: torch.nn.Module
    activation: torch.nn.Module
    fc2: torch.nn.Module
    scale_activation: torch.nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return scale * x


class InvertedResidualV3(Twin):
    block: torch.nn.Module
    use_res_connect: bool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        if self.use_res_connect:
            y = y + x
        return y


class MobileNetV1(Twin):
    features: torch.nn.Module
    avgpool: torch.nn.Module
    classifier: torch.nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.classifier(x)


class MobileNetV2(Twin):
    features: torch.nn.Module
    classifier: torch.nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.classifier(x)


class MobileNetV3(MobileNetV1):
    pass


def twin_classes() -> dict[str, type]:
    """The twin classes by the name of the minigrad class they stand for."""
    return {cls.__name__: cls for cls in (
        Conv2dNormActivation, DepthwiseSeparableConv, InvertedResidual, SqueezeExcitation,
        InvertedResidualV3, MobileNetV1, MobileNetV2, MobileNetV3)}
