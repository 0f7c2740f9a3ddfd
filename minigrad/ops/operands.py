"""What every op does with its arguments: tensors from operands, one device, valid axes and shapes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, float32, is_number, tensor

_FLOAT_KINDS = "fc"
_PY_NUMBERS = (float, int, bool)


def operand(x: Any) -> tuple[Any, Any]:
    """(x, its array): a tensor as it is, a number as a weakly typed Python constant (numpy
    scalars too, as PyTorch takes them), else a new tensor."""
    if x.__class__ is Tensor:
        return x, x.array
    if x.__class__ in _PY_NUMBERS:
        return x, x
    if is_number(x):
        x = x.item() if isinstance(x, np.generic) else x
        return x, x
    x = tensor(x)
    return x, x.array


def as_tensor(x: Any) -> Tensor:
    """x itself if it is a tensor, else a new tensor of it."""
    return x if x.__class__ is Tensor else tensor(x)


def operands(a: Any, b: Any) -> tuple[Any, Any, Any, Any]:
    """Both operands of a binary op as (a, b, a's array, b's array), in the dtype PyTorch computes in."""
    a, ad = operand(a)
    b, bd = operand(b)
    if bd.__class__ is float and ad.__class__ is not float:
        ad = floated(ad)
    elif ad.__class__ is float and bd.__class__ is not float:
        bd = floated(bd)
    elif a.__class__ is Tensor and b.__class__ is Tensor and ad.dtype is not bd.dtype:
        ad, bd = promoted(ad, bd)
    return a, b, ad, bd


def promoted(ad: Any, bd: Any) -> tuple[Any, Any]:
    """Two arrays of different dtypes cast to the one PyTorch's type promotion gives them."""
    key = (ad.dtype, bd.dtype, ad.ndim == 0, bd.ndim == 0)
    dtype = _PROMOTED.get(key)
    if dtype is None:
        dtype = _PROMOTED[key] = result_dtype(*key)
    return (ad if ad.dtype == dtype else ad.astype(dtype)), (bd if bd.dtype == dtype else bd.astype(dtype))


def result_dtype(a: np.dtype, b: np.dtype, a_is_0d: bool = False, b_is_0d: bool = False) -> np.dtype:
    """PyTorch's promotion of two tensors' dtypes: the higher category (bool < integer < float)
    wins, keeping its own dtype (int64 with float32 gives float32, where numpy gives float64);
    within a category the wider dtype wins. A 0-d tensor only takes part when its category is
    higher than the other operand's (``int32 tensor + tensor(5)`` stays int32)."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if a_is_0d != b_is_0d:  # one is 0-d: it counts only from a higher category
        dimensioned, zero_d = (b, a) if a_is_0d else (a, b)
        if _category(zero_d) <= _category(dimensioned):
            return dimensioned
        return zero_d
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _category(dtype: np.dtype) -> int:
    return _CATEGORIES[dtype.kind]


_CATEGORIES = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_PROMOTED: dict[tuple, np.dtype] = {}


def floated(array: Any) -> Any:
    """Integer and bool arrays meeting a Python float compute in float32, the default float."""
    return array if array.dtype.kind in _FLOAT_KINDS else array.astype(float32)


def device_error(name: str, operands: Iterable[Any]) -> RuntimeError | None:
    """The error for an op given tensors on different devices, or None when they share one."""
    devices = list(dict.fromkeys(t.device for t in operands if isinstance(t, Tensor)))
    if len(devices) < 2:
        return None
    return RuntimeError(
        f"{name}: expected all tensors to be on the same device, but found tensors on {' and '.join(devices)}"
    )


def same_device(name: str, tensors: Iterable[Any]) -> None:
    """Raise the device error when `tensors` are not all on one device."""
    error = device_error(name, tensors)
    if error is not None:
        raise error


def broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of `shape` broadcasts to exactly `target` (numpy's rules)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def normalize_axis(axis: Any, ndim: int, *, allow_none: bool = True) -> tuple[int, ...] | None:
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


def shape_arg(sizes: Sequence[Any], *, allow_minus_one: bool = False) -> tuple[int, ...]:
    """`f(2, 3)` and `f((2, 3))` both mean the shape (2, 3); sizes are non-negative ints
    (one may be -1 where the op infers it, as in reshape)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    shape = tuple(sizes)
    low = -1 if allow_minus_one else 0
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= low for n in shape):
        raise ValueError(f"a shape is made of non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def dim_of(dim: Any, ndim: int) -> int:
    """One dim (negatives count from the end) as a non-negative int; 0 or -1 of a 0-d tensor is 0, as in PyTorch."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    return normalize_axis(int(dim), ndim)[0]  # type: ignore[index]
