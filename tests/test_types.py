"""`mypy minigrad` passes with the project's configuration, and user code gets precise types:
`model(x)` is a Tensor and `loss.item()` a float, not Any (which would let any mistake through).

One mypy run checks the package and a small typed script together (a cold run takes ~20 s).
mypy is in the `test` extra, so a missing mypy fails here rather than skipping.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# each `reveal_type` line ends with the type mypy must reveal; the `bad:` lines must be errors
USAGE = '''
import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models import mobilenet_v2


class TwoLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        return self.body(x)


@minigrad.no_grad
def double(x: minigrad.Tensor) -> minigrad.Tensor:
    return x * 2


x = minigrad.randn(2, 4)
model = TwoLayers()
loss = F.cross_entropy(model(x), minigrad.tensor([0, 2]))
net = mobilenet_v2(num_classes=3)
optimizer = minigrad.optim.SGD(model.parameters(), lr=0.1)
reveal_type(model(x))  # minigrad.tensor.Tensor
reveal_type(net(minigrad.randn(1, 3, 32, 32)))  # minigrad.tensor.Tensor
reveal_type(nn.Sequential(nn.Linear(4, 3))(x))  # minigrad.tensor.Tensor
reveal_type(loss)  # minigrad.tensor.Tensor
reveal_type(nn.CrossEntropyLoss()(model(x), minigrad.tensor([0, 2])))  # minigrad.tensor.Tensor
reveal_type(loss.item())  # float
reveal_type(loss.backward())  # None
reveal_type(optimizer.step())  # None
reveal_type(x.max())  # minigrad.tensor.Tensor
reveal_type(x.max(1).indices)  # minigrad.tensor.Tensor
reveal_type(x.size())  # tuple[int, ...]
reveal_type(x.grad)  # minigrad.tensor.Tensor | None
reveal_type(double)  # def (x: minigrad.tensor.Tensor) -> minigrad.tensor.Tensor
reveal_type(minigrad.no_grad())  # minigrad.autograd.no_grad
bad_item: str = loss.item()
bad_output: str = model(x)
'''
EXPECTED_ERRORS = {"bad_item", "bad_output"}


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """mypy's output lines for the package and the usage script, checked in one run."""
    try:
        from mypy import api
    except ImportError:
        pytest.fail("mypy is in the `test` extra but not installed: pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("types")
    script = folder / "usage.py"
    script.write_text(USAGE)
    stdout, stderr, _ = api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(folder / "cache"),
        "--show-error-codes", "--no-color-output", "--no-error-summary",
        str(ROOT / "minigrad"), str(script),
    ])
    assert not stderr, stderr
    return stdout.splitlines()


def test_mypy_reports_no_error_in_minigrad(mypy_report: list[str]) -> None:
    errors = [line for line in mypy_report if ": error:" in line and "usage.py" not in line]
    assert not errors, "\n".join(errors)


def test_model_outputs_losses_and_items_have_precise_types(mypy_report: list[str]) -> None:
    lines = USAGE.splitlines()
    wanted = {number: line.rsplit("  # ", 1)[1] for number, line in enumerate(lines, 1)
              if line.startswith("reveal_type(")}
    revealed = {}
    for line in mypy_report:
        match = re.match(r".*usage\.py:(\d+): note: Revealed type is \"(.*)\"$", line)
        if match:
            revealed[int(match.group(1))] = match.group(2)
    assert revealed == wanted


def test_type_mistakes_in_user_code_are_caught(mypy_report: list[str]) -> None:
    lines = USAGE.splitlines()
    flagged = set()
    for line in mypy_report:
        match = re.match(r".*usage\.py:(\d+): error: .*\[assignment\]$", line)
        if match:
            flagged.add(lines[int(match.group(1)) - 1].split(":")[0])
    assert flagged == EXPECTED_ERRORS
    other = [line for line in mypy_report if "usage.py" in line and ": error:" in line
             and "[assignment]" not in line]
    assert not other, "\n".join(other)
