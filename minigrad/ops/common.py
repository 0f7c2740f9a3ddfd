"""What every op needs: turning operands into tensors, checking devices and axes, sum_to."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, float32, is_number, tensor

_FLOAT_KINDS = "fc"
_PY_NUMBERS = (float, int, bool)


def operand(x):
    """(x, its array): a tensor as it is, a Python number as a weakly typed constant, else a new tensor."""
    if x.__class__ is Tensor:
        return x, x.array
    if x.__class__ in _PY_NUMBERS or is_number(x):
        return x, x
    x = tensor(x)
    return x, x.array


def as_tensor(x) -> Tensor:
    """x itself if it is a tensor, else a new tensor of it."""
    return x if x.__class__ is Tensor else tensor(x)


def operands(a, b):
    """Both operands of a binary op, on one device, as (a, b, a's array, b's array)."""
    a, ad = operand(a)
    b, bd = operand(b)
    if bd.__class__ is float and ad.__class__ is not float:
        ad = floated(ad)
    elif ad.__class__ is float and bd.__class__ is not float:
        bd = floated(bd)
    return a, b, ad, bd


def floated(array):
    """Integer and bool arrays meeting a Python float compute in float32, the default float."""
    return array if array.dtype.kind in _FLOAT_KINDS else array.astype(float32)


def raise_device_mismatch(*tensors: Tensor):
    devices = [t.device for t in tensors if isinstance(t, Tensor)]
    raise RuntimeError(f"expected all tensors to be on the same device, but found tensors on {' and '.join(devices)}")


def same_device(tensors) -> None:
    """Raise the device error when `tensors` are not all on one device."""
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise_device_mismatch(*tensors)


def normalize_axis(axis, ndim: int, *, allow_none: bool = True) -> tuple[int, ...] | None:
    """An int or tuple of axes (negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        if allow_none:
            return None
        raise TypeError("an axis is required")
    if axis.__class__ is int and -ndim <= axis < ndim:
        return (axis % ndim,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def sum_to(x, shape: tuple[int, ...]):
    """Sum a broadcast gradient back down to `shape` (works on arrays and tensors alike)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    if axes:
        x = x.sum(axes, keepdims=True)
    return x.reshape(shape) if lead else x
