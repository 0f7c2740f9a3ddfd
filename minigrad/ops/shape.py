"""Ops that move elements around without changing them, and their gradients.

Each gradient undoes the move: reshape back, permute back, slice the piece back out.
"""

from __future__ import annotations

import math

from ..backend import array_module
from ..tensor import Tensor, record
from .common import as_tensor, normalize_axis, same_device


def _shape_arg(shape) -> tuple[int, ...]:
    """`f(2, 3)` and `f((2, 3))` both mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _reshaped(x: Tensor, shape) -> Tensor:
    try:
        data = x.array.reshape(shape)
    except ValueError:
        raise ValueError(f"can't reshape a tensor of shape {x.shape} ({x.array.size} elements) into {shape}") from None
    return record(data, (x,), (x.array,), _reshape_grads)


_reshape_grads = (lambda F, g, out, x: g.reshape(x.shape),)


def reshape(x, *shape) -> Tensor:
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    return _reshaped(as_tensor(x), _shape_arg(shape))


view = reshape


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes from start_dim to end_dim (inclusive) into one, as torch.flatten."""
    x = as_tensor(x)
    if x.ndim == 0:
        return _reshaped(x, (1,))
    start, end = (normalize_axis(d, x.ndim)[0] for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    s = x.shape
    return _reshaped(x, s[:start] + (math.prod(s[start : end + 1]),) + s[end + 1 :])


def squeeze(x, dim=None) -> Tensor:
    """Drop size-1 axes: all of them, or those of `dim` (an int or tuple) that have size 1."""
    x = as_tensor(x)
    axes = range(x.ndim) if dim is None else normalize_axis(dim, x.ndim)
    drop = {a for a in axes if x.shape[a] == 1}
    return _reshaped(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


def unsqueeze(x, dim: int) -> Tensor:
    """Insert a size-1 axis at position `dim` (-1 appends one at the end)."""
    x = as_tensor(x)
    axis = normalize_axis(dim, x.ndim + 1)[0]
    return _reshaped(x, x.shape[:axis] + (1,) + x.shape[axis:])


def permute(x, *dims) -> Tensor:
    """Reorder the axes: out.shape[i] == x.shape[dims[i]]."""
    x = as_tensor(x)
    dims = _shape_arg(dims)
    if sorted(normalize_axis(d, x.ndim)[0] for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not an ordering of the {x.ndim} axes of a tensor of shape {x.shape}")
    dims = tuple(d % x.ndim for d in dims)
    back = tuple(sorted(range(x.ndim), key=dims.__getitem__))
    return record(x.array.transpose(dims), (x,), (x.array,), (lambda F, g, out, x: F.permute(g, back),))


def transpose(x, dim0: int, dim1: int) -> Tensor:
    """Swap two axes, as torch.transpose."""
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = (normalize_axis(d, x.ndim)[0] for d in (dim0, dim1))
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


swapaxes = transpose


def T(x) -> Tensor:
    """All axes reversed (the matrix transpose for 2-D)."""
    x = as_tensor(x)
    return permute(x, tuple(reversed(range(x.ndim))))


def broadcast_to(x, shape) -> Tensor:
    """x repeated along new or size-1 axes to `shape`; the gradient sums the copies."""
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        data = array_module(x.array).broadcast_to(x.array, shape)
    except ValueError:
        raise ValueError(f"can't broadcast a tensor of shape {x.shape} to {shape}") from None
    return record(data, (x,), (x.array,), _broadcast_grads)


_broadcast_grads = (lambda F, g, out, x: g,)  # the engine sums g back to x's shape


def expand(x, *sizes) -> Tensor:
    """torch.expand: broadcast_to where -1 keeps that axis's size."""
    x = as_tensor(x)
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return broadcast_to(x, shape)


def _joined(name: str, tensors, dim: int, join, piece):
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name} needs at least one tensor")
    same_device(tensors)
    arrays = [t.array for t in tensors]
    try:
        data = join(array_module(arrays[0]), arrays)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{name}: can't join tensors of shapes {shapes} along dim {dim}") from None
    return record(data, tuple(tensors), tuple(arrays), tuple(piece(i, tensors) for i in range(len(tensors))))


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis `dim`."""
    tensors = list(tensors)
    axis = normalize_axis(dim, (tensors[0].ndim if tensors else 0) + 1)[0]
    lead = (slice(None),) * axis

    def piece(i, _):
        return lambda F, g, out, *xs: g[lead + (i,)]

    return _joined("stack", tensors, dim, lambda xp, arrays: xp.stack(arrays, axis), piece)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along the existing axis `dim`."""
    tensors = list(tensors)
    axis = normalize_axis(dim, tensors[0].ndim if tensors else 1)[0]
    lead = (slice(None),) * axis

    def piece(i, ts):
        start = sum(t.shape[axis] for t in ts[:i])
        part = lead + (slice(start, start + ts[i].shape[axis]),)
        return lambda F, g, out, *xs: g[part]

    return _joined("cat", tensors, dim, lambda xp, arrays: xp.concatenate(arrays, axis), piece)


concatenate = cat
