"""pyproject.toml: the license, one version, extras that refer to each other, and a `test` extra
that installs every package the tests, the examples and minigrad's optional paths import."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

import minigrad

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"sklearn": "scikit-learn"}
# imported only under `except ImportError` with a fallback, never needed by a test
OPTIONAL = {"torchvision"}


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", r).group(0).lower() for r in requirements}


def imported_top_level_names(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def optional_module_names() -> set[str]:
    """Modules minigrad loads through its `_optional` helper, e.g. ("sklearn.datasets", ...)."""
    source = (ROOT / "minigrad" / "data" / "datasets.py").read_text()
    return {name.split(".")[0] for name in re.findall(r'_optional\("([\w.]+)"', source)}


def test_license_is_mit_with_its_file_and_the_version_is_written_once():
    project = PROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "minigrad.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", minigrad.__version__)
    assert project["authors"] and project["classifiers"]


def test_dev_extra_refers_to_the_test_extra_and_adds_the_linters():
    extras = PROJECT["project"]["optional-dependencies"]
    assert requirement_names(extras["dev"]) == {"minigrad-mobilenet[test]", "ruff", "mypy"}


def test_test_extra_installs_everything_the_tests_examples_and_optional_paths_import():
    extras = PROJECT["project"]["optional-dependencies"]
    installed = requirement_names(extras["test"] + PROJECT["project"]["dependencies"])
    imported = set()
    for folder in ("tests", "examples", "minigrad"):
        imported |= imported_top_level_names(ROOT / folder)
    imported |= optional_module_names()
    imported -= {path.stem for path in (ROOT / "examples").glob("*.py")}  # the examples' own
    third_party = imported - set(sys.stdlib_module_names) - {"minigrad", "tests"} - OPTIONAL
    missing = {DISTRIBUTIONS.get(name, name).lower() for name in third_party} - installed
    assert not missing, f"imported but not in the test extra: {sorted(missing)}"
