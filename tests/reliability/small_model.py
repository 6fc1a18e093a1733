"""A small MobileNetV2 for long-run tests: the real blocks, three of them deep."""

from __future__ import annotations

from minigrad import nn
from minigrad.models import Conv2dNormActivation, InvertedResidual
from minigrad.models.layers import init_weights


def small_mobilenet_v2(num_classes: int = 10) -> nn.Module:
    """MobileNetV2's stem, residual and strided inverted residuals, dropout and classifier:
    the same ops as the full model at a fifth of the Python work per step.

    Shape: (N, 3, H, W) -> (N, num_classes).
    """
    model = nn.Sequential(
        Conv2dNormActivation(3, 8, 3, 2),
        InvertedResidual(8, 8, 1, 6),
        InvertedResidual(8, 16, 2, 6),
        InvertedResidual(16, 16, 1, 6),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, num_classes),
    )
    init_weights(model)
    return model
