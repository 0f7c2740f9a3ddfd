"""The documentation runs, and prints what it shows: every ```python block of README.md and docs/*.md.

Each page is one test. Its blocks run in order in one fresh namespace (as the cells of a
notebook would), with the repository root as the working directory and ``MINIGRAD_HOME``
pointing to a temporary folder, so nothing is read from or written to ``~/.minigrad``.
A block that raises fails the test with the page, the block's number and line, and the error.

When a ```text block follows a python block (nothing but blank lines between them), it is the
block's output: what the block prints to stdout must be that text, line for line (trailing spaces
and blank lines at either end aside; an epoch's time, ``mm:ss`` ending a line, may differ).

Convention for blocks that must not run (they need the network, a GPU, or show a fragment):

* put ``no-run`` (or a ``# not run`` comment) in the fence's info string after the language:
  ```` ```python no-run ````, or
* make the block's first line the comment ``# not run`` (e.g. ``# not run: needs the network``),
  which readers see too (the form the docs use).

Only fences whose language is ``python`` (or ``py``) run; ``text``, ``bash`` etc. are prose.
Pages read the real MNIST data from ``../shared/data``; where the tests find it elsewhere (through
``$MINIGRAD_DATA``, see shared_data.py) that path stands in for it, in the code and in the output.
Without it, those pages are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_data import BESIDE_REPO, DATA, HAVE_MNIST, HAVE_SAMPLE, missing

import minigrad

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")], key=lambda p: (p.name != "README.md", p.name))
DATA_IN_DOCS = "../shared/data"

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"#\s*not run\b", re.IGNORECASE)
_EPOCH_TIME = re.compile(r"(?<= )(\d+:)?\d\d:\d\d$", re.MULTILINE)


@dataclass
class Block:
    number: int  # 1-based, counting only the python blocks of the page
    line: int  # line of the opening fence, 1-based
    info: str
    source: str
    output: str | None = None  # the text block right after it: what it prints

    @property
    def runs(self) -> bool:
        after_language = self.info.partition(" ")[2]
        if "no-run" in after_language.split() or _NOT_RUN.search(after_language):
            return False
        first = next((ln.strip() for ln in self.source.splitlines() if ln.strip()), "")
        return not _NOT_RUN.match(first)


def python_blocks(text: str) -> list[Block]:
    """The fenced ```python (or ```py) blocks of a markdown text, in order, each with the output shown after it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    previous_end = -1  # the line after the closing fence of the last python block
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m["fence"], m["info"].strip(), i
        body = []
        i += 1
        while i < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i][len(m["indent"]) :] if lines[i].startswith(m["indent"]) else lines[i])
            i += 1
        i += 1  # past the closing fence
        language = info.split()[0].lower() if info else ""
        content = "\n".join(body) + "\n"
        if language in ("python", "py"):
            blocks.append(Block(len(blocks) + 1, start + 1, info, content))
            previous_end = i
        elif language == "text" and blocks and all(not ln.strip() for ln in lines[previous_end:start]):
            blocks[-1].output = content
    return blocks


class DocBlockError(AssertionError):
    pass


def _comparable(output: str) -> list[str]:
    lines = [line.rstrip() for line in _EPOCH_TIME.sub("mm:ss", output).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def run_markdown(text: str, name: str) -> int:
    """Run the runnable python blocks of `text` (page `name`) in one namespace, checking each one's
    output against the text block after it; returns how many ran."""
    namespace = {"__name__": "__main__"}
    ran = 0
    for block in python_blocks(text):
        if not block.runs:
            continue
        where = f"{name}: python block {block.number} (line {block.line})"
        printed = io.StringIO()
        try:
            # blank lines up to the fence, so tracebacks give the line number in the page
            code = compile("\n" * block.line + block.source, f"{name} (block {block.number})", "exec")
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)
        except (Exception, SystemExit) as e:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            raise DocBlockError(f"{where} raised {type(e).__name__}: {e}\n\n{tb}") from None
        if block.output is not None and _comparable(printed.getvalue()) != _comparable(block.output):
            diff = difflib.unified_diff(
                _comparable(block.output), _comparable(printed.getvalue()), "shown in the doc", "printed", lineterm=""
            )
            raise DocBlockError(f"{where} printed other output than the text block after it shows:\n" + "\n".join(diff))
        ran += 1
    return ran


def run_page(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if any(DATA_IN_DOCS in block.source for block in python_blocks(text) if block.runs):
        if not (HAVE_SAMPLE and HAVE_MNIST):
            pytest.skip(missing(f"the real MNIST data the page reads from {DATA_IN_DOCS}"))
        if DATA.resolve() != BESIDE_REPO.resolve():
            text = text.replace(DATA_IN_DOCS, str(DATA))
    return run_markdown(text, str(path.relative_to(ROOT)))


@pytest.fixture
def doc_env(tmp_path, monkeypatch):
    """Repo root as cwd, a private MINIGRAD_HOME, no MINIGRAD_DATA; the global RNG restored after."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MINIGRAD_HOME", str(tmp_path / "minigrad_home"))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    rng = minigrad.random.default_generator
    seed, state = rng.seed, rng.numpy.bit_generator.state
    yield
    rng.seed = seed
    rng.numpy.bit_generator.state = state


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs(page, doc_env):
    run_page(page)


# ---- the harness itself ------------------------------------------------------------------------
PAGE = """# A page

```python
x = 1
print("x is", x, "  ")
```

```text
x is 1
```

````python
y = x + 1   # a longer fence
````

Some prose, then a text block that is not an output:

```text
not printed by anything
```

```python no-run
raise RuntimeError("skipped by its info string")
```

```python  # not run
raise RuntimeError("skipped by a comment in its info string")
```

```python
# not run: needs the network
raise RuntimeError("skipped by its first line")
```

```py
assert (x, y) == (1, 2)
```
"""


def test_extraction_and_skipping():
    blocks = python_blocks(PAGE)
    assert [(b.number, b.runs) for b in blocks] == [(1, True), (2, True), (3, False), (4, False), (5, False), (6, True)]
    assert blocks[1].source == "y = x + 1   # a longer fence\n"
    assert blocks[0].line == 3
    assert [b.output for b in blocks] == ["x is 1\n", None, None, None, None, None]


def test_a_broken_block_fails_naming_page_block_and_line():
    assert run_markdown(PAGE, "page.md") == 3
    broken = PAGE + "\n```python\nz = y / 0\n```\n"
    fence = len(PAGE.splitlines()) + 2
    with pytest.raises(DocBlockError) as excinfo:
        run_markdown(broken, "page.md")
    message = str(excinfo.value)
    assert message.startswith(f"page.md: python block 7 (line {fence}) raised ZeroDivisionError")
    assert f'File "page.md (block 7)", line {fence + 1}' in message  # the traceback points into the page


def test_a_syntax_error_is_reported_the_same_way():
    with pytest.raises(DocBlockError, match=r"^page\.md: python block 1 \(line 1\) raised SyntaxError"):
        run_markdown("```python\nprint(\n```\n", "page.md")


def test_output_that_differs_from_the_doc_fails_with_a_diff():
    stale = "```python\nprint(1)\nprint(2)\n```\n\n```text\n1\n3\n```\n"
    with pytest.raises(DocBlockError) as excinfo:
        run_markdown(stale, "page.md")
    message = str(excinfo.value)
    assert message.startswith("page.md: python block 1 (line 1) printed other output than the text block after it")
    assert "\n-3\n+2" in message


def test_a_block_that_prints_nothing_fails_when_an_output_is_shown():
    with pytest.raises(DocBlockError, match="printed other output"):
        run_markdown("```python\nx = 1\n```\n```text\n1\n```\n", "page.md")


def test_epoch_times_and_surrounding_blank_lines_are_not_compared():
    page = "```python\nprint()\nprint('0  0.5  01:02')\n```\n\n```text\n0  0.5  00:00\n\n```\n"
    assert run_markdown(page, "page.md") == 1


def test_readme_layout_maps_every_module():
    """The README's Layout section is the package's map: every module has its line."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n```\n", layout.index("```text")) + 1]
    names = set(re.findall(r"[\w/]+\.py", layout))
    modules = {p.name for p in (ROOT / "minigrad").rglob("*.py") if p.name != "__init__.py"}
    missing = sorted(m for m in modules if not any(n.split("/")[-1] == m for n in names))
    assert not missing, f"README's Layout section doesn't mention {missing}"
