"""The documentation runs: every ```python block of README.md and docs/*.md is executed.

Each page is one test. Its blocks run in order in one fresh namespace (as the cells of a
notebook would), with the repository root as the working directory and ``MINIGRAD_HOME``
pointing to a temporary folder, so nothing is read from or written to ``~/.minigrad``.
A block that raises fails the test with the page, the block's number and line, and the error.

Convention for blocks that must not run (they need the network, a GPU, or show a fragment):

* put ``no-run`` (or a ``# not run`` comment) in the fence's info string after the language:
  ```` ```python no-run ````, or
* make the block's first line the comment ``# not run`` (e.g. ``# not run: needs the network``),
  which readers see too (the form the docs use).

Only fences whose language is ``python`` (or ``py``) run; ``text``, ``bash`` etc. are prose.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")], key=lambda p: (p.name != "README.md", p.name))

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"#\s*not run\b", re.IGNORECASE)


@dataclass
class Block:
    number: int  # 1-based, counting only the python blocks of the page
    line: int  # line of the opening fence, 1-based
    info: str
    source: str

    @property
    def runs(self) -> bool:
        after_language = self.info.partition(" ")[2]
        if "no-run" in after_language.split() or _NOT_RUN.search(after_language):
            return False
        first = next((ln.strip() for ln in self.source.splitlines() if ln.strip()), "")
        return not _NOT_RUN.match(first)


def python_blocks(text: str) -> list[Block]:
    """The fenced ```python (or ```py) blocks of a markdown text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
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
        if language in ("python", "py"):
            blocks.append(Block(len(blocks) + 1, start + 1, info, "\n".join(body) + "\n"))
    return blocks


class DocBlockError(AssertionError):
    pass


def run_markdown(text: str, name: str) -> int:
    """Run the runnable python blocks of `text` (page `name`) in one namespace; returns how many ran."""
    namespace = {"__name__": "__main__"}
    ran = 0
    for block in python_blocks(text):
        if not block.runs:
            continue
        try:
            # blank lines up to the fence, so tracebacks give the line number in the page
            code = compile("\n" * block.line + block.source, f"{name} (block {block.number})", "exec")
            exec(code, namespace)
        except (Exception, SystemExit) as e:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            raise DocBlockError(
                f"{name}: python block {block.number} (line {block.line}) raised {type(e).__name__}: {e}\n\n{tb}"
            ) from None
        ran += 1
    return ran


def run_page(path: Path) -> int:
    return run_markdown(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


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
```

```text
not code
```

````python
y = x + 1   # a longer fence
````

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
