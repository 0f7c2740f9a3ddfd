"""Shared test setup: hypothesis profiles, the device parameter, and measuring peak memory.

The default profile keeps the core suite fast and reproducible; for a longer search run
``pytest --hypothesis-profile=thorough``.
"""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, settings

import minigrad

settings.register_profile(
    "minigrad", deadline=None, max_examples=30, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("minigrad")

needs_cuda = pytest.mark.skipif(not minigrad.cuda.is_available(), reason="needs a CUDA GPU and cupy")


@pytest.fixture(scope="session", params=["cpu", pytest.param("cuda", marks=needs_cuda)])
def device(request) -> str:
    """Each test taking `device` runs on the CPU and, where there is one, on a CUDA GPU."""
    return request.param


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """No test may leave gradient recording switched off for the next one."""
    yield
    assert minigrad.is_grad_enabled(), "a test left no_grad() switched on"


@pytest.fixture
def peak_bytes():
    """A function giving the most memory (traced by Python, numpy's arrays included) in use above
    the start while its argument runs; a ValueError it raises is expected and ignored."""

    def measure(fn) -> int:
        tracemalloc.start()
        try:
            fn()
        except ValueError:
            pass
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return peak

    return measure
