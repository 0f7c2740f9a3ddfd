"""Writing files so that a failure never leaves a half-written file behind."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_open(path: str | os.PathLike, *, make_parents: bool = True) -> Iterator[BinaryIO]:
    """Open a binary file that replaces `path` only once the `with` block succeeds.

    Writes go to a temporary file in the same folder (created first if `make_parents`),
    flushed to disk and then moved over `path` with `os.replace`. If the block raises,
    the temporary file is removed and whatever was at `path` is left untouched.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like open()
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
