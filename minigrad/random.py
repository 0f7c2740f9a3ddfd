"""Random tensors from seeded generators: the same seed gives the same numbers on every device.

Numbers are drawn on the host by numpy's PCG64 and then moved, so a seed means the
same values on the CPU and on a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .creation import new
from .ops.operands import shape_arg
from .ops.registry import register
from .tensor import DEFAULT_FLOAT, DType, Tensor, int64

__all__ = ["Generator", "manual_seed", "rand", "randn", "randint"]


class Generator:
    """A seeded source of random numbers (the chapter's ``Nx.Random.key(42)``)."""

    def __init__(self, seed: int | None = None):
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the stream from `seed` (fresh entropy when None)."""
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        return self

    def permutation(self, n: int) -> np.ndarray:
        """The integers 0..n-1 in random order, as a host array."""
        return self.numpy.permutation(n)

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed})"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, which random functions use when given none."""
    return default_generator.manual_seed(seed)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype or DEFAULT_FLOAT)
    if dtype.kind != "f":
        raise TypeError(f"expected a float dtype, got {dtype}")
    return dtype


def rand(*size: Any, generator: Generator | None = None, dtype: DType | None = None, device: str = "cpu",
         requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Uniform samples in [0, 1)."""
    return _floats("random", size, generator, dtype, device, requires_grad)


register(rand)


def randn(*size: Any, generator: Generator | None = None, dtype: DType | None = None, device: str = "cpu",
          requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Standard normal samples (mean 0, std 1)."""
    return _floats("standard_normal", size, generator, dtype, device, requires_grad)


register(randn)


def _floats(draw: str, size: tuple, generator: Generator | None, dtype: DType | None, device: str,
            requires_grad: bool) -> Tensor:  # fmt: skip
    """Samples from numpy's ``Generator.<draw>`` (float32 or float64, then cast to `dtype`)."""
    rng = (generator or default_generator).numpy
    dtype = _float_dtype(dtype)
    array = getattr(rng, draw)(shape_arg(size), dtype=dtype if dtype in (np.float32, np.float64) else np.float64)
    return new(array.astype(dtype, copy=False), device, requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size=(),
    *,
    generator: Generator | None = None,
    dtype: DType | None = None,
    device: str = "cpu",
) -> Tensor:
    """Integers in [low, high) (in [0, low) when high is None), int64 unless `dtype`."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    rng = (generator or default_generator).numpy
    size = size if isinstance(size, tuple) else (size,)
    return new(rng.integers(low, high, shape_arg(size), dtype=np.dtype(dtype or int64)), device, False)


register(randint)
