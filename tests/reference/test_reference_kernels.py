"""What makes a reference kernel one: no thread pool or fast code imported, every Function at
most 40 lines of code (docstrings, comments and blank lines not counted), and a docstring that
links an existing section of docs/derivations.md."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "minigrad" / "reference").glob("*.py"))
KERNEL_MODULES = [m for m in MODULES if m.name != "__init__.py"]


def _imports(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def _code_lines(source: str, tree: ast.Module) -> set[int]:
    """Line numbers holding code: not blank, not only a comment, not part of a docstring."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines |= set(range(token.start[0], token.end[0] + 1))
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and \
                ast.get_docstring(node) is not None:
            doc = node.body[0]
            lines -= set(range(doc.lineno, doc.end_lineno + 1))
    return lines


def _function_classes(tree: ast.Module) -> list[ast.ClassDef]:
    return [node for node in tree.body if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", None) == "Function" for base in node.bases)]


def test_there_are_reference_kernels():
    assert KERNEL_MODULES and all(_function_classes(ast.parse(m.read_text()))
                                  for m in KERNEL_MODULES)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_reference_module_imports_no_threads_and_no_fast_code(module):
    for name in _imports(ast.parse(module.read_text())):
        assert not name.startswith(("minigrad.fast", "threading", "concurrent")), name


@pytest.mark.parametrize("module", KERNEL_MODULES, ids=lambda m: m.name)
def test_reference_function_has_at_most_40_lines_of_code(module):
    source = module.read_text()
    tree = ast.parse(source)
    code = _code_lines(source, tree)
    for cls in _function_classes(tree):
        size = len([n for n in code if cls.lineno <= n <= cls.end_lineno])
        assert size <= 40, f"{module.name}: {cls.name} has {size} lines of code"


@pytest.mark.parametrize("module", KERNEL_MODULES, ids=lambda m: m.name)
def test_reference_function_docstring_links_its_derivation(module):
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "derivations.md").read_text(), re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    for cls in _function_classes(ast.parse(module.read_text())):
        links = re.findall(r"derivations\.md#([\w\-]+)", ast.get_docstring(cls) or "")
        assert links, f"{cls.name} links no section of docs/derivations.md"
        assert all(link in anchors for link in links), (cls.name, links)
