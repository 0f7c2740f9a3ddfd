"""Changing a tensor's dtype or device; the gradient goes back the same way."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import device_of, to_device
from ..tensor import DType, Tensor, TensorLike, make, record
from .operands import as_tensor
from .registry import register

__all__ = ["astype", "clone"]


def astype(x: TensorLike, dtype: DType) -> Tensor:
    """x with elements of `dtype`; x itself when it already has it. Differentiable float to float."""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    array = x.array.astype(dtype)
    if dtype.kind != "f":
        return make(array)
    return record("astype", array, (x,), (x.array,), _astype_grads)


register(astype, "astype")


_astype_grads = (lambda ops, g, out, x: g.astype(x.dtype),)


def clone(x: TensorLike) -> Tensor:
    """A copy of x with its own memory; differentiable (the gradient passes through), as torch.clone."""
    x = as_tensor(x)
    return record("clone", x.array.copy(), (x,), (x.array,), _clone_grads)


_clone_grads = (lambda ops, g, out, x: g,)
register(clone, "clone")


def move(x: TensorLike, device: str) -> Tensor:
    """x copied to `device` ('cpu', 'cuda', 'cuda:N'): ``Tensor.to(device)``."""
    x = as_tensor(x)
    return record("to", to_device(x.array, device), (x,), (x.array,), _move_grads)


def _move_back(g: Any, x: Any) -> Any:
    source = device_of(x) if not isinstance(x, Tensor) else x.device
    return g.to(source) if isinstance(g, Tensor) else to_device(g, source)


_move_grads = (lambda ops, g, out, x: _move_back(g, x),)
