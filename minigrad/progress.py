"""Progress of a long task on stderr: one line redrawn in place on a terminal, plain lines elsewhere.

On a terminal the line (``label: text``) is redrawn at most every 0.1 s. Elsewhere (a pipe, a log
file, a notebook) a task given an ``interval`` prints a line when it starts, one every ``interval``
seconds and one when it ends, so it is never silent for long; without one it prints nothing there.

    >>> with Progress("epoch 1/2 train", total=len(dl), keep=False) as bar:
    ...     for i, batch in enumerate(dl, 1):
    ...         bar.update(i)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

__all__ = ["Progress", "progress_over", "count_bar", "megabytes", "is_terminal"]

REDRAW = 0.1  # seconds between redraws on a terminal
BAR_WIDTH = 30
T = TypeVar("T")


def count_bar(done: int, total: int | None) -> str:
    """``[#####.....] 5/10``, or ``5`` when the total is unknown."""
    if not total:
        return str(done)
    filled = BAR_WIDTH * min(done, total) // total
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"


def megabytes(done: int, total: int | None) -> str:
    """`` 42% 1.4 MB`` of a download, or ``1.4 MB`` when its size is unknown."""
    percent = f"{100 * done // total:3d}% " if total else ""
    return f"{percent}{done / 1e6:.1f} MB"


def is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """The progress of one task, ``done`` out of ``total`` (None if unknown), shown as ``label: describe(done, total)``.

    `interval`: seconds between the plain lines printed when the stream is not a terminal (None: print
    none there). `keep`: on a terminal, leave the last line shown when done (else erase it). `stream`
    defaults to ``sys.stderr``. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        describe: Callable[[int, int | None], str] = count_bar,
        interval: float | None = None,
        keep: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.label, self.total, self.describe = label, total, describe
        self.interval, self.keep = interval, keep
        self.stream = sys.stderr if stream is None else stream
        self.terminal = is_terminal(self.stream)
        self.done, self.drawn = 0, ""
        self.started = self.shown_at = time.monotonic()
        if not self.terminal and interval is not None:
            self._line(self._text())

    def update(self, done: int) -> None:
        """Record that `done` units are done, and show it if it is time to."""
        self.done = done
        now = time.monotonic()
        if self.terminal:
            if now - self.shown_at >= REDRAW or done == self.total:
                self._redraw(self._text())
        elif self.interval is not None and now - self.shown_at >= self.interval:
            self._line(self._text())

    def close(self, failed: bool = False) -> None:
        """Show the end: on a terminal the final line (or erase it), elsewhere a last line with the time taken."""
        if self.terminal:
            final = self._text() if self.keep else ""
            if final != self.drawn:
                self._redraw(final)
            self._write("\n" if self.keep else "\r")
        elif self.interval is not None:
            seconds = time.monotonic() - self.started
            self._line(f"{self._text()}, {'stopped after' if failed else 'done in'} {seconds:.1f} s")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(failed=exc_type is not None)

    def _text(self) -> str:
        return f"{self.label}: {self.describe(self.done, self.total)}"

    def _redraw(self, text: str) -> None:
        self.shown_at = time.monotonic()
        self._write("\r" + text.ljust(len(self.drawn)))
        self.drawn = text

    def _line(self, text: str) -> None:
        self.shown_at = time.monotonic()
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        if self.stream is not None:  # sys.stderr is None under pythonw
            self.stream.write(text)
            self.stream.flush()


def progress_over(items: Iterable[T], label: str, total: int | None = None, **options) -> Iterator[T]:
    """Yield the items of `items`, counting each one done once the caller has handled it.

    `options` are :class:`Progress`'s; `total` defaults to ``len(items)`` when it has one.
    """
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(label, total, **options) as bar:
        for i, item in enumerate(items, 1):
            yield item
            bar.update(i)
