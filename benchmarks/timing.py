"""Timing helpers shared by the benchmarks: medians of interleaved runs, on one thread."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread, set before numpy loads BLAS


def optional_torch():
    """PyTorch, on one thread, when it is installed (it is not a dependency): an extra column to compare."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def interleaved_medians(
    contenders: dict, rounds: int = 7, number: int = 1, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Median seconds per call of each contender, alternating them round by round.

    Interleaving spreads the machine's noise over all contenders instead of one. `clock` is
    wall-clock time by default; ``time.process_time`` (this process's CPU time) leaves out the
    time other processes take the CPU away, on a shared machine.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm up caches and allocators
        fn()
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = clock()
            for _ in range(number):
                fn()
            times[name].append((clock() - start) / number)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(
    title: str, medians: dict[str, float], baseline: str, unit: float = 1e-6, unit_name: str = "us", per: int = 1
) -> None:
    """Print each contender's median (divided by `per`) and its ratio to `baseline`."""
    print(title)
    base = medians[baseline]
    for name, t in medians.items():
        print(f"  {name:<28} {t / per / unit:10.2f} {unit_name}   {t / base:5.2f}x {baseline}")
