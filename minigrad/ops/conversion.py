"""Changing a tensor's dtype or device; the gradient goes back the same way."""

from __future__ import annotations

import numpy as np

from ..backend import device_of, to_device
from ..tensor import Tensor, make, record
from .common import as_tensor


def astype(x, dtype) -> Tensor:
    """x with elements of `dtype`; x itself when it already has it. Differentiable float to float."""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    data = x.array.astype(dtype)
    if dtype.kind != "f":
        return make(data)
    return record(data, (x,), (x.array,), _astype_grads)


_astype_grads = (lambda F, g, out, x: g.astype(x.dtype),)


def move(x, device: str) -> Tensor:
    """x copied to `device` ('cpu', 'cuda', 'cuda:N')."""
    x = as_tensor(x)
    return record(to_device(x.array, device), (x,), (x.array,), _move_grads)


def _move_back(g, x):
    source = device_of(x) if not isinstance(x, Tensor) else x.device
    return g.to(source) if isinstance(g, Tensor) else to_device(g, source)


_move_grads = (lambda F, g, out, x: _move_back(g, x),)
