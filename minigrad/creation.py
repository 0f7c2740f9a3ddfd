"""Making tensors filled with constants or ranges, on any device."""

from __future__ import annotations

import numpy as np

from .backend import to_device
from .tensor import DEFAULT_FLOAT, DType, Tensor, int64


def _shape(size) -> tuple[int, ...]:
    """`zeros(2, 3)` and `zeros((2, 3))` both mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(size)
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
        raise ValueError(f"a shape is made of non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def new(array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    """A leaf tensor of a freshly made host array, moved to `device`."""
    return Tensor(to_device(array, device), requires_grad=requires_grad)


def full(size, fill_value, *, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` filled with `fill_value` (dtype from the value: float32, int64 or bool)."""
    if dtype is None:
        dtype = bool if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else DEFAULT_FLOAT
    return new(np.full(_shape((size,)), fill_value, dtype=dtype), device, requires_grad)


def zeros(*size, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless `dtype`)."""
    return new(np.zeros(_shape(size), dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


def ones(*size, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 unless `dtype`)."""
    return new(np.ones(_shape(size), dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


def zeros_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape, dtype and device of `t`."""
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape, dtype and device of `t`."""
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def arange(
    start, end=None, step=1, *, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Values from `start` up to (not including) `end` by `step`: int64 for ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) else DEFAULT_FLOAT
    return new(np.arange(start, end, step, dtype=dtype), device, requires_grad)


def eye(
    n: int, m: int | None = None, *, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """The n x m identity matrix (float32 unless `dtype`)."""
    return new(np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), device, requires_grad)
