"""Ops that copy x's elements into a new arrangement: flip, roll, repeat, tile, repeat_interleave, pad.

Each picks elements by index (or broadcasts), so its gradient adds g back where each element
came from: copies of one element sum their gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import array_module
from ..tensor import Tensor, TensorLike, make, record
from .indexing import take
from .operands import as_tensor, dim_of, normalize_axis, shape_arg
from .registry import register

__all__ = ["flip", "roll", "repeat", "tile", "repeat_interleave", "pad"]


def _along(dim: int, index: Any) -> tuple:
    """The index picking `index` (an array) along `dim` and everything along the other dims."""
    return (slice(None),) * dim + (index,)


def flip(x: TensorLike, dims: int | Sequence[int]) -> Tensor:
    """x with the order of its elements reversed along `dims`."""
    x = as_tensor(x)
    axes = normalize_axis(tuple(dims) if isinstance(dims, (tuple, list)) else dims, x.ndim) or ()
    return take("flip", x, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim)))


register(flip, "flip")


def roll(x: TensorLike, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """x shifted by `shifts` along `dims` (of the flattened x when None), elements leaving one end
    coming back at the other."""
    x = as_tensor(x)
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            raise TypeError(f"roll: without dims, shifts must be one int, got {shifts!r}")
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    steps = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    axes = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(steps) != len(axes):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must be as many")
    xp = array_module(x.array)
    for shift, dim in zip(steps, axes):
        axis = dim_of(dim, x.ndim)
        n = x.shape[axis] if x.ndim else 1
        if n and shift % n:
            x = take("roll", x, _along(axis, (xp.arange(n) - shift) % n))
    return x


register(roll, "roll")


def repeat(x: TensorLike, *sizes: Any) -> Tensor:
    """x repeated sizes[i] times along dim i (x first gets leading dims of 1 to match), as torch.repeat."""
    x = as_tensor(x)
    sizes = shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes for a tensor of {x.ndim} dims: pass at least one per dim")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    interleaved = x.reshape(tuple(v for n in shape for v in (1, n)))  # (1, n0, 1, n1, ...)
    copies = interleaved.broadcast_to(tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
    return copies.reshape(tuple(r * n for r, n in zip(sizes, shape)))


register(repeat, "repeat")


def tile(x: TensorLike, dims: Sequence[int]) -> Tensor:
    """repeat, with dims given for the last dims only (the first ones are repeated once), as torch.tile."""
    x = as_tensor(x)
    dims = shape_arg((dims,))
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


register(tile, "tile")


def repeat_interleave(
    x: TensorLike, repeats: int | TensorLike | None = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Each element of x repeated `repeats` times (an int, or one count per element) along `dim`
    (of the flattened x when None). With x alone: x holds counts, and each index i is repeated x[i] times."""
    x = as_tensor(x)
    if repeats is None:
        if x.ndim != 1 or x.dtype.kind not in "iu":
            raise ValueError(f"repeat_interleave(counts): counts must be a 1-D integer tensor, got {x.shape} {x.dtype}")
        xp = array_module(x.array)
        return make(xp.repeat(xp.arange(x.shape[0]), x.array))
    if dim is None:
        x, dim = x.reshape(-1), 0
    axis = dim_of(dim, x.ndim)
    n = x.shape[axis] if x.ndim else 1
    xp = array_module(x.array)
    counts = repeats.array if isinstance(repeats, Tensor) else repeats
    if xp.ndim(counts) > 1 or (xp.ndim(counts) == 1 and xp.size(counts) not in (1, n)):
        raise ValueError(f"repeat_interleave: repeats must be an int or one count per element ({n}), got {repeats}")
    if xp.any(xp.asarray(counts) < 0):
        raise ValueError(f"repeat_interleave: repeats must not be negative, got {repeats}")
    index = xp.repeat(xp.arange(n), counts)
    if output_size is not None and output_size != index.shape[0]:
        raise ValueError(f"repeat_interleave: output_size {output_size} but the repeats give {index.shape[0]}")
    return take("repeat_interleave", x if x.ndim else x.reshape(1), _along(axis, index))


register(repeat_interleave, "repeat_interleave")


def _pad_index(xp: Any, mode: str, n: int, before: int, after: int) -> Any:
    """Which element of a dim of size n each position of the padded dim copies."""
    i = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    return xp.abs(i) - xp.maximum(i - (n - 1), 0) * 2  # reflect: -i before the start, 2(n-1) - i after the end


def _pad_widths(x: Tensor, pad: Sequence[int]) -> list[tuple[int, int]]:
    """(before, after) for each dim of x, from PyTorch's (last dim's before, after, the previous dim's, ...)."""
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim or not all(isinstance(p, (int, np.integer)) for p in pad):
        raise ValueError(f"pad: expects an even number of ints, at most two per dim ({x.ndim} dims), got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return widths


def pad(x: TensorLike, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """x padded as torch.nn.functional.pad: `pad` is (before, after) for the last dim, then the one
    before it, ...; mode 'constant' fills with `value` (0 by default; negative widths crop),
    'reflect' mirrors x without repeating the edge, 'replicate' repeats the edge, 'circular' wraps."""
    x = as_tensor(x)
    widths = _pad_widths(x, pad)
    xp = array_module(x.array)
    if mode == "constant":
        if any(min(w) < 0 for w in widths):  # negative widths crop first
            x = take("pad", x, tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(x.shape, widths)))
            widths = [(max(b, 0), max(a, 0)) for b, a in widths]
        inside = tuple(slice(b, b + n) for n, (b, a) in zip(x.shape, widths))
        array = xp.full(tuple(b + n + a for n, (b, a) in zip(x.shape, widths)), value or 0, x.dtype)
        array[inside] = x.array
        return record("pad", array, (x,), (x.array,), (lambda ops, g, out, x: g[inside],))
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    for d, (n, (before, after)) in enumerate(zip(x.shape, widths)):
        limit = n - 1 if mode == "reflect" else n
        if min(before, after) < 0 or max(before, after) > limit:
            raise ValueError(f"pad: {mode} padding of dim {d} (size {n}) must be in [0, {limit}], got {before, after}")
        if before or after:
            x = take("pad", x, _along(d, _pad_index(xp, mode, n, before, after)))
    return x


register(pad)
