"""The autograd graph of one MobileNet V2 inverted-residual block, as Graphviz DOT and pictures.

One forward through `InvertedResidual(8, 8, stride=1, expand_ratio=6)` records the ops
(pointwise conv, BatchNorm, ReLU6, depthwise conv, ..., the residual
add); `minigrad.utils.to_dot` writes them with the parameter names on the leaves. With the
`graph` extra and Graphviz's `dot` program installed, `minigrad.utils.render` also draws it
(`--format svg png`); without them the script says how to render the DOT file later.

    python examples/autograd_graph.py                        # writes inverted_residual.dot
    python examples/autograd_graph.py block.dot --format svg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import minigrad
from minigrad.models import InvertedResidual
from minigrad.utils import render, to_dot


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, default=Path("inverted_residual.dot"),
                        help="the DOT file to write (default: %(default)s)")
    parser.add_argument("--format", nargs="*", default=[], metavar="FMT",
                        help="also render these formats next to it, e.g. svg png (needs the "
                             "'graph' extra and Graphviz's dot; default: none)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    minigrad.manual_seed(0)
    block = InvertedResidual(8, 8, stride=1, expand_ratio=6)
    x = minigrad.randn(1, 8, 6, 6, requires_grad=True)
    y = block(x)
    params = dict(block.named_parameters())
    dot = to_dot(y, params=params)
    args.output.write_text(dot)
    nodes = sum(1 for line in dot.splitlines() if "[label=" in line)
    print(f"wrote {args.output}: {nodes} nodes, {dot.count(' -> ')} edges")
    for fmt in args.format:
        try:
            print(f"rendered {render(y, args.output.with_suffix('.' + fmt), params=params)}")
        except (ImportError, RuntimeError) as missing:
            print(f"{missing}\nrender later with: dot -T{fmt} {args.output} "
                  f"-o {args.output.with_suffix('.' + fmt)}")
            break


if __name__ == "__main__":
    main()
