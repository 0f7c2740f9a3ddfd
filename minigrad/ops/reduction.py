"""Reductions over axes: sum, mean, max, min (differentiable) and argmax, argmin, any, all.

`axis` is an int, a tuple of ints (negatives count from the end) or None for all axes;
`dim` is accepted as PyTorch's name for it. The gradient of a reduction is the output's
gradient put back on the reduced axes (kept as size 1) and broadcast over them.
"""

from __future__ import annotations

import math

from ..backend import array_module
from ..tensor import Tensor, float32, make, record
from .common import as_tensor, normalize_axis


def _axes(x: Tensor, axis, dim):
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis or dim, not both")
        axis = dim
    if axis is None:
        return None
    axes = normalize_axis(axis, x.ndim)
    return axes if x.ndim else ()  # dim 0 (or -1) of a 0-d tensor is the tensor itself, as in PyTorch


def _kept_shape(shape, axes) -> tuple[int, ...]:
    """`shape` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduction(name: str, forward, grad, *, floating: bool = False, empty_ok: bool = True):
    """A reduction from ``forward(x, axes, keepdims, count)`` and ``grad(F, g, out, x, kept, axes, count)``.

    `kept` is x's shape with the reduced axes as size 1, `count` how many elements
    each output element reduces.
    """

    def op(x, axis=None, keepdims: bool = False, *, dim=None) -> Tensor:
        x = as_tensor(x)
        axes = _axes(x, axis, dim) if axis is not None or dim is not None else None
        xd = x.array
        if floating and xd.dtype.kind != "f":
            xd = xd.astype(float32)
        kept = _kept_shape(xd.shape, axes)
        count = math.prod(xd.shape if axes is None else [xd.shape[i] for i in axes])
        if not empty_ok and count == 0:
            raise ValueError(f"{name}() of an empty tensor (shape {x.shape}) over axis {axis} has no value")
        data = forward(xd, axes, keepdims, count)
        return record(data, (x,), (xd,), (lambda F, g, out, x: grad(F, g, out, x, kept, axes, count),))

    op.__name__ = op.__qualname__ = name
    return op


def _mean(total, count: int):
    return total / count if count else total * math.nan  # the mean of nothing is nan, as in numpy


def _sum_grad(F, g, out, x, kept, axes, count):
    return F.broadcast_to(g.reshape(kept), x.shape)


def _mean_grad(F, g, out, x, kept, axes, count):
    return F.broadcast_to(g.reshape(kept) / (count or 1), x.shape)


def _extremum_grad(F, g, out, x, kept, axes, count):
    """Shared equally between the elements that reached the max (or min)."""
    hits = (x == out.reshape(kept)).astype(g.dtype)
    return hits * (g.reshape(kept) / hits.sum(axes, keepdims=True))


sum = _reduction("sum", lambda x, axes, keepdims, count: x.sum(axes, keepdims=keepdims), _sum_grad)
mean = _reduction(
    "mean", lambda x, axes, keepdims, count: _mean(x.sum(axes, keepdims=keepdims), count), _mean_grad, floating=True
)
max = _reduction("max", lambda x, axes, keepdims, count: x.max(axes, keepdims=keepdims), _extremum_grad, empty_ok=False)
min = _reduction("min", lambda x, axes, keepdims, count: x.min(axes, keepdims=keepdims), _extremum_grad, empty_ok=False)
sum.__doc__ = "Sum over `axis` (all axes by default)."
mean.__doc__ = "Mean over `axis` (all axes by default); integer tensors give float32."
max.__doc__ = "Max over `axis`; tied maxima share the gradient equally."
min.__doc__ = "Min over `axis`; tied minima share the gradient equally."


def _index_reduction(name: str, forward):
    def op(x, axis=None, keepdims: bool = False, *, dim=None) -> Tensor:
        x = as_tensor(x)
        axes = _axes(x, axis, dim)
        if axes is not None and len(axes) != 1 and x.ndim:
            raise TypeError(f"{name} takes a single axis, got {axis!r}")
        if 0 in (x.shape if not axes else (x.shape[axes[0]],)):
            raise ValueError(f"{name}() of an empty tensor (shape {x.shape}) over axis {axis} has no value")
        xp = array_module(x.array)
        return make(xp.asarray(forward(x.array, axis=axes[0] if axes else None, keepdims=keepdims)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Indices of the {name[3:]} values along `axis` (of the flattened tensor when None); no gradient."
    return op


argmax = _index_reduction("argmax", lambda x, **kw: x.argmax(**kw))
argmin = _index_reduction("argmin", lambda x, **kw: x.argmin(**kw))


def any(x, axis=None, keepdims: bool = False, *, dim=None) -> Tensor:
    """Whether any element is true (non-zero) along `axis`; no gradient."""
    x = as_tensor(x)
    return make(array_module(x.array).asarray(x.array.any(axis=_axes(x, axis, dim), keepdims=keepdims)))


def all(x, axis=None, keepdims: bool = False, *, dim=None) -> Tensor:
    """Whether every element is true (non-zero) along `axis`; no gradient."""
    x = as_tensor(x)
    return make(array_module(x.array).asarray(x.array.all(axis=_axes(x, axis, dim), keepdims=keepdims)))


def var(x, axis=None, keepdims: bool = False, *, dim=None, correction: int = 1) -> Tensor:
    """Variance over `axis`: sum((x - mean)²) / (n - correction), Bessel-corrected by default as torch.var."""
    x = as_tensor(x)
    axes = _axes(x, axis, dim)
    n = math.prod(x.shape if axes is None else [x.shape[i] for i in axes])
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / (n - correction if n > correction else math.nan)


def std(x, axis=None, keepdims: bool = False, *, dim=None, correction: int = 1) -> Tensor:
    """Standard deviation over `axis`: sqrt(var(x))."""
    return var(x, axis, keepdims, dim=dim, correction=correction).sqrt()
