"""Ops that move elements around without changing them, and their gradients.

Each gradient undoes the move: reshape back, permute back, slice the piece back out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .operands import as_tensor, normalize_axis, same_device, shape_arg
from .registry import register

__all__ = [
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes",
    "broadcast_to", "expand", "stack", "cat", "concatenate",
]  # fmt: skip


def _reshaped(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    try:
        array = x.array.reshape(shape)
    except ValueError:
        raise ValueError(f"can't reshape a tensor of shape {x.shape} ({x.array.size} elements) into {shape}") from None
    return record("reshape", array, (x,), (x.array,), _reshape_grads)


_reshape_grads = (lambda ops, g, out, x: g.reshape(x.shape),)


def reshape(x: TensorLike, *shape: Any) -> Tensor:
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    return _reshaped(as_tensor(x), shape_arg(shape, allow_minus_one=True))


register(reshape, "reshape", "view", aliases=("view",))


view = reshape


def flatten(x: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes from start_dim to end_dim (inclusive) into one, as torch.flatten."""
    x = as_tensor(x)
    if x.ndim == 0:
        return _reshaped(x, (1,))
    start, end = (_axis(d, x.ndim) for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    s = x.shape
    return _reshaped(x, s[:start] + (math.prod(s[start : end + 1]),) + s[end + 1 :])


register(flatten, "flatten")


def _axis(dim: int, ndim: int) -> int:
    return normalize_axis(dim, ndim)[0]  # type: ignore[index]


def squeeze(x: TensorLike, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Drop size-1 axes: all of them, or those of `dim` (an int or tuple) that have size 1."""
    x = as_tensor(x)
    axes = range(x.ndim) if dim is None else normalize_axis(dim, x.ndim) or ()
    drop = {a for a in axes if x.shape[a] == 1}
    return _reshaped(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


register(squeeze, "squeeze")


def unsqueeze(x: TensorLike, dim: int) -> Tensor:
    """Insert a size-1 axis at position `dim` (-1 appends one at the end)."""
    x = as_tensor(x)
    axis = _axis(dim, x.ndim + 1)
    return _reshaped(x, x.shape[:axis] + (1,) + x.shape[axis:])


register(unsqueeze, "unsqueeze")


def permute(x: TensorLike, *dims: Any) -> Tensor:
    """Reorder the axes: out.shape[i] == x.shape[dims[i]]."""
    x = as_tensor(x)
    order = shape_arg(dims, allow_minus_one=True) if dims else ()
    if sorted(_axis(d, x.ndim) for d in order) != list(range(x.ndim)):
        raise ValueError(f"permute: {order} is not an ordering of the {x.ndim} axes of a tensor of shape {x.shape}")
    order = tuple(d % x.ndim for d in order)
    back = tuple(sorted(range(x.ndim), key=order.__getitem__))
    return record("permute", x.array.transpose(order), (x,), (x.array,), (lambda ops, g, out, x: ops.permute(g, back),))


register(permute, "permute")


def transpose(x: TensorLike, dim0: int, dim1: int) -> Tensor:
    """Swap two axes, as torch.transpose."""
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = _axis(dim0, x.ndim), _axis(dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


register(transpose, "transpose", "swapaxes", aliases=("swapaxes",))


swapaxes = transpose


def T(x: TensorLike) -> Tensor:
    """All axes reversed (the matrix transpose for 2-D): the property ``Tensor.T``."""
    x = as_tensor(x)
    return permute(x, tuple(reversed(range(x.ndim))))


def mT(x: TensorLike) -> Tensor:
    """The last two axes swapped (a batch of matrix transposes): the property ``Tensor.mT``."""
    return transpose(x, -1, -2)


def broadcast_to(x: TensorLike, shape: Sequence[int]) -> Tensor:
    """x repeated along new or size-1 axes to `shape`; the gradient sums the copies."""
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        array = array_module(x.array).broadcast_to(x.array, shape)
    except ValueError:
        raise ValueError(f"can't broadcast a tensor of shape {x.shape} to {shape}") from None
    return record("broadcast_to", array, (x,), (x.array,), _broadcast_grads)


register(broadcast_to, "broadcast_to")


_broadcast_grads = (lambda ops, g, out, x: g,)  # the engine sums g back to x's shape


def expand(x: TensorLike, *sizes: Any) -> Tensor:
    """torch.expand: broadcast_to where -1 keeps that axis's size."""
    x = as_tensor(x)
    target = shape_arg(sizes, allow_minus_one=True)
    lead = len(target) - x.ndim
    return broadcast_to(x, tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(target)))


register(expand, "expand")


def _joined(name: str, tensors: Sequence[TensorLike], dim: int, join: Callable, piece: Callable) -> Tensor:
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError(f"{name} needs at least one tensor")
    same_device(name, ts)
    arrays = [t.array for t in ts]
    try:
        array = join(array_module(arrays[0]), arrays)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ValueError(f"{name}: can't join tensors of shapes {shapes} along dim {dim}") from None
    return record(name, array, tuple(ts), tuple(arrays), tuple(piece(i, ts) for i in range(len(ts))))


def stack(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis `dim`."""
    ts = [as_tensor(t) for t in tensors]
    axis = _axis(dim, (ts[0].ndim if ts else 0) + 1)
    lead = (slice(None),) * axis

    def piece(i: int, _: list[Tensor]) -> Callable:
        return lambda ops, g, out, *xs: g[lead + (i,)]

    return _joined("stack", ts, dim, lambda xp, arrays: xp.stack(arrays, axis), piece)


register(stack)


def cat(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join tensors along the existing axis `dim`."""
    ts = [as_tensor(t) for t in tensors]
    axis = _axis(dim, ts[0].ndim if ts else 1)
    lead = (slice(None),) * axis

    def piece(i: int, ts: list[Tensor]) -> Callable:
        start = sum(t.shape[axis] for t in ts[:i])
        part = lead + (slice(start, start + ts[i].shape[axis]),)
        return lambda ops, g, out, *xs: g[part]

    return _joined("cat", ts, dim, lambda xp, arrays: xp.concatenate(arrays, axis), piece)


register(cat, aliases=("concatenate",))


concatenate = cat
