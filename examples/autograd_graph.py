"""The autograd graph of one MobileNet V2 inverted-residual block, as Graphviz DOT.

One forward through `InvertedResidual(8, 8, stride=1, expand_ratio=6)` records the ops
(pointwise conv, BatchNorm, ReLU6, depthwise conv, ..., the residual
add); `minigrad.utils.to_dot` writes them with the parameter names on the leaves. If the
Graphviz `dot` program is installed, the graph is also rendered to SVG and PNG next to the
DOT file.

Run: python examples/autograd_graph.py [output.dot]   (default: inverted_residual.dot)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import minigrad
from minigrad.models import InvertedResidual
from minigrad.utils import to_dot


def main(path: Path) -> None:
    minigrad.manual_seed(0)
    block = InvertedResidual(8, 8, stride=1, expand_ratio=6)
    x = minigrad.randn(1, 8, 6, 6, requires_grad=True)
    dot = to_dot(block(x), params=dict(block.named_parameters()))
    path.write_text(dot)
    nodes = sum(1 for line in dot.splitlines() if "[label=" in line)
    edges = dot.count(" -> ")
    print(f"wrote {path}: {nodes} nodes, {edges} edges")
    if shutil.which("dot") is None:
        print("Graphviz 'dot' not found: render later with  dot -Tsvg "
              f"{path} -o {path.with_suffix('.svg')}")
        return
    for fmt in ("svg", "png"):
        target = path.with_suffix(f".{fmt}")
        subprocess.run(["dot", f"-T{fmt}", str(path), "-o", str(target)], check=True)
        print(f"rendered {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "inverted_residual.dot"))
