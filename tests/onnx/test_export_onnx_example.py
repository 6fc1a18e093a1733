"""examples/export_onnx.py: a checkpoint written by examples/train_mobilenet.py exports and
scores the same held-out accuracy in onnxruntime as in minigrad."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_fresh_checkpoint_scores_the_same_in_onnxruntime(tmp_path):
    _run("train_mobilenet.py", "--dataset", "digits", "--epochs", "2", "--out", str(tmp_path))
    checkpoint = tmp_path / "mobilenet_v2_digits.npz"
    out = _run("export_onnx.py", "--dataset", "digits", "--checkpoint", str(checkpoint))
    saved = re.search(r"accuracy saved in the checkpoint: ([\d.]+)%", out).group(1)
    mine = re.search(r"minigrad accuracy: +([\d.]+)%", out).group(1)
    theirs = re.search(r"onnxruntime accuracy: +([\d.]+)%", out).group(1)
    assert saved == mine == theirs
    assert "predictions that differ: 0;" in out
    error = float(re.search(r"largest logit difference ([\d.e+-]+)", out).group(1))
    assert error <= 1e-5
    onnx.checker.check_model(onnx.load(checkpoint.with_suffix(".onnx")), full_check=True)
