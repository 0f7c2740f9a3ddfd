"""Reductions over axes: sum, mean, max, min (differentiable) and argmax, argmin, any, all.

`axis` is an int, a tuple of ints (negatives count from the end) or None for all axes;
`dim` is accepted as PyTorch's name for it. The gradient of a reduction is the output's
gradient put back on the reduced axes (kept as size 1) and broadcast over them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import Axis, Tensor, TensorLike, float32, make, record
from .elementwise import maximum, minimum
from .operands import as_tensor, normalize_axis
from .registry import register

__all__ = ["sum", "mean", "max", "min", "var", "std", "argmax", "argmin", "any", "all"]


def _axes(x: Tensor, axis: Axis, dim: Axis) -> tuple[int, ...] | None:
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis or dim, not both")
        axis = dim
    if axis is None:
        return None
    axes = normalize_axis(axis, x.ndim)
    return axes if x.ndim else ()  # dim 0 (or -1) of a 0-d tensor is the tensor itself, as in PyTorch


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """`shape` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduce(
    name: str, x: TensorLike, axis: Axis, dim: Axis, keepdims: bool, forward: Callable, grad: Callable,
    *, floating: bool = False, empty_ok: bool = True,
) -> Tensor:  # fmt: skip
    """A reduction from ``forward(x, axes, keepdims, count)`` and ``grad(ops, g, out, x, kept, axes, count)``.

    `kept` is x's shape with the reduced axes as size 1, `count` how many elements
    each output element reduces.
    """
    x = as_tensor(x)
    axes = _axes(x, axis, dim) if axis is not None or dim is not None else None
    xd = x.array
    if floating and xd.dtype.kind != "f":
        xd = xd.astype(float32)
    kept = _kept_shape(xd.shape, axes)
    count = math.prod(xd.shape if axes is None else [xd.shape[i] for i in axes])
    if not empty_ok and count == 0:
        raise ValueError(f"{name}() of an empty tensor (shape {x.shape}) over axis {axis} has no value")
    array = forward(xd, axes, keepdims, count)
    return record(name, array, (x,), (xd,), (lambda ops, g, out, x: grad(ops, g, out, x, kept, axes, count),))


def _mean(total: Any, count: int) -> Any:
    return total / count if count else total * math.nan  # the mean of nothing is nan, as in numpy


def _sum(x, axes, keepdims, count):
    return x.sum(axes, keepdims=keepdims)


def _sum_grad(ops, g, out, x, kept, axes, count):
    return ops.broadcast_to(g.reshape(kept), x.shape)


def _mean_forward(x, axes, keepdims, count):
    return _mean(x.sum(axes, keepdims=keepdims), count)


def _mean_grad(ops, g, out, x, kept, axes, count):
    return ops.broadcast_to(g.reshape(kept) / (count or 1), x.shape)


def _max(x, axes, keepdims, count):
    return x.max(axes, keepdims=keepdims)


def _min(x, axes, keepdims, count):
    return x.min(axes, keepdims=keepdims)


def _extremum_grad(ops, g, out, x, kept, axes, count):
    """Shared equally between the elements that reached the max (or min)."""
    hits = (x == out.reshape(kept)).astype(g.dtype)
    return hits * (g.reshape(kept) / hits.sum(axes, keepdims=True))


def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Sum over `axis` (all axes by default)."""
    return _reduce("sum", x, axis, dim, keepdims, _sum, _sum_grad)


register(sum, "sum")


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Mean over `axis` (all axes by default); integer tensors give float32."""
    return _reduce("mean", x, axis, dim, keepdims, _mean_forward, _mean_grad, floating=True)


register(mean, "mean")


def max(x: TensorLike, axis: Axis | Tensor = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Max over `axis`; tied maxima share the gradient equally. Given a tensor instead of an
    axis, the elementwise maximum, as PyTorch's ``x.max(other)`` (the chapter's ``res.max(tensor(0.0))``)."""
    if isinstance(axis, Tensor):
        return maximum(x, axis)
    return _reduce("max", x, axis, dim, keepdims, _max, _extremum_grad, empty_ok=False)


register(max, "max")


def min(x: TensorLike, axis: Axis | Tensor = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Min over `axis`; tied minima share the gradient equally. Given a tensor instead of an
    axis, the elementwise minimum, as PyTorch's ``x.min(other)``."""
    if isinstance(axis, Tensor):
        return minimum(x, axis)
    return _reduce("min", x, axis, dim, keepdims, _min, _extremum_grad, empty_ok=False)


register(min, "min")


def _index_of(name: str, x: TensorLike, axis: Axis, keepdims: bool, dim: Axis) -> Tensor:
    x = as_tensor(x)
    axes = _axes(x, axis, dim)
    if axes is not None and len(axes) != 1 and x.ndim:
        raise TypeError(f"{name} takes a single axis, got {axis!r}")
    if 0 in (x.shape if not axes else (x.shape[axes[0]],)):
        raise ValueError(f"{name}() of an empty tensor (shape {x.shape}) over axis {axis} has no value")
    found = getattr(x.array, name)(axis=axes[0] if axes else None, keepdims=keepdims)
    return make(array_module(x.array).asarray(found))


def argmax(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Indices of the max values along `axis` (of the flattened tensor when None); no gradient."""
    return _index_of("argmax", x, axis, keepdims, dim)


register(argmax, "argmax")


def argmin(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Indices of the min values along `axis` (of the flattened tensor when None); no gradient."""
    return _index_of("argmin", x, axis, keepdims, dim)


register(argmin, "argmin")


def any(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Whether any element is true (non-zero) along `axis`; no gradient."""
    x = as_tensor(x)
    return make(array_module(x.array).asarray(x.array.any(axis=_axes(x, axis, dim), keepdims=keepdims)))


register(any, "any")


def all(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Tensor:
    """Whether every element is true (non-zero) along `axis`; no gradient."""
    x = as_tensor(x)
    return make(array_module(x.array).asarray(x.array.all(axis=_axes(x, axis, dim), keepdims=keepdims)))


register(all, "all")


def var(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, correction: int = 1) -> Tensor:
    """Variance over `axis`: sum((x - mean)²) / (n - correction), Bessel-corrected by default as torch.var."""
    x = as_tensor(x)
    axes = _axes(x, axis, dim)
    n = math.prod(x.shape if axes is None else [x.shape[i] for i in axes])
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / (n - correction if n > correction else math.nan)


register(var, "var")


def std(x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, correction: int = 1) -> Tensor:
    """Standard deviation over `axis`: sqrt(var(x))."""
    return var(x, axis, keepdims, dim=dim, correction=correction).sqrt()


register(std, "std")
