"""The examples run as scripts and print the numbers their docstrings promise; every one of
them behaves as a command-line tool (`--help` with its defaults, no stray files)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


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


def run_script_in(folder: Path, script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], cwd=folder, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def help_entries(text: str) -> list[str]:
    """The argument entries of an argparse help text, each with its continuation lines."""
    entries: list[str] = []
    section = False
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            section = line in ("options:", "optional arguments:", "positional arguments:")
        elif section and re.match(r"^  \S", line):
            entries.append(line)
        elif section and line.startswith("   ") and entries:
            entries[-1] += " " + line.strip()
    return entries


def test_help_entries_joins_continuation_lines():
    text = ("usage: x\n\noptions:\n  -h, --help  show\n  --seed SEED  the seed\n"
            "               (default: 0)\n\nepilog\n")
    assert help_entries(text) == ["  -h, --help  show", "  --seed SEED  the seed (default: 0)"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_answers_help_with_its_defaults_and_writes_nothing(script, tmp_path):
    done = run_script_in(tmp_path, script, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script.name}")
    entries = [e for e in help_entries(done.stdout) if not e.lstrip().startswith("-h, --help")]
    assert entries, f"{script.name} --help lists no arguments"
    for entry in entries:
        assert "default" in entry, f"{script.name} --help shows no default for: {entry.strip()}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_refuses_an_unknown_argument_and_writes_nothing(script, tmp_path):
    done = run_script_in(tmp_path, script, "--no-such-option")
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-option" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_from_torch_round_trips_without_the_repository_tests():
    source = (EXAMPLES / "from_torch.py").read_text()
    assert "tests" not in re.findall(r"^\s*(?:from|import) (\w+)", source, flags=re.M)
    out = run_example("from_torch.py", "--image-size", "32", "--batch", "2")
    assert "loaded mobilenet_v3_small.pth: 2,542,856 parameters, logits (2, 1000)" in out
    differences = re.findall(r"max abs difference (\S+) .* top-1 agreement 2/2\n", out)
    assert len(differences) == 2 and all(float(d) < 1e-5 for d in differences)


def test_autograd_graph_without_dot_writes_the_dot_file_and_says_how_to_render(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / "autograd_graph.py"), "g.dot",
                           "--format", "svg"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "render: Graphviz's 'dot' program was not found on PATH" in done.stdout
    assert "render later with: dot -Tsvg g.dot -o g.svg" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
