"""Prototype in minigrad, then scale out in PyTorch: train a small MobileNetV2 on the 8×8
digits for a few epochs with minigrad, carry the model and its SGD state across with
`minigrad.interop`, and go on training with DistributedDataParallel on N local CPU processes.

    python examples/continue_in_torch.py                          # 2 processes, ~30 s
    python examples/continue_in_torch.py --nproc 2 --epochs 3 --steps 40

Each torch process takes a batch of the size minigrad trained with, so one torch step sees N
batches; gradients are averaged over the processes (gloo, 127.0.0.1 only). The model has no
dropout, so the first torch step's losses can be checked against the losses minigrad gets on
the same batches. `--out DIR` keeps each process's final weights and a `report.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import models
from minigrad.data import DataLoader, TensorDataset
from minigrad.data.datasets import load_digits, train_test_split
from minigrad.interop import to_torch, torch_optimizer_state
from minigrad.optim import SGD


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nproc", type=int, default=2,
                        help="torch processes, the DDP replicas (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2,
                        help="minigrad epochs before the move (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20,
                        help="torch steps after the move (default: %(default)s)")
    parser.add_argument("--width", type=float, default=0.35,
                        help="MobileNetV2 width multiplier (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="batch size, per process in torch (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=0.05,
                        help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights, split and shuffling (default: %(default)s)")
    parser.add_argument("--subset", type=int,
                        help="train on this many images only, for quick runs (default: all)")
    parser.add_argument("--out", type=Path,
                        help="folder for report.json and the weights (default: a temporary one)")
    args = parser.parse_args()
    for name in ("nproc", "epochs", "steps", "batch_size", "subset"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def load_data(seed: int) -> dict[str, np.ndarray]:
    """scikit-learn's digits as float32 (N, 1, 8, 8), normalised with the training mean/std."""
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=0.2,
                                                        seed=seed, stratify=True)
    mean, std = x_train.mean(), x_train.std()
    return {"x_train": ((x_train - mean) / std).astype(np.float32), "y_train": y_train,
            "x_test": ((x_test - mean) / std).astype(np.float32), "y_test": y_test}


def torch_batches(n_train: int, steps: int, nproc: int, batch_size: int, seed: int
                  ) -> np.ndarray:
    """Sample indices (steps, nproc, batch_size): process r's batch at torch step k."""
    needed = steps * nproc * batch_size
    rng = np.random.default_rng(seed + 1)
    order = np.concatenate([rng.permutation(n_train) for _ in range(needed // n_train + 1)])
    return order[:needed].reshape(steps, nproc, batch_size)


def train_in_minigrad(args: argparse.Namespace, data: dict[str, np.ndarray]):
    model = models.mobilenet_v2(num_classes=10, width_mult=args.width, small_input=True,
                                dropout=0.0, in_channels=1)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                    weight_decay=5e-5)
    loader = DataLoader(TensorDataset(minigrad.tensor(data["x_train"]),
                                      minigrad.tensor(data["y_train"])),
                        batch_size=args.batch_size, shuffle=True, drop_last=True, seed=args.seed)
    for epoch in range(1, args.epochs + 1):
        losses = []
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"minigrad epoch {epoch}: loss {np.mean(losses):.4f}")
    return model, optimizer


def minigrad_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with minigrad.no_grad():
        predicted = model(minigrad.tensor(x)).data.argmax(axis=1)
    model.train()
    return float((predicted == y).mean())


def minigrad_losses(model, data: dict[str, np.ndarray], batches: np.ndarray) -> list[float]:
    """The loss minigrad's next step would have on each process's first batch (train mode,
    so BatchNorm uses that batch's statistics, as each DDP replica does)."""
    losses = []
    with minigrad.no_grad():
        for indices in batches:
            logits = model(minigrad.tensor(data["x_train"][indices]))
            losses.append(F.cross_entropy(logits, minigrad.tensor(data["y_train"][indices])).item())
    return losses


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torch_worker(rank: int, nproc: int, port: int, model, optimizer_state: dict,
                 data: dict[str, np.ndarray], batches: np.ndarray, out: str) -> None:
    """One DDP replica: continue training, save its weights, leave the process group."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=nproc)
    try:
        ddp = DistributedDataParallel(model)
        optimizer = torch.optim.SGD(ddp.parameters())
        optimizer.load_state_dict(optimizer_state)  # lr, momentum buffers: minigrad's
        x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
        losses = []
        for step_batches in batches:
            indices = torch.from_numpy(step_batches[rank])
            loss = torch.nn.functional.cross_entropy(ddp(x[indices]), y[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()
    record = {"rank": rank, "losses": losses, "accuracy": torch_accuracy(model, data),
              "process_group_initialized_after_exit": dist.is_initialized()}
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record))


def torch_accuracy(model, data: dict[str, np.ndarray]) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data["x_test"])).argmax(dim=1).numpy()
    model.train()
    return float((predicted == data["y_test"]).mean())


def replicas_identical(out: Path, nproc: int) -> bool:
    import torch

    states = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(nproc)]
    return all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in states[0])


def main() -> None:
    import torch.multiprocessing as mp

    args = parse_args()
    minigrad.manual_seed(args.seed)
    minigrad.set_num_threads(1)
    data = load_data(args.seed)
    if args.subset is not None:
        data["x_train"], data["y_train"] = (data["x_train"][:args.subset],
                                            data["y_train"][:args.subset])
    model, optimizer = train_in_minigrad(args, data)
    before = minigrad_accuracy(model, data["x_test"], data["y_test"])
    print(f"held-out accuracy after {args.epochs} minigrad epochs: {100 * before:.2f}%")

    torch_model = to_torch(model)
    optimizer_state = torch_optimizer_state(optimizer)
    batches = torch_batches(len(data["x_train"]), args.steps, args.nproc, args.batch_size,
                            args.seed)
    expected = minigrad_losses(model, data, batches[0])
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        mp.spawn(torch_worker, nprocs=args.nproc, join=True,
                 args=(args.nproc, free_port(), torch_model, optimizer_state, data, batches,
                       str(out)))
        records = [json.loads((out / f"rank{r}.json").read_text()) for r in range(args.nproc)]
        identical = replicas_identical(out, args.nproc)
        report = {"minigrad_accuracy": before, "minigrad_next_losses": expected,
                  "torch_ranks": records, "replicas_identical": identical}
        (out / "report.json").write_text(json.dumps(report, indent=2))
    first = [r["losses"][0] for r in records]
    print(f"first torch step, loss per process: {', '.join(f'{v:.6f}' for v in first)}")
    print(f"minigrad's next step on those batches: {', '.join(f'{v:.6f}' for v in expected)}")
    print(f"after {args.steps} DDP steps on {args.nproc} processes: loss "
          f"{records[0]['losses'][-1]:.4f}, held-out accuracy "
          f"{100 * records[0]['accuracy']:.2f}%")
    print(f"replicas identical: {identical}; process groups shut down: "
          f"{not any(r['process_group_initialized_after_exit'] for r in records)}")


if __name__ == "__main__":
    main()
