"""The three examples run as scripts and print the numbers their docstrings promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_separable_conv_params_prints_the_tutorial_numbers():
    out = run_example("separable_conv_params.py")
    assert re.search(r"standard conv weights:\s+108\n", out)
    assert re.search(r"depthwise weights:\s+27\n", out)
    assert re.search(r"pointwise weights:\s+12\n", out)
    assert re.search(r"separable weights:\s+39 \(36\.1% of standard\)", out)
    assert "multiplications:        standard 972, separable 351" in out
    differences = re.search(r"max difference: standard (\S+), separable (\S+)\n", out)
    assert all(float(d) < 1e-12 for d in differences.groups())
    assert re.search(r"standard params:\s+18,496\n", out)
    assert re.search(r"separable params:\s+2,432 \(depthwise 320 \+ pointwise 2,112, 13\.1%", out)
    assert "1/64 + 1/9 = 0.1267" in out
    table = {name: (params, macs)
             for name, params, macs in re.findall(r"(mobilenet_\w+)\s+([\d,]+)\s+([\d.]+M)", out)}
    assert table == {"mobilenet_v1": ("4,231,976", "568.7M"),
                     "mobilenet_v2": ("3,504,872", "300.8M"),
                     "mobilenet_v3_small": ("2,542,856", "56.5M"),
                     "mobilenet_v3_large": ("5,483,032", "216.6M")}


def test_gradcheck_blocks_prints_small_errors_for_every_parameter():
    out = run_example("gradcheck_blocks.py")
    assert out.count("gradcheck passed") == 3
    errors = [float(e) for e in re.findall(r"worst relative error (\S+)\n", out)]
    # V1: 2 convs, 2 BNs; V2: 3 convs, 3 BNs; V3: 3 convs, 3 BNs, 2 SE convs with bias
    assert len(errors) == (2 + 4) + (3 + 6) + (3 + 6 + 4)
    assert max(errors) < 1e-5


def test_autograd_graph_writes_the_block_graph(tmp_path):
    target = tmp_path / "block.dot"
    out = run_example("autograd_graph.py", str(target))
    dot = target.read_text()
    assert f"wrote {target}: " in out
    assert dot.startswith('digraph "autograd" {')
    assert '"conv.0.0.weight\\n(48, 8, 1, 1)"' in dot
    assert '"conv.1.0.weight\\n(48, 1, 3, 3)"' in dot
    for op in ("PointwiseConv2d", "DepthwiseConv2d", "ReLU6Function",
               "BatchNormFunction", "Add"):
        assert f'"{op}\\n' in dot
