"""MobileNet V1, V2 and V3: blocks and model builders (V2/V3 laid out as torchvision's)."""

from minigrad.models.layers import Conv2dNormActivation
from minigrad.models.mobilenet_v1 import DepthwiseSeparableConv, MobileNetV1, mobilenet_v1
from minigrad.models.mobilenet_v2 import InvertedResidual, MobileNetV2, mobilenet_v2
from minigrad.models.mobilenet_v3 import (
    InvertedResidualV3,
    MobileNetV3,
    SqueezeExcitation,
    mobilenet_v3_large,
    mobilenet_v3_small,
)

__all__ = [
    "Conv2dNormActivation", "DepthwiseSeparableConv", "InvertedResidual", "InvertedResidualV3",
    "MobileNetV1", "MobileNetV2", "MobileNetV3", "SqueezeExcitation", "mobilenet_v1",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
]
