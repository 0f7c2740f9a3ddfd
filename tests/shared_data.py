"""Where the tests find the real MNIST data: ``$MINIGRAD_DATA``, else ``../shared/data`` beside the repository.

The folder is laid out as ``shared/data`` is (see its README.md): ``mnist_sample.tgz`` and ``mnist/*.gz``.
Tests that need a file skip, saying what is missing and where it was looked for, when neither place has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BESIDE_REPO = ROOT.parent / "shared" / "data"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _find() -> Path:
    """$MINIGRAD_DATA when it names a folder, else ../shared/data (which may not exist)."""
    named = os.environ.get("MINIGRAD_DATA")
    if named and Path(named).expanduser().is_dir():
        return Path(named).expanduser().resolve()
    return BESIDE_REPO


DATA = _find()
SAMPLE = DATA / "mnist_sample.tgz"
MNIST = DATA / "mnist"
HAVE_SAMPLE = SAMPLE.is_file()
HAVE_MNIST = all((MNIST / name).is_file() for name in IDX_FILES)


def missing(what: str) -> str:
    """The reason a test is skipped: what it needs and where that was looked for."""
    where = f"$MINIGRAD_DATA ({DATA})" if DATA != BESIDE_REPO else f"{DATA}, and MINIGRAD_DATA names no folder"
    return f"needs {what}: not in {where}; set MINIGRAD_DATA to a folder laid out as shared/data/"


needs_sample = pytest.mark.skipif(not HAVE_SAMPLE, reason=missing("the real MNIST_SAMPLE (mnist_sample.tgz)"))
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=missing("the full MNIST IDX files (mnist/*.gz)"))
needs_all = pytest.mark.skipif(
    not (HAVE_SAMPLE and HAVE_MNIST), reason=missing("the real MNIST data (mnist_sample.tgz and mnist/*.gz)")
)
