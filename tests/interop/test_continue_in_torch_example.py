"""examples/continue_in_torch.py: minigrad training carried into DistributedDataParallel on
two local processes continues seamlessly (first torch losses equal minigrad's next ones), the
replicas end identical, and every process leaves its process group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "continue_in_torch.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    done = _run("--nproc", "2", "--epochs", "1", "--steps", "3", "--subset", "128",
                "--width", "0.25", "--batch-size", "32", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return done, out, json.loads((out / "report.json").read_text())


def test_the_first_torch_step_continues_minigrads_training(run):
    _, _, report = run
    first = [rank["losses"][0] for rank in report["torch_ranks"]]
    expected = report["minigrad_next_losses"]
    assert len(first) == len(expected) == 2
    assert first[0] != first[1]  # the two processes saw different batches
    # float32 noise: the same net in two frameworks, summed in different orders
    np.testing.assert_allclose(first, expected, rtol=2e-5)


def test_the_replicas_end_with_identical_weights(run):
    _, out, _ = run
    states = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert list(states[0]) == list(states[1])
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    # after every process ran its three steps
    report_losses = [rank["losses"] for rank in run[2]["torch_ranks"]]
    assert all(len(losses) == 3 for losses in report_losses)


def test_every_process_left_its_process_group(run):
    done, _, report = run
    assert [rank["process_group_initialized_after_exit"] for rank in report["torch_ranks"]] \
        == [False, False]
    assert "Traceback" not in done.stderr
    assert "held-out accuracy after 1 minigrad epochs" in done.stdout
    assert "after 3 DDP steps on 2 processes" in done.stdout


def test_help_lists_the_flags():
    done = _run("--help")
    assert done.returncode == 0
    for flag in ("--nproc", "--epochs", "--steps"):
        assert flag in done.stdout
