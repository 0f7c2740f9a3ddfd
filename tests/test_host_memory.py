"""Host memory: on Linux with glibc, importing minigrad lets malloc keep freed memory for reuse, so
that a training loop's same-sized arrays don't come back fresh (a page fault per 4 KiB) every step."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from minigrad.backend import keep_freed_memory


def test_arrays_freed_and_allocated_again_reuse_their_memory():
    if not keep_freed_memory():
        pytest.skip("needs Linux with glibc")
    a = np.random.default_rng(0).random((4, 400_000), dtype=np.float32)  # four 1.6 MB rows
    for _ in range(3):
        b = [row * 2 for row in a]  # fresh arrays, freed at the next iteration
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        b = [row * 2 for row in a]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert b[0][0] == a[0][0] * 2
    assert faults < 400  # fresh memory each time would be 20 * 4 * 1.6 MB / 4 KiB = 31,000 faults


@pytest.mark.parametrize("env", [{"MINIGRAD_KEEP_FREED_MEMORY": "0"}, {"MALLOC_TRIM_THRESHOLD_": "131072"}])
def test_malloc_is_left_alone_when_the_user_says_so(env):
    probe = "import minigrad.backend as b; print(b._malloc_left_alone())"
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env}, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr
