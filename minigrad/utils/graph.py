"""The autograd graph that produced a tensor: `to_dot` (DOT text, no dependencies),
`to_graphviz` (a `graphviz.Source`, which Jupyter displays) and `render` (an SVG, PNG or PDF
file). The last two need the `graph` extra (the `graphviz` Python package); `render` also needs
Graphviz's `dot` program."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from minigrad.autograd import Context
from minigrad.tensor import Tensor


def to_dot(tensor: Tensor, params: Mapping[str, Tensor] | None = None,
           graph_name: str = "autograd") -> str:
    """Describe the recorded graph behind `tensor` in DOT, data flowing top to bottom.

    Ops are boxes labelled with their `Function` name and output shape; leaf tensors are
    ellipses labelled with their parameter name (looked up in `params`, e.g.
    `dict(model.named_parameters())`) or `tensor`, and their shape; the output is a grey
    ellipse. The walk is iterative, so graphs of any depth work.

    Render with `dot -Tsvg graph.dot -o graph.svg`.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = {id(p): name for name, p in (params or {}).items()}
    lines = [f"digraph {_quote(graph_name)} {{", "  node [fontname=monospace];",
             f'  out [label={_quote("output" + _shape(tensor.shape))}, '
             "style=filled, fillcolor=lightgrey];"]
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor
    ids = {id(root): "n0"}
    lines += _node_lines("n0", root, tensor.shape, names)
    lines.append("  n0 -> out;")
    lines += _walk(root, ids, names)
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_graphviz(tensor: Tensor, params: Mapping[str, Tensor] | None = None,
                graph_name: str = "autograd") -> Any:
    """`to_dot`'s graph as a `graphviz.Source` (needs the `graphviz` package, not `dot` yet)."""
    graphviz = _import_graphviz("to_graphviz")
    return graphviz.Source(to_dot(tensor, params, graph_name))


def render(tensor: Tensor, path: str | os.PathLike[str],
           params: Mapping[str, Tensor] | None = None, format: str | None = None) -> Path:
    """Draw the graph behind `tensor` into `path` with Graphviz's `dot`; returns the path.

    Args:
        tensor: the output whose graph is drawn (see `to_dot` for what the nodes show).
        path: the image to write; its suffix gives the format unless `format` is given.
        params: names for the leaves, e.g. `dict(model.named_parameters())`.
        format: any format `dot` writes: "svg", "png", "pdf", ...

    Raises ImportError without the `graphviz` package and RuntimeError without the `dot`
    program, both before `path` is touched.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    graphviz = _import_graphviz("render")
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"render: unknown format {fmt!r} (from {str(path)!r}); use a suffix "
                         "or format= such as 'svg', 'png' or 'pdf'")
    try:
        image = to_graphviz(tensor, params).pipe(format=fmt)
    except graphviz.ExecutableNotFound as missing:
        raise RuntimeError("render: Graphviz's 'dot' program was not found on PATH; install "
                           "Graphviz (apt-get install graphviz, brew install graphviz or conda "
                           "install graphviz), or write DOT with to_dot and render it "
                           "elsewhere") from missing
    path.write_bytes(image)
    return path


def _import_graphviz(caller: str) -> Any:
    try:
        import graphviz
    except ImportError as missing:
        raise ImportError(f"{caller}: needs the graphviz Python package: pip install "
                          "'minigrad-mobilenet[graph]' (and Graphviz's dot program to render)"
                          ) from missing
    return graphviz


def _walk(root: Any, ids: dict[int, str], names: dict[int, str]) -> list[str]:
    """Node and edge lines for everything upstream of `root` (whose own node is written)."""
    lines: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, Context):
            continue
        for parent, shape in zip(node.parents, node.input_shapes):
            if parent is None or shape is None:  # shape is None only for non-tensor inputs
                continue
            if id(parent) not in ids:
                ids[id(parent)] = f"n{len(ids)}"
                lines += _node_lines(ids[id(parent)], parent, shape, names)
                stack.append(parent)
            lines.append(f"  {ids[id(parent)]} -> {ids[id(node)]};")
    return lines


def _node_lines(key: str, node: Any, shape: tuple[int, ...], names: dict[int, str]) -> list[str]:
    if isinstance(node, Context):
        label = node.function.__name__ + _shape(shape)
        return [f"  {key} [label={_quote(label)}, shape=box];"]
    label = names.get(id(node), "tensor") + _shape(node.shape)
    color = "lightblue" if id(node) in names else "white"
    return [f"  {key} [label={_quote(label)}, style=filled, fillcolor={color}];"]


def _shape(shape: tuple[int, ...]) -> str:
    return "\\n(" + ", ".join(str(d) for d in shape) + ")"


def _quote(text: str) -> str:
    # backslashes written by `_shape` are DOT's newline escapes; only quotes need escaping
    return '"' + text.replace('"', '\\"') + '"'
