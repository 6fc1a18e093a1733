"""Smoke test of the main job: `examples/train_mobilenet.py` on scikit-learn's digits."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import minigrad
from minigrad import models

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_mobilenet.py"


def test_main_job_loss_falls_and_it_saves_a_loadable_checkpoint(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dataset", "digits", "--epochs", "3", "--out",
         str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    losses = [float(v) for v in re.findall(r"epoch\s+\d+\s+loss (\S+)", result.stdout)]
    accuracies = [float(v) for v in re.findall(r"test accuracy (\S+)%", result.stdout)]
    assert len(losses) == 3 and len(accuracies) == 4  # three epochs and the final line
    assert losses[-1] < losses[0]
    assert re.search(r"\d+ images/s", result.stdout)

    checkpoint = minigrad.load(tmp_path / "mobilenet_v2_digits.npz")
    assert checkpoint["epochs"] == 3
    assert np.isclose(100 * checkpoint["test_accuracy"], accuracies[-1], atol=0.01)
    model = models.mobilenet_v2(num_classes=10, width_mult=0.35, small_input=True,
                                in_channels=1)
    model.load_state_dict(checkpoint["model"])
    assert (tmp_path / "mobilenet_v2_digits.png").stat().st_size > 0
