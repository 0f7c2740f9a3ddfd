"""The examples' command line: one parser, every option checked by an argparse type, and what they print.

A bad value is a usage error, exit status 2 without a traceback, naming the option and what it
expects: ``--bs 0``, ``--lr -1``, ``--seed -1``, ``--epochs -1``, ``--save-dir`` naming a file, a
``--data`` that does not hold the data.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import minigrad as mg
from minigrad.data.errors import DownloadError

T = TypeVar("T")


def parser(
    description: str,
    *,
    data: Callable[[Path], Path] | None = None,
    data_help: str = "",
    seed: int = 42,
    jit: bool = False,
) -> argparse.ArgumentParser:
    """An argument parser with the options every example has: --seed, --device, and --data when `data`
    is given (it turns the path into what the example reads, or raises ValueError saying what it expects),
    and --jit for the examples that train with an optimizer when `jit` is set."""
    p = argparse.ArgumentParser(description=description)
    if data is not None:
        p.add_argument("--data", metavar="PATH", type=data_path(data), help=data_help)
    p.add_argument(
        "--seed", type=non_negative_int, default=seed, help=f"random seed, an integer >= 0 (default: {seed})"
    )
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    if jit:
        p.add_argument(
            "--jit", action="store_true", help="train with the step captured by minigrad.jit (the same figures)"
        )
    return p


def checked(convert: Callable[[str], T], ok: Callable[[T], bool], expected: str) -> Callable[[str], T]:
    """An argparse type: `convert` the text, and refuse it unless `ok`, saying what is `expected`."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = checked(int, lambda n: n > 0, "an integer > 0")
non_negative_int = checked(int, lambda n: n >= 0, "an integer >= 0")
positive_float = checked(float, lambda x: math.isfinite(x) and x > 0, "a finite number > 0")


def device(name: str) -> str:
    """A --device value that can be used here, or the reason it can't, as argparse reports it."""
    try:
        kind, _ = mg.backend.parse_device(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if kind == "cuda" and not mg.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: no CUDA GPU with cupy here ({mg.backend.CUDA_EXTRA_HINT})")
    return name


def data_path(resolve: Callable[[Path], Path]) -> Callable[[str], Path]:
    """An argparse type for --data: a path that exists, turned by `resolve` into what the example reads."""

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        if not path.exists():
            raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
        try:
            return resolve(path)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text}: {e}") from None

    return parse


def output_folder(text: str) -> Path:
    """An argparse type for --save-dir: a folder, or a path where one can be made (no file in the way)."""
    path = Path(text).expanduser()
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocking} is a file; expected a folder (or a path to make one)")
    return path


def learner_accuracy(learn) -> float:
    """The accuracy (a Learner's first metric) after the last epoch; with no epoch, the untrained model's."""
    return learn.recorder.values[-1][2] if len(learn.recorder) else learn.validate()[1]


def final_accuracy(name: str, value: float) -> None:
    """The last line every training example prints, the one its tests read."""
    print(f"{name}: final validation accuracy {value:.4f}")


def run(main: Callable[[], None]) -> None:
    """Run an example's `main`; data it could not get is a one-paragraph error (exit status 1,
    no traceback) that says how to point the example at a local copy."""
    try:
        main()
    except DownloadError as e:
        sys.exit(f"{Path(sys.argv[0]).name}: {e}")
