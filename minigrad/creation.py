"""Making tensors filled with constants or ranges, on any device."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import to_device
from .ops.operands import shape_arg
from .ops.registry import register
from .tensor import DEFAULT_FLOAT, DType, Tensor, int64, tensor

__all__ = [
    "full", "zeros", "ones", "zeros_like", "ones_like", "arange", "eye",
    "empty", "full_like", "linspace", "logspace", "new_zeros", "new_ones", "new_full", "new_tensor",
]  # fmt: skip


def new(array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    """A leaf tensor of a freshly made host array, moved to `device`."""
    return Tensor(to_device(array, device), requires_grad=requires_grad)


def full(
    size: Any, fill_value: Any, *, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """A tensor of shape `size` filled with `fill_value` (dtype from the value: float32, int64 or bool)."""
    if dtype is None:
        dtype = bool if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else DEFAULT_FLOAT
    return new(np.full(shape_arg((size,)), fill_value, dtype=dtype), device, requires_grad)


register(full)


def zeros(*size: Any, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless `dtype`)."""
    return new(np.zeros(shape_arg(size), dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


register(zeros)


def ones(*size: Any, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 unless `dtype`)."""
    return new(np.ones(shape_arg(size), dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


register(ones)


def zeros_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape, dtype and device of `t`."""
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


register(zeros_like)


def ones_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape, dtype and device of `t`."""
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


register(ones_like)


def arange(
    start: Any, end: Any = None, step: Any = 1, *, dtype: DType | None = None, device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Values from `start` up to (not including) `end` by `step`: int64 for ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) else DEFAULT_FLOAT
    return new(np.arange(start, end, step, dtype=dtype), device, requires_grad)


register(arange)


def eye(
    n: int, m: int | None = None, *, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """The n x m identity matrix (float32 unless `dtype`)."""
    return new(np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


register(eye)


def empty(*size: Any, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever the memory held (float32 unless `dtype`): fill it before reading."""
    return new(np.empty(shape_arg(size), dtype=dtype or DEFAULT_FLOAT), device, requires_grad)


register(empty)


def full_like(
    t: Tensor, fill_value: Any, *, dtype: DType | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """`fill_value` in the shape of `t`, with its dtype and device unless given."""
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


register(full_like)


def linspace(
    start: float, end: float, steps: int, *, dtype: DType | None = None, device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """`steps` evenly spaced values from `start` to `end`, both included (float32 unless `dtype`)."""
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return new(np.linspace(start, end, steps).astype(dtype or DEFAULT_FLOAT), device, requires_grad)


register(linspace)


def logspace(
    start: float, end: float, steps: int, base: float = 10.0, *, dtype: DType | None = None, device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """base ** linspace(start, end, steps) (float32 unless `dtype`)."""
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative int, got {steps!r}")
    return new((base ** np.linspace(start, end, steps)).astype(dtype or DEFAULT_FLOAT), device, requires_grad)


register(logspace)


# ---- Tensor.new_*: like `t` (its dtype and device) unless told otherwise --------------------------
def new_zeros(
    t: Tensor, *size: Any, dtype: DType | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of shape `size`, with t's dtype and device unless given."""
    return zeros(*size, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


register(new_zeros, "new_zeros")


def new_ones(
    t: Tensor, *size: Any, dtype: DType | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Ones of shape `size`, with t's dtype and device unless given."""
    return ones(*size, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


register(new_ones, "new_ones")


def new_full(
    t: Tensor, size: Any, fill_value: Any, *, dtype: DType | None = None, device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """`fill_value` in shape `size`, with t's dtype and device unless given."""
    return full(size, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


register(new_full, "new_full")


def new_tensor(
    t: Tensor, data: Any, *, dtype: DType | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """A copy of `data`, with t's dtype and device unless given."""
    return tensor(data, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


register(new_tensor, "new_tensor")
