"""Ops that move elements around without changing them, and their gradients.

Each gradient undoes the move: reshape back, permute back, slice the piece back out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .indexing import getitem
from .operands import as_tensor, dim_of, normalize_axis, same_device, shape_arg
from .registry import register

__all__ = [
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes",
    "broadcast_to", "expand", "stack", "cat", "concatenate",
    "movedim", "moveaxis", "unflatten", "narrow", "split", "chunk", "unbind", "meshgrid",
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
    start, end = (dim_of(d, x.ndim) for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    s = x.shape
    return _reshaped(x, s[:start] + (math.prod(s[start : end + 1]),) + s[end + 1 :])


register(flatten, "flatten")


def squeeze(x: TensorLike, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Drop size-1 axes: all of them, or those of `dim` (an int or tuple) that have size 1."""
    x = as_tensor(x)
    axes = range(x.ndim) if dim is None else normalize_axis(dim, x.ndim) or ()
    drop = {a for a in axes if x.ndim and x.shape[a] == 1}  # a 0-d tensor squeezes to itself, as in PyTorch
    return _reshaped(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


register(squeeze, "squeeze")


def unsqueeze(x: TensorLike, dim: int) -> Tensor:
    """Insert a size-1 axis at position `dim` (-1 appends one at the end)."""
    x = as_tensor(x)
    axis = dim_of(dim, x.ndim + 1)
    return _reshaped(x, x.shape[:axis] + (1,) + x.shape[axis:])


register(unsqueeze, "unsqueeze")


def permute(x: TensorLike, *dims: Any) -> Tensor:
    """Reorder the axes: out.shape[i] == x.shape[dims[i]]."""
    x = as_tensor(x)
    order = shape_arg(dims, allow_minus_one=True) if dims else ()
    if sorted(dim_of(d, x.ndim) for d in order) != list(range(x.ndim)):
        raise ValueError(f"permute: {order} is not an ordering of the {x.ndim} axes of a tensor of shape {x.shape}")
    order = tuple(d % x.ndim for d in order)
    back = tuple(sorted(range(x.ndim), key=order.__getitem__))
    return record("permute", x.array.transpose(order), (x,), (x.array,), (lambda ops, g, out, x: ops.permute(g, back),))


register(permute, "permute")


def transpose(x: TensorLike, dim0: int, dim1: int) -> Tensor:
    """Swap two axes, as torch.transpose."""
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = dim_of(dim0, x.ndim), dim_of(dim1, x.ndim)
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
        if _joinable([t.shape for t in ts], name == "stack", dim):
            raise  # not a shape problem: the backend's own reason
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ValueError(f"{name}: can't join tensors of shapes {shapes} along dim {dim}") from None
    return record(name, array, tuple(ts), tuple(arrays), tuple(piece(i, ts) for i in range(len(ts))))


def _joinable(shapes: list[tuple[int, ...]], new_axis: bool, dim: int) -> bool:
    """Whether numpy's stack (`new_axis`) or concatenate along `dim` takes arrays of these shapes."""
    first = shapes[0]
    if new_axis:
        return all(s == first for s in shapes)
    if not first:
        return False
    axis = dim % len(first)
    rest = first[:axis] + first[axis + 1 :]
    return all(len(s) == len(first) and s[:axis] + s[axis + 1 :] == rest for s in shapes)


def stack(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis `dim`."""
    ts = [as_tensor(t) for t in tensors]
    axis = dim_of(dim, (ts[0].ndim if ts else 0) + 1)
    lead = (slice(None),) * axis

    def piece(i: int, _: list[Tensor]) -> Callable:
        return lambda ops, g, out, *xs: g[lead + (i,)]

    return _joined("stack", ts, dim, lambda xp, arrays: xp.stack(arrays, axis), piece)


register(stack)


def cat(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join tensors along the existing axis `dim`."""
    ts = [as_tensor(t) for t in tensors]
    axis = dim_of(dim, ts[0].ndim if ts else 1)
    lead = (slice(None),) * axis

    def piece(i: int, ts: list[Tensor]) -> Callable:
        start = sum(t.shape[axis] for t in ts[:i])
        part = lead + (slice(start, start + ts[i].shape[axis]),)
        return lambda ops, g, out, *xs: g[part]

    return _joined("cat", ts, dim, lambda xp, arrays: xp.concatenate(arrays, axis), piece)


register(cat, aliases=("concatenate",))


concatenate = cat


# ---- moving dims, splitting ----------------------------------------------------------------------
def _dims(dims: int | Sequence[int], ndim: int) -> list[int]:
    return [dim_of(d, ndim) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))]


def movedim(x: TensorLike, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """x with its dims `source` moved to the positions `destination`, the others keeping their order."""
    x = as_tensor(x)
    src, dst = _dims(source, x.ndim), _dims(destination, x.ndim)
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must be as many distinct dims")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


register(movedim, "movedim", "moveaxis", aliases=("moveaxis",))


moveaxis = movedim


def unflatten(x: TensorLike, dim: int, sizes: Sequence[int]) -> Tensor:
    """Dim `dim` split into dims of `sizes` (one may be -1), as torch.unflatten."""
    x = as_tensor(x)
    axis = dim_of(dim, x.ndim)
    sizes = shape_arg((sizes,), allow_minus_one=True)
    n, known = x.shape[axis], math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) == 1 and known and n % known == 0:  # -1 is inferred from this dim alone
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != n or -1 in sizes:
        raise ValueError(f"unflatten: sizes {sizes} don't multiply to the size {n} of dim {dim}")
    return _reshaped(x, x.shape[:axis] + sizes + x.shape[axis + 1 :])


register(unflatten, "unflatten")


def narrow(x: TensorLike, dim: int, start: int, length: int) -> Tensor:
    """The elements start..start+length-1 of x along `dim` (a negative start counts from the end)."""
    x = as_tensor(x)
    axis = dim_of(dim, x.ndim)
    n = x.shape[axis]
    begin = start + n if start < 0 else start
    if not (0 <= begin <= n and 0 <= length <= n - begin):
        raise IndexError(f"narrow: start {start} and length {length} don't fit dim {dim} of size {n}")
    return getitem(x, (slice(None),) * axis + (slice(begin, begin + length),))


register(narrow, "narrow")


def split(x: TensorLike, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """x cut along `dim` into pieces of split_size (the last may be smaller) or of the given sizes."""
    x = as_tensor(x)
    axis = dim_of(dim, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + [n % size] * bool(n % size) if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n or min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes {sizes} don't add up to the size {n} of dim {dim}")
    starts = itertools.accumulate([0] + sizes)
    return tuple(narrow(x, axis, start, size) for start, size in zip(starts, sizes))


register(split, "split")


def chunk(x: TensorLike, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut into `chunks` pieces of equal size along `dim` (fewer when it doesn't divide), as torch.chunk."""
    x = as_tensor(x)
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    axis = dim_of(dim, x.ndim)
    n = x.shape[axis]
    if n == 0:  # as PyTorch: `chunks` empty pieces
        return tuple(narrow(x, axis, 0, 0) for _ in range(chunks))
    return split(x, -(-n // chunks), axis)


register(chunk, "chunk")


def unbind(x: TensorLike, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of x along `dim`, that dim removed."""
    x = as_tensor(x)
    axis = dim_of(dim, x.ndim)
    return tuple(getitem(x, (slice(None),) * axis + (i,)) for i in range(x.shape[axis]))


register(unbind, "unbind")


def meshgrid(*tensors: TensorLike | Sequence[TensorLike], indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids of 1-D tensors: out[i] holds tensors[i] along dim i ('ij') or, for the
    first two, swapped ('xy', as numpy's default); each is broadcast, so gradients sum back."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    ts = [as_tensor(t).reshape(-1) if as_tensor(t).ndim == 0 else as_tensor(t) for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim != 1 for t in ts):
        raise ValueError(f"meshgrid: expects 0-d or 1-D tensors, got shapes {[t.shape for t in ts]}")
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for t, a in zip(ts, axes):
        shape[a] = t.shape[0]
    return tuple(
        broadcast_to(t.reshape(tuple(-1 if i == a else 1 for i in range(len(ts)))), tuple(shape))
        for t, a in zip(ts, axes)
    )


register(meshgrid)
