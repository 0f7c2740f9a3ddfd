"""Random tensors from seeded generators: the same seed gives the same numbers on every device.

Numbers are drawn on the host by numpy's PCG64 and then moved, so a seed means the
same values on the CPU and on a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import to_host
from .creation import new
from .ops.operands import as_tensor, shape_arg
from .ops.registry import register
from .tensor import DEFAULT_FLOAT, DType, Tensor, int64, is_number

__all__ = [
    "Generator", "manual_seed", "rand", "randn", "randint",
    "rand_like", "randn_like", "randint_like", "randperm", "multinomial", "bernoulli", "normal",
]  # fmt: skip


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
    size = size if isinstance(size, tuple) else (size,)
    return new(_integers("randint", low, high, shape_arg(size), generator, np.dtype(dtype or int64)), device, False)


def _integers(name: str, low: int, high: int | None, shape: tuple, generator: Generator | None, dtype) -> np.ndarray:
    """Integers in [low, high) (in [0, low) when high is None) of `dtype` (floats hold whole numbers)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"{name}: high ({high}) must be greater than low ({low})")
    rng = (generator or default_generator).numpy
    return rng.integers(low, high, shape, dtype=dtype if dtype.kind in "iu" else int64).astype(dtype, copy=False)


register(randint)


# ---- like a tensor ---------------------------------------------------------------------------------
def rand_like(
    t: Tensor, *, generator: Generator | None = None, dtype: DType | None = None, device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Uniform samples in [0, 1) in the shape of `t`, with its dtype and device unless given."""
    return rand(t.shape, generator=generator, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)  # fmt: skip


register(rand_like)


def randn_like(
    t: Tensor, *, generator: Generator | None = None, dtype: DType | None = None, device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Standard normal samples in the shape of `t`, with its dtype and device unless given."""
    return randn(t.shape, generator=generator, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)  # fmt: skip


register(randn_like)


def randint_like(
    t: Tensor, low: int, high: int | None = None, *, generator: Generator | None = None, dtype: DType | None = None,
    device: str | None = None,
) -> Tensor:  # fmt: skip
    """Integers in [low, high) (in [0, low) when high is None) in the shape of `t`, with its dtype and device
    unless given."""
    dtype = np.dtype(dtype or t.dtype)
    return new(_integers("randint_like", low, high, t.shape, generator, dtype), device or t.device, False)


register(randint_like)


# ---- permutations and samples ----------------------------------------------------------------------
def randperm(
    n: int, *, generator: Generator | None = None, dtype: DType | None = None, device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """The integers 0..n-1 in random order (int64 unless `dtype`)."""
    order = (generator or default_generator).permutation(n)
    return new(order.astype(np.dtype(dtype or int64)), device, requires_grad)


register(randperm)


def _probabilities(name: str, values: np.ndarray) -> None:
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{name}: probabilities must be finite and non-negative")


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """For each row of `input` (weights, not necessarily summing to 1), `num_samples` category
    indices drawn in proportion to the weights, with or without replacement (int64)."""
    weights = to_host(as_tensor(input).array).astype(np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {weights.shape}")
    _probabilities("multinomial", weights)
    rows = weights.reshape(-1, weights.shape[-1])
    if rows.size == 0 or (rows.sum(1) <= 0).any():
        raise ValueError("multinomial: every row of weights needs a positive sum")
    if not replacement and (num_samples > (rows > 0).sum(1)).any():
        raise ValueError(f"multinomial: can't draw {num_samples} samples without replacement from fewer categories")
    rng = (generator or default_generator).numpy
    drawn = [rng.choice(rows.shape[1], num_samples, replace=replacement, p=row / row.sum()) for row in rows]
    shape = weights.shape[:-1] + (num_samples,)
    return new(np.asarray(drawn, dtype=np.int64).reshape(shape), as_tensor(input).device, False)


register(multinomial)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """1 with probability input (or `p` for every element), else 0, in input's shape, dtype and device."""
    input = as_tensor(input)
    probs = to_host(input.array) if p is None else np.full(input.shape, p)
    _probabilities("bernoulli", probs)
    if (probs > 1).any():
        raise ValueError("bernoulli: probabilities must be at most 1")
    draws = (generator or default_generator).numpy.random(input.shape) < probs
    return new(draws.astype(input.dtype), input.device, False)


register(bernoulli)


def normal(
    mean: Tensor | float, std: Tensor | float = 1.0, size: Any = None, *, generator: Generator | None = None,
    dtype: DType | None = None, device: str | None = None,
) -> Tensor:  # fmt: skip
    """Normal samples of mean `mean` and standard deviation `std` (tensors broadcast; two numbers
    need `size`). As in PyTorch, no gradient flows to mean and std: for that, write
    ``mean + std * randn_like(mean)``."""
    if is_number(mean) and is_number(std):
        if size is None:
            raise TypeError("normal: with a number mean and std, pass the size")
        shape, device = shape_arg((size,)), device or "cpu"
    else:
        ts = [as_tensor(v) for v in (mean, std) if not is_number(v)]
        shape, device = np.broadcast_shapes(*(t.shape for t in ts)), device or ts[0].device
        dtype = dtype or ts[0].dtype
    if (np.asarray(to_host(as_tensor(std).array)) < 0).any():
        raise ValueError("normal: std must be non-negative")
    m, s = (v.detach() if isinstance(v, Tensor) else v for v in (mean, std))
    return (m + s * randn(shape, generator=generator, dtype=dtype, device=device)).detach()


register(normal)
