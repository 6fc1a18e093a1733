"""Docs that cannot drift: every example in README.md and docs/*.md runs and prints what it shows.

The conventions a page follows (docs/tutorial.md is written in them):

- a ```python fence runs; the fences of one page share one namespace, in page order, and run
  in a fresh temporary working directory (so a block may write files);
- an untagged or ```text fence right after a ```python or ```bash fence (only blank lines
  between) is what that block prints, compared line by line; `...` inside a shown line stands
  for any text (as in doctest), for values such as rounding noise that differ between machines;
- a ```bash fence followed by shown output runs its `python examples/<script>.py ...` lines;
  one without shown output is an instruction to the reader (installing, say) and is not run;
- `skip-docs-test: <reason>` after the language (```python skip-docs-test: needs torchvision)
  skips a block, or a shown output, for the stated reason; a shown output that follows no block
  and carries no such mark is an error;
- docs/errors.md's tables give a call and its message on each row: the call must raise that
  exception with that message.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ERRORS_PAGE = ROOT / "docs" / "errors.md"
PYPROJECT_EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
    "optional-dependencies"]
SKIP_MARK = "skip-docs-test:"
OUTPUT_LANGS = {"", "text"}
SHELL_LANGS = {"bash", "sh", "shell", "console"}
RUNNABLE_LANGS = {"python"} | SHELL_LANGS


@dataclass(frozen=True)
class Fence:
    """One fenced block: where it opens and closes (1-based lines), its language and body."""

    start: int
    end: int
    lang: str
    skip: str | None
    body: str


@dataclass(frozen=True)
class Example:
    """A block to run (python or shell) with the output shown after it, or a marked output."""

    page: Path
    code: Fence
    output: Fence | None

    @property
    def skip(self) -> str | None:
        return self.code.skip or (self.output.skip if self.output else None)

    @property
    def id(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.code.start}"


class DocsError(ValueError):
    """A page breaks the conventions above (names the page and line)."""


def read_fences(text: str, name: str = "<page>") -> list[Fence]:
    lines = text.splitlines()
    fences: list[Fence] = []
    i = 0
    while i < len(lines):
        opening = re.match(r"^(`{3,})(.*)$", lines[i])
        if not opening:
            i += 1
            continue
        ticks, info = opening.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == ticks), None)
        if end is None:
            raise DocsError(f"{name}:{i + 1}: the fence opened here is never closed")
        lang, _, rest = info.strip().partition(" ")
        fences.append(Fence(i + 1, end + 1, lang, _skip_reason(rest.strip(), name, i + 1),
                            "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return fences


def _skip_reason(rest: str, name: str, line: int) -> str | None:
    if not rest:
        return None
    if not rest.startswith(SKIP_MARK) or not rest[len(SKIP_MARK):].strip():
        raise DocsError(f"{name}:{line}: after the language only '{SKIP_MARK} <reason>' may "
                        f"follow, got {rest!r}")
    return rest[len(SKIP_MARK):].strip()


def collect(page: Path, text: str | None = None) -> list[Example]:
    """The examples of one page, in order; raises DocsError on a shown output without a source."""
    text = page.read_text(encoding="utf-8") if text is None else text
    lines = text.splitlines()
    fences = read_fences(text, page.name)
    examples: list[Example] = []
    taken: set[int] = set()
    for k, fence in enumerate(fences):
        if fence.start in taken:
            continue
        following = fences[k + 1] if k + 1 < len(fences) else None
        if fence.lang in RUNNABLE_LANGS:
            output = None
            if (following is not None and following.lang in OUTPUT_LANGS
                    and not any(line.strip() for line in lines[fence.end:following.start - 1])):
                output = following
                taken.add(following.start)
            if fence.lang in SHELL_LANGS and output is None:
                continue  # an instruction to the reader, not an example
            examples.append(Example(page, fence, output))
        elif fence.lang in OUTPUT_LANGS:
            if fence.skip is None:
                raise DocsError(f"{page.name}:{fence.start}: shown output follows no python or "
                                f"bash block; put its source right above it or mark it "
                                f"'{SKIP_MARK} <reason>'")
            examples.append(Example(page, fence, None))
    return examples


def outputs_match(shown: str, printed: str) -> bool:
    """Line by line, trailing spaces and blank lines ignored; `...` in a shown line is any text."""
    want, got = _lines(shown), _lines(printed)
    return len(want) == len(got) and all(map(_line_matches, want, got))


def _line_matches(shown: str, printed: str) -> bool:
    return re.fullmatch(".*?".join(map(re.escape, shown.split("..."))), printed) is not None


def output_diff(shown: str, printed: str) -> str:
    """A unified diff in which shown lines that match (through `...`) read as printed."""
    want, got = _lines(shown), _lines(printed)
    want = [g if _line_matches(w, g) else w for w, g in zip(want, got)] + want[len(got):]
    return "\n".join(difflib.unified_diff(want, got, "shown", "printed", lineterm=""))


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class PageRun:
    """Runs one page's examples in order in one namespace, each at most once."""

    page: Path
    examples: list[Example] = field(repr=False)
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"},
                                      repr=False)
    folder: Path = field(default_factory=lambda: _temporary_folder())
    printed: dict[int, str] = field(default_factory=dict, repr=False)
    failed_at: str | None = None

    def run_through(self, example: Example) -> str:
        """Run every example up to `example` (skipped ones excepted); return what it printed."""
        for earlier in self.examples:
            if earlier.code.start in self.printed or earlier.skip:
                pass
            elif self.failed_at is not None:
                raise AssertionError(f"an earlier block of {self.page.name} failed: "
                                     f"{self.failed_at}")
            else:
                try:
                    self.printed[earlier.code.start] = self._run(earlier)
                except BaseException:
                    self.failed_at = earlier.id
                    raise
            if earlier is example:
                return self.printed[example.code.start]
        raise KeyError(example.id)

    def _run(self, example: Example) -> str:
        with _working_directory(self.folder):
            if example.code.lang == "python":
                return run_python(example.code.body, self.namespace, example.id)
            return run_shell(example.code.body, self.folder, example.id)


def _temporary_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="docs-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@contextlib.contextmanager
def _working_directory(folder: Path):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run_python(source: str, namespace: dict[str, Any], where: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, where, "exec"), namespace)  # noqa: S102 - the docs' own examples
    return buffer.getvalue()


def run_shell(source: str, folder: Path, where: str) -> str:
    """Only `python examples/<script>.py args` lines run (with this interpreter, from `folder`)."""
    printed = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    for line in source.splitlines():
        words = shlex.split(line.removeprefix("$ "), comments=True)
        if not words:
            continue
        if words[0] not in ("python", "python3") or len(words) < 2 \
                or not words[1].startswith("examples/"):
            raise DocsError(f"{where}: only 'python examples/<script>.py ...' lines run in the "
                            f"docs tests, got {line!r}; mark the block '{SKIP_MARK} <reason>'")
        done = subprocess.run([sys.executable, str(ROOT / words[1]), *words[2:]], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{where}: {line!r} failed:\n{done.stderr}"
        printed.append(done.stdout)
    return "".join(printed)


EXAMPLES = [example for page in PAGES for example in collect(page)]
RUNS = {page: PageRun(page, [e for e in EXAMPLES if e.page == page]) for page in PAGES}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_docs_example_runs_and_prints_what_the_page_shows(example: Example):
    if example.skip:
        pytest.skip(f"{example.id}: {example.skip}")
    printed = RUNS[example.page].run_through(example)
    if example.output is not None and not outputs_match(example.output.body, printed):
        pytest.fail(f"{example.id}: the printed output differs from the page's:\n"
                    f"{output_diff(example.output.body, printed)}")


@dataclass(frozen=True)
class ErrorRow:
    line: int
    call: str
    exceptions: tuple[str, ...]
    message: str


def error_rows(text: str) -> list[ErrorRow]:
    """Rows of the tables whose header has `call` and `message` columns."""
    rows: list[ErrorRow] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
        elif set(cells) <= {"---", ""} or not {"call", "message"} <= set(header):
            continue
        elif cells != header:
            row = dict(zip(header, cells))
            if "`" not in row["call"] + row["message"]:
                continue  # a row described in words (no call, no message to compare)
            rows.append(ErrorRow(number, " ".join(_code_spans(row["call"])),
                                 tuple(_code_spans(row.get("exception", ""))),
                                 "\n".join(_code_spans(row["message"]))))
    return rows


def _code_spans(cell: str) -> list[str]:
    return [m.group(2).strip() if m.group(1) == "``" else m.group(2)
            for m in re.finditer(r"(``?)(.+?)\1(?!`)", cell)]


ERROR_ROWS = error_rows(ERRORS_PAGE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", ERROR_ROWS, ids=lambda r: f"errors.md:{r.line}")
def test_errors_page_message_is_the_one_raised(row: ErrorRow):
    assert row.call, f"errors.md:{row.line} shows a message but no call that raises it"
    run = RUNS[ERRORS_PAGE]
    for example in run.examples:
        if not example.skip:
            run.run_through(example)
    with _working_directory(run.folder), pytest.raises(Exception) as raised:
        eval(row.call, run.namespace)  # noqa: S307 - the page's own example call
    assert type(raised.value).__name__ in row.exceptions, (
        f"errors.md:{row.line}: {row.call} raised {type(raised.value).__name__}, the page says "
        f"{' or '.join(row.exceptions)}")
    assert " ".join(str(raised.value).split()) == " ".join(row.message.split()), (
        f"errors.md:{row.line}: {row.call} raised\n{raised.value}\nthe page shows\n{row.message}")


def test_errors_page_tables_are_found():
    # guards against a changed table header silently leaving no row to check
    assert len(ERROR_ROWS) >= 30


PAGE = """Intro.

```python
print(6 * 7)
```

```
{shown}
```

```python skip-docs-test: needs torchvision
import torchvision
```
"""


def run_page(text: str, tmp_path: Path) -> list[tuple[Example, str | None]]:
    page = tmp_path / "page.md"
    page.write_text(text)
    examples = collect(page)
    run = PageRun(page, examples)
    return [(e, None if e.skip else run.run_through(e)) for e in examples]


def test_collector_pairs_a_block_with_its_output_and_honours_the_skip_mark(tmp_path):
    (code, printed), (skipped, nothing) = run_page(PAGE.format(shown="42"), tmp_path)
    assert printed == "42\n" and outputs_match(code.output.body, printed)
    assert skipped.skip == "needs torchvision" and nothing is None


def test_collector_fails_when_a_shown_output_is_changed(tmp_path):
    (code, printed), _ = run_page(PAGE.format(shown="43"), tmp_path)
    assert not outputs_match(code.output.body, printed)
    assert not outputs_match("42\n0", printed)


def test_output_diff_shows_only_the_lines_that_differ():
    diff = output_diff("value ...\n108\n", "value 1e-15\n109\n").splitlines()
    assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        "-108", "+109"]


def test_install_commands_in_docs_and_messages_name_existing_extras():
    sources = [*PAGES, *(ROOT / "minigrad").rglob("*.py"), *(ROOT / "examples").glob("*.py")]
    named = [(path.name, extra) for path in sources
             for extra in re.findall(r"pip install [^\n`]*?\[([\w,\-]+)\]", path.read_text())]
    assert len(named) >= 4  # README's two, the graph and plot messages
    for name, extras in named:
        assert set(extras.split(",")) <= set(PYPROJECT_EXTRAS), f"{name}: [{extras}]"


def test_ellipsis_stands_for_any_text_within_one_line_only():
    assert outputs_match("error 1.8e-15 ... done", "error 1.8e-15 (max 3.6e-15) done")
    assert outputs_match("max difference ...\n", "max difference 4.4e-16\n\n")
    assert not outputs_match("max difference ...", "max difference 1\nextra")
    assert not outputs_match("a ... c", "a b d")


def test_blocks_of_a_page_share_a_namespace_in_order(tmp_path):
    text = "```python\nx = 5\n```\n\n```python\nprint(x + 1)\n```\n\n```text\n6\n```\n"
    (_, first), (second, printed) = run_page(text, tmp_path)
    assert first == "" and printed == "6\n" and second.output is not None


def test_collector_refuses_an_output_without_a_source_and_an_unknown_mark(tmp_path):
    with pytest.raises(DocsError, match="page.md:3: shown output follows no python"):
        run_page("Text\n\n```\n42\n```\n", tmp_path)
    with pytest.raises(DocsError, match="page.md:1: after the language only"):
        run_page("```python skip-docs-test\nx = 1\n```\n", tmp_path)
    with pytest.raises(DocsError, match="never closed"):
        run_page("```python\nx = 1\n", tmp_path)


def test_shell_blocks_run_example_scripts_only(tmp_path):
    with pytest.raises(DocsError, match="only 'python examples/"):
        run_page("```bash\nrm -rf /\n```\n\n```\n\n```\n", tmp_path)


def test_error_rows_read_calls_exceptions_and_multi_line_messages():
    table = ("| mistake | call | exception | message |\n|---|---|---|---|\n"
             "| a | `f(1)` | `ValueError` / `TypeError` | `f: bad`<br>`second line` |\n"
             "| b | `g()` | `RuntimeError` | `` g: use `with x:` `` |\n")
    first, second = error_rows(table)
    assert (first.line, first.call, first.exceptions) == (3, "f(1)", ("ValueError", "TypeError"))
    assert first.message == "f: bad\nsecond line"
    assert second.message == "g: use `with x:`"
