"""Export the main job's checkpoint to ONNX and score it in onnxruntime on the held-out digits.

    python examples/train_mobilenet.py          # writes runs/mobilenet_v2_mnist.npz
    python examples/export_onnx.py              # writes runs/mobilenet_v2_mnist.onnx

The model is rebuilt as train_mobilenet.py built it (same builder, width, small input, one
input channel), loaded from the checkpoint, exported with `minigrad.onnx.export` (dynamic
batch axis) and run by onnxruntime on the same held-out split; both accuracies are printed,
with how many predictions differ. Needs the `onnx` extra and onnxruntime.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from train_mobilenet import BUILDERS, DEFAULTS, evaluate, load_data

import minigrad
from minigrad.onnx import export


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DEFAULTS), default="mnist",
                        help="the training run's --dataset (default: %(default)s)")
    parser.add_argument("--model", choices=sorted(BUILDERS), default="v2",
                        help="the training run's --model (default: %(default)s)")
    parser.add_argument("--width", type=float, help="width multiplier the checkpoint was "
                                                    "trained with (default: train_mobilenet's)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the training run's --seed, which drew the split "
                             "(default: %(default)s)")
    parser.add_argument("--checkpoint", type=Path,
                        help="default: runs/mobilenet_<model>_<dataset>.npz")
    parser.add_argument("--onnx", type=Path, help="default: the checkpoint's path, .onnx")
    args = parser.parse_args()
    args.width = args.width or DEFAULTS[args.dataset]["width"]
    args.checkpoint = args.checkpoint or Path("runs") / f"mobilenet_{args.model}_{args.dataset}.npz"
    args.onnx = args.onnx or args.checkpoint.with_suffix(".onnx")
    return args


def onnxruntime_logits(path: Path, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = [session.run(None, {"input": x[i:i + batch_size]})[0]
              for i in range(0, len(x), batch_size)]
    return np.concatenate(logits)


def main() -> None:
    args = parse_args()
    _, x_test, _, y_test = load_data(args.dataset, args.seed)
    x_test = x_test.astype(np.float32)
    checkpoint = minigrad.load(args.checkpoint)
    model = BUILDERS[args.model](num_classes=10, width_mult=args.width, small_input=True,
                                 in_channels=x_test.shape[1])
    model.load_state_dict(checkpoint["model"])
    model.eval()
    export(model, minigrad.tensor(x_test[:1]), args.onnx, dynamic_batch=True)
    print(f"exported {args.checkpoint} to {args.onnx}")

    mine = evaluate(model, x_test, y_test)  # as the training run scored it (leaves train mode)
    model.eval()
    with minigrad.no_grad():
        minigrad_logits = model(minigrad.tensor(x_test)).data
    logits = onnxruntime_logits(args.onnx, x_test)
    theirs = float((logits.argmax(axis=1) == y_test).mean())
    differ = int((logits.argmax(axis=1) != minigrad_logits.argmax(axis=1)).sum())
    error = np.abs(logits - minigrad_logits).max() / np.abs(minigrad_logits).max()
    print(f"held-out images: {len(y_test)}; accuracy saved in the checkpoint: "
          f"{100 * float(checkpoint['test_accuracy']):.2f}%")
    print(f"minigrad accuracy:    {100 * mine:.2f}%")
    print(f"onnxruntime accuracy: {100 * theirs:.2f}%")
    print(f"predictions that differ: {differ}; largest logit difference {error:.1e} of the "
          f"largest logit")


if __name__ == "__main__":
    main()
