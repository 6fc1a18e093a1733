"""The reference kernels stay readable: no module in minigrad/reference imports the fast
kernels or the thread pool, and each Function's forward and backward together are at most 40
lines of code (docstrings, comments and blank lines not counted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "minigrad" / "reference"
MODULES = sorted(p for p in REFERENCE.glob("*.py") if p.name != "__init__.py")


def _imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _code_lines(source: list[str], node: ast.AST) -> int:
    """Lines of `node` that are neither blank, comments nor docstrings."""
    lines = set(range(node.lineno, node.end_lineno + 1))
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            lines -= set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for n in lines if source[n - 1].strip()
               and not source[n - 1].strip().startswith("#"))


def test_there_are_reference_modules():
    assert {"norm.py", "activation.py"} <= {p.name for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_reference_module_does_not_import_the_fast_kernels_or_threads(path):
    imported = _imported_modules(ast.parse(path.read_text()))
    assert not {name for name in imported if name.startswith("minigrad.fast")
                or "thread" in name}, imported


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_reference_functions_are_at_most_40_lines(path):
    text = path.read_text()
    source, tree = text.splitlines(), ast.parse(text)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert classes, f"{path.name} defines no Function"
    for cls in classes:
        methods = [node for node in cls.body if isinstance(node, ast.FunctionDef)
                   and node.name in ("forward", "backward")]
        assert len(methods) == 2, f"{cls.name}: forward and backward side by side"
        lines = sum(_code_lines(source, method) for method in methods)
        assert lines <= 40, f"{cls.name}: {lines} lines of code"
