"""Run PyTorch MobileNetV3-small weights in minigrad, and send minigrad's weights back.

1. With torch installed (the `interop` extra: pip install 'minigrad-mobilenet[interop]'), a
   torch MobileNetV3-small (torchvision's when installed, else the plain-torch twin written out
   below, the same module tree) gets realistic BatchNorm statistics from a few batches, is saved
   with `torch.save(state_dict)`, and its eval logits on a fixed batch are kept.
2. Without torch (that code path never imports it), `load_torch` reads the `.pth` into
   `minigrad.models.mobilenet_v3_small`, which predicts the same batch; the script prints the
   largest absolute difference from torch's logits and how many top-1 classes agree.
3. `save_torch` writes minigrad's state dict back in torch's format, and torch loads it with
   `weights_only=True` and matches again.

    python examples/from_torch.py                   # 224×224, batch of 4
    python examples/from_torch.py --image-size 96   # quicker
    python examples/from_torch.py --checkpoint w.pth  # any V3-small .pth; torch not needed
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import minigrad
from minigrad import models
from minigrad.torch_checkpoint import load_torch, save_torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Making the checkpoint and checking the export need torch (the 'interop' extra); "
               "--checkpoint runs with minigrad alone.")
    parser.add_argument("--image-size", type=int, default=224,
                        help="height and width of the random images (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=4,
                        help="number of images (default: %(default)s)")
    parser.add_argument("--checkpoint", type=Path,
                        help="load this MobileNetV3-small .pth (no torch needed) instead of "
                             "making one with torch (default: make one)")
    return parser.parse_args()


# torchvision's MobileNetV3-small stages: in, kernel, expanded, out, squeeze-excite, act, stride
V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


def torch_twin():
    """torchvision's MobileNetV3-small if installed, else the same module tree in plain torch."""
    try:
        import torchvision

        return torchvision.models.mobilenet_v3_small()
    except ImportError:
        return plain_torch_mobilenet_v3_small()


def plain_torch_mobilenet_v3_small():
    """torchvision's MobileNetV3-small (module names, shapes, BatchNorm eps and momentum) in
    plain torch, so that its state dict has torchvision's keys."""
    from torch import nn

    def conv_bn(cin, cout, k, stride=1, groups=1, act=None):  # torchvision's Conv2dNormActivation
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
        return nn.Sequential(*layers, *([act()] if act else []))

    class SqueezeExcitation(nn.Module):
        def __init__(self, channels, squeezed):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1, self.fc2 = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)
            self.activation, self.scale_activation = nn.ReLU(), nn.Hardsigmoid()

        def forward(self, x):
            scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
            return x * self.scale_activation(scale)

    class InvertedResidual(nn.Module):
        def __init__(self, cin, k, exp, cout, se, act, stride):
            super().__init__()
            act = nn.Hardswish if act == "HS" else nn.ReLU
            layers = [conv_bn(cin, exp, 1, act=act)] if exp != cin else []
            layers.append(conv_bn(exp, exp, k, stride, groups=exp, act=act))
            if se:  # squeezed to exp / 4, rounded to a multiple of 8
                layers.append(SqueezeExcitation(exp, max(8, (exp // 4 + 4) // 8 * 8)))
            self.block = nn.Sequential(*layers, conv_bn(exp, cout, 1))
            self.use_res_connect = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.block(x) if self.use_res_connect else self.block(x)

    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(conv_bn(3, 16, 3, 2, act=nn.Hardswish),
                                          *[InvertedResidual(*stage) for stage in V3_SMALL],
                                          conv_bn(96, 576, 1, act=nn.Hardswish))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(),
                                            nn.Dropout(0.2), nn.Linear(1024, 1000))

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    return MobileNetV3()


def make_torch_checkpoint(path: Path, images: np.ndarray) -> np.ndarray:
    """Save a torch V3-small with calibrated BatchNorm to `path`; return its logits on images."""
    try:
        import torch
    except ImportError:
        raise SystemExit("torch is not installed (pip install 'minigrad-mobilenet[interop]'): "
                         "pass --checkpoint with a MobileNetV3-small .pth") from None

    torch.manual_seed(0)
    twin = torch_twin().train()
    with torch.no_grad():  # a few train-mode passes move the running statistics off 0 and 1
        for _ in range(3):
            twin(torch.randn(8, *images.shape[1:]))
    torch.save(twin.state_dict(), path)
    with torch.no_grad():
        return twin.eval()(torch.from_numpy(images)).numpy()


def minigrad_logits(path: Path, images: np.ndarray) -> tuple[models.MobileNetV3, np.ndarray]:
    """Load the `.pth` with `load_torch` (no torch involved) and predict."""
    model = models.mobilenet_v3_small()
    model.load_state_dict(load_torch(path))
    model.eval()
    with minigrad.no_grad():
        return model, model(minigrad.tensor(images)).numpy()


def report(name: str, logits: np.ndarray, reference: np.ndarray) -> None:
    agree = int((logits.argmax(1) == reference.argmax(1)).sum())
    print(f"{name}: max abs difference {np.abs(logits - reference).max():.2e} (logits up to "
          f"{np.abs(reference).max():.2e}), top-1 agreement {agree}/{len(logits)}")


def export_check(model: models.MobileNetV3, images: np.ndarray, logits: np.ndarray,
                 folder: Path) -> None:
    """minigrad -> `save_torch` -> `torch.load(weights_only=True)` -> torch twin."""
    import torch

    path = folder / "from_minigrad.pth"
    save_torch(model.state_dict(), path)
    twin = torch_twin().eval()
    twin.load_state_dict(torch.load(path, weights_only=True))
    with torch.no_grad():
        report("torch on minigrad's export", twin(torch.from_numpy(images)).numpy(), logits)


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(0)
    images = rng.standard_normal((args.batch, 3, args.image_size, args.image_size))
    images = images.astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = args.checkpoint or Path(folder) / "mobilenet_v3_small.pth"
        reference = None if args.checkpoint else make_torch_checkpoint(path, images)
        model, logits = minigrad_logits(path, images)
        print(f"loaded {path.name}: {sum(p.data.size for p in model.parameters()):,} "
              f"parameters, logits {logits.shape}")
        if reference is not None:
            report("minigrad vs torch", logits, reference)
            export_check(model, images, logits, Path(folder))


if __name__ == "__main__":
    main()
