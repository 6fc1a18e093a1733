"""Plain-torch twins of the minigrad MobileNets, laid out exactly as torchvision's models
(module tree, parameter names, hyper-parameters), the oracle for `tests/models`.

torchvision cannot be installed beside this torch, so the twins are written out here.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn


def make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvNormAct(nn.Sequential):
    def __init__(self, cin, cout, kernel_size=3, stride=1, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU6):
        layers = [nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2,
                            groups=groups, bias=False), norm_layer(cout)]
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.dw = ConvNormAct(cin, cin, 3, stride, groups=cin, activation_layer=nn.ReLU)
        self.pw = ConvNormAct(cin, cout, 1, activation_layer=nn.ReLU)

    def forward(self, x):
        return self.pw(self.dw(x))


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [ConvNormAct(inp, hidden, 1)] if expand_ratio != 1 else []
        layers += [ConvNormAct(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x):
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class InvertedResidualV3(nn.Module):
    def __init__(self, cin, kernel, expanded, cout, use_se, act, stride, norm_layer):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        act_layer = nn.Hardswish if act == "HS" else nn.ReLU
        conv = partial(ConvNormAct, norm_layer=norm_layer, activation_layer=act_layer)
        layers = [conv(cin, expanded, 1)] if expanded != cin else []
        layers.append(conv(expanded, expanded, kernel, stride, groups=expanded))
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(ConvNormAct(expanded, cout, 1, norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res_connect else y


def _init(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=1000, width_mult=1.0, small_input=False, dropout=0.0,
                 in_channels=3):
        super().__init__()
        rows = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
        cin = make_divisible(32 * width_mult)
        layers = [ConvNormAct(in_channels, cin, 3, 1 if small_input else 2,
                              activation_layer=nn.ReLU)]
        first_stride2 = small_input
        for c, s in rows:
            if s == 2 and first_stride2:
                s, first_stride2 = 1, False
            cout = make_divisible(c * width_mult)
            layers.append(DepthwiseSeparable(cin, cout, s))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(cin, num_classes))
        _init(self)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, width_mult=1.0, small_input=False, dropout=0.2,
                 in_channels=3):
        super().__init__()
        rows = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                [6, 160, 3, 2], [6, 320, 1, 1]]
        if small_input:
            rows[1][3] = 1
        cin = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers = [ConvNormAct(in_channels, cin, 3, 1 if small_input else 2)]
        for t, c, n, s in rows:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(ConvNormAct(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        _init(self)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1), (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]
V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


def _adjust(channels, width_mult):
    return make_divisible(channels * width_mult)


class MobileNetV3(nn.Module):
    def __init__(self, rows, last_channel, num_classes=1000, width_mult=1.0, small_input=False,
                 dropout=0.2, in_channels=3):
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        adjust = partial(_adjust, width_mult=width_mult)
        first = adjust(rows[0][0])
        layers = [ConvNormAct(in_channels, first, 3, 1 if small_input else 2, norm_layer=norm,
                              activation_layer=nn.Hardswish)]
        first_stride2 = small_input
        for cin, k, exp, cout, se, act, s in rows:
            if s == 2 and first_stride2:
                s, first_stride2 = 1, False
            layers.append(InvertedResidualV3(adjust(cin), k, adjust(exp), adjust(cout), se, act,
                                             s, norm))
        last_in = adjust(rows[-1][3])
        layers.append(ConvNormAct(last_in, 6 * last_in, 1, norm_layer=norm,
                                  activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = adjust(last_channel)
        self.classifier = nn.Sequential(nn.Linear(6 * last_in, last), nn.Hardswish(),
                                        nn.Dropout(dropout), nn.Linear(last, num_classes))
        _init(self)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v1(**kwargs):
    return MobileNetV1(**kwargs)


def mobilenet_v2(**kwargs):
    return MobileNetV2(**kwargs)


def mobilenet_v3_large(**kwargs):
    return MobileNetV3(V3_LARGE, 1280, **kwargs)


def mobilenet_v3_small(**kwargs):
    return MobileNetV3(V3_SMALL, 1024, **kwargs)
