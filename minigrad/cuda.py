"""CUDA devices through cupy (install the `cuda12` or `cuda13` extra)."""

from __future__ import annotations

from .backend import cuda_available, cupy


def is_available() -> bool:
    """True when cupy is installed and sees a CUDA GPU."""
    return cuda_available()


def device_count() -> int:
    """How many CUDA GPUs cupy sees (0 without cupy)."""
    return cupy().cuda.runtime.getDeviceCount() if cuda_available() else 0
