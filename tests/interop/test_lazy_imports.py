"""Importing minigrad, its interop and its ONNX exporter imports neither torch nor onnx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_minigrad_imports_neither_torch_nor_onnx():
    code = ("import sys, minigrad, minigrad.interop, minigrad.onnx, minigrad.models\n"
            "from minigrad.interop import to_torch, from_torch\n"
            "from minigrad.onnx import export\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'onnx', 'onnxruntime')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
