"""Run PyTorch MobileNetV3-small weights in minigrad, and send minigrad's weights back.

1. With torch installed (the `interop` extra: pip install 'minigrad-mobilenet[interop]'), a
   torch MobileNetV3-small (torchvision's when installed, else minigrad's own converted by
   `minigrad.interop.to_torch`, the same module tree, re-initialised by torch) gets realistic
   BatchNorm statistics from a few batches, is saved with `torch.save(state_dict)`, and its
   eval logits on a fixed batch are kept.
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


def torch_twin():
    """torchvision's MobileNetV3-small if installed, else minigrad's converted to a torch module
    (`minigrad.interop.to_torch`: the same module tree, names and shapes), re-initialised by
    torch so that its weights are torch's own."""
    try:
        import torchvision

        return torchvision.models.mobilenet_v3_small()
    except ImportError:
        from minigrad.interop import to_torch

        twin = to_torch(models.mobilenet_v3_small())
        for module in twin.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        return twin


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
