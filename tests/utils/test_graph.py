"""`to_dot`: op names, shapes, parameter names and edges of a recorded graph; `to_graphviz`
and `render` (with a stand-in `dot`: the tests never need Graphviz installed)."""

from __future__ import annotations

import re
import sys

import pytest

import minigrad
from minigrad.models import InvertedResidual
from minigrad.utils import render, to_dot, to_graphviz


def labels_and_edges(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    labels = dict(re.findall(r'^\s+(\w+) \[label="([^"]*)"', dot, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+);", dot, flags=re.M)
    return labels, edges


def test_to_dot_draws_ops_leaves_and_edges():
    a = minigrad.tensor([[1.0, 2.0]], requires_grad=True)
    b = minigrad.tensor([[3.0], [4.0]], requires_grad=True)
    y = (a * b + a).exp()
    labels, edges = labels_and_edges(to_dot(y, params={"a": a}))
    by_label = {v.split("\\n")[0]: k for k, v in labels.items()}
    assert set(by_label) == {"Exp", "Add", "Mul", "a", "tensor", "output"}
    assert labels[by_label["Mul"]] == "Mul\\n(2, 2)"
    assert labels[by_label["a"]] == "a\\n(1, 2)"
    expected = {("a", "Mul"), ("tensor", "Mul"), ("Mul", "Add"), ("a", "Add"), ("Add", "Exp"),
                ("Exp", "output")}
    named = {(labels[s].split("\\n")[0], labels[t].split("\\n")[0]) for s, t in edges}
    assert named == expected and len(edges) == 6


def test_to_dot_names_the_parameters_of_a_block():
    block = InvertedResidual(4, 4, 1, 2)
    x = minigrad.randn(1, 4, 5, 5, requires_grad=True)
    dot = to_dot(block(x), params=dict(block.named_parameters()))
    for name, p in block.named_parameters():
        assert f'"{name}\\n({", ".join(map(str, p.shape))})"' in dot
    labels, edges = labels_and_edges(dot)
    ops = [v.split("\\n")[0] for v in labels.values()]
    assert ops.count("PointwiseConv2d") == 2 and ops.count("DepthwiseConv2d") == 1
    assert ops.count("BatchNormFunction") == 3 and ops.count("ReLU6Function") == 2
    assert "Add" in ops
    assert dot.startswith('digraph "autograd" {') and dot.rstrip().endswith("}")


def test_to_dot_walks_long_chains_without_recursion():
    x = minigrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    labels, edges = labels_and_edges(to_dot(y))
    assert len(labels) == 5002 and len(edges) == 5001


def test_to_dot_of_a_leaf_is_one_node():
    labels, edges = labels_and_edges(to_dot(minigrad.zeros(2, 3)))
    assert sorted(labels.values()) == ["output\\n(2, 3)", "tensor\\n(2, 3)"] and len(edges) == 1


def test_to_dot_rejects_non_tensors():
    with pytest.raises(TypeError, match="^to_dot: "):
        to_dot([1.0])


def small_graph() -> minigrad.Tensor:
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    return (a * a).sum()


def test_to_graphviz_wraps_the_dot_text():
    y = small_graph()
    assert to_graphviz(y).source == to_dot(y)


def test_render_without_the_dot_program_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on PATH
    target = tmp_path / "graph.svg"
    with pytest.raises(RuntimeError, match=r"render: Graphviz's 'dot' program was not found on "
                                           r"PATH; install Graphviz \(apt-get install graphviz"):
        render(small_graph(), target)
    assert not target.exists()


def test_render_pipes_the_dot_text_through_dot_into_the_file(tmp_path, monkeypatch):
    # a stand-in `dot` that records its arguments and input and answers with a fixed image
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport pathlib, sys\n"
                    f"pathlib.Path({str(tmp_path)!r}, 'args').write_text(' '.join(sys.argv))\n"
                    f"pathlib.Path({str(tmp_path)!r}, 'input').write_text(sys.stdin.read())\n"
                    "sys.stdout.write('<svg>drawn</svg>')\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    y = small_graph()
    written = render(y, tmp_path / "graph.svg")
    assert written.read_text() == "<svg>drawn</svg>"
    assert "-Tsvg" in (tmp_path / "args").read_text()
    assert (tmp_path / "input").read_text() == to_dot(y)
    assert render(y, tmp_path / "graph.out", format="PNG").exists()
    assert "-Tpng" in (tmp_path / "args").read_text()


def test_render_rejects_an_unknown_format_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"render: unknown format 'txt' \(from '.*g\.txt'\)"):
        render(small_graph(), tmp_path / "g.txt")
    assert not (tmp_path / "g.txt").exists()


def test_graph_rendering_without_the_graphviz_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    for call in (lambda: to_graphviz(small_graph()), lambda: render(small_graph(), "g.svg")):
        with pytest.raises(ImportError, match=r"needs the graphviz Python package: pip install "
                                              r"'minigrad-mobilenet\[graph\]'"):
            call()
