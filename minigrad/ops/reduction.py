"""Reductions over dims: sum, prod, mean, max, min, logsumexp, var, std, norm (differentiable) and
argmax, argmin, count_nonzero, any, all (no gradient).

`dim` is an int, a tuple of ints (negatives count from the end) or None for all dims;
`keepdim` keeps the reduced dims as size 1. numpy's names `axis` and `keepdims` are
accepted too. The gradient of a reduction is the output's gradient put back on the reduced
dims (kept as size 1) and broadcast over them. Reductions of nothing follow PyTorch: sum 0,
prod 1, mean nan, logsumexp -inf, max and min an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from ..backend import array_module
from ..tensor import Axis, DType, Tensor, TensorLike, float32, make, record
from .conversion import astype
from .elementwise import maximum, minimum
from .indexing import along, take
from .operands import as_tensor, dim_of, normalize_axis
from .registry import register
from .sorting import ValuesIndices

__all__ = [
    "amax", "amin",
    "sum", "prod", "mean", "max", "min", "logsumexp", "var", "std", "var_mean", "std_mean", "norm",
    "argmax", "argmin", "count_nonzero", "any", "all",
]  # fmt: skip

Axes = tuple[int, ...] | None


# ---- arguments ------------------------------------------------------------------------------
def dims(x: Tensor, dim: Axis, axis: Axis = None) -> Axes:
    """The dims to reduce as a sorted tuple of non-negative ints (None: all), from PyTorch's `dim`
    or numpy's `axis`. Dim 0 (or -1) of a 0-d tensor is the tensor itself, as in PyTorch."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim or axis, not both")
        dim = axis
    if dim is None:
        return None
    axes = normalize_axis(dim, x.ndim)
    return axes if x.ndim else ()


def keep(keepdim: bool, keepdims: bool | None) -> bool:
    """PyTorch's `keepdim` or numpy's `keepdims`."""
    if keepdims is None:
        return keepdim
    if keepdim:
        raise TypeError("pass either keepdim or keepdims, not both")
    return keepdims


def _kept_shape(shape: tuple[int, ...], axes: Axes) -> tuple[int, ...]:
    """`shape` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple[int, ...], axes: Axes, keepdim: bool) -> tuple[int, ...]:
    if keepdim:
        return _kept_shape(shape, axes)
    return () if axes is None else tuple(n for i, n in enumerate(shape) if i not in axes)


def _count(shape: tuple[int, ...], axes: Axes) -> int:
    """How many elements each output element reduces."""
    return math.prod(shape if axes is None else [shape[i] for i in axes])


def _over(axes: Axes) -> str:
    return "" if axes is None else f" over dim {axes[0]}" if len(axes) == 1 else f" over dims {axes}"


def in_dtype(x: TensorLike, dtype: DType | None) -> Tensor:
    """x as a tensor, cast to `dtype` when given (the `dtype=` of reductions and scans)."""
    x = as_tensor(x)
    return x if dtype is None else astype(x, dtype)


def _reduce(
    name: str, x: Tensor, axes: Axes, keepdim: bool, forward: Callable, grad: Callable | None,
    *, floating: bool = False, empty_ok: bool = True,
) -> Tensor:  # fmt: skip
    """A reduction from ``forward(x, axes, keepdim, count)`` and ``grad(ops, g, out, x, kept, axes, count)``.

    `kept` is x's shape with the reduced axes as size 1, `count` how many elements
    each output element reduces.
    """
    xd = x.array
    if floating and xd.dtype.kind != "f":
        xd = xd.astype(float32)
    kept = _kept_shape(xd.shape, axes)
    count = _count(xd.shape, axes)
    if not empty_ok and count == 0:
        raise ValueError(f"{name}() of an empty tensor (shape {x.shape}){_over(axes)} has no value")
    array = forward(xd, axes, keepdim, count)
    if grad is None:
        return make(array_module(xd).asarray(array))
    return record(name, array, (x,), (xd,), (lambda ops, g, out, x: grad(ops, g, out, x, kept, axes, count),))


# ---- sum, prod, mean ---------------------------------------------------------------------------
def _sum(x, axes, keepdim, count):
    return x.sum(axes, keepdims=keepdim)


def _sum_grad(ops, g, out, x, kept, axes, count):
    return ops.broadcast_to(g.reshape(kept), x.shape)


def sum(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, dtype: DType | None = None, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:  # fmt: skip
    """Sum over `dim` (all dims by default), computed in `dtype` when given; 0 over nothing."""
    x = in_dtype(x, dtype)
    return _reduce("sum", x, dims(x, dim, axis), keep(keepdim, keepdims), _sum, _sum_grad)


register(sum, "sum")


def _prod(x, axes, keepdim, count):
    return x.prod(axes, keepdims=keepdim)


def _prod_grad(ops, g, out, x, kept, axes, count):
    """d(prod)/dx_i is the product of the other elements: out / x_i when none is zero; with one
    zero, the product of the rest at the zero and 0 elsewhere; with more, 0 everywhere."""
    zero = x == 0
    zeros = zero.sum(axes, keepdims=True)
    nonzero = ops.where(zero, 1, x)
    rest = nonzero.prod(axes, keepdims=True)  # the product of the non-zero elements
    others = ops.where(zero, rest * (zeros == 1), rest / nonzero * (zeros == 0))
    return g.reshape(kept) * others


def prod(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, dtype: DType | None = None, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:  # fmt: skip
    """Product over `dim` (all dims by default); 1 over nothing. The gradient is right with zeros."""
    x = in_dtype(x, dtype)
    return _reduce("prod", x, dims(x, dim, axis), keep(keepdim, keepdims), _prod, _prod_grad)


register(prod, "prod")


def _mean(total: Any, count: int) -> Any:
    return total / count if count else total * math.nan  # the mean of nothing is nan, as in PyTorch


def _mean_forward(x, axes, keepdim, count):
    return _mean(x.sum(axes, keepdims=keepdim), count)


def _mean_grad(ops, g, out, x, kept, axes, count):
    return ops.broadcast_to(g.reshape(kept) / (count or 1), x.shape)


def mean(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, dtype: DType | None = None, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:  # fmt: skip
    """Mean over `dim` (all dims by default); integer tensors give float32; nan over nothing."""
    x = in_dtype(x, dtype)
    return _reduce("mean", x, dims(x, dim, axis), keep(keepdim, keepdims), _mean_forward, _mean_grad, floating=True)


register(mean, "mean")


# ---- max, min, logsumexp -----------------------------------------------------------------------
def _max(x, axes, keepdim, count):
    return x.max(axes, keepdims=keepdim)


def _min(x, axes, keepdim, count):
    return x.min(axes, keepdims=keepdim)


def _extremum_grad(ops, g, out, x, kept, axes, count):
    """Shared equally between the elements that reached the max (or min)."""
    hits = (x == out.reshape(kept)).astype(g.dtype)
    return hits * (g.reshape(kept) / hits.sum(axes, keepdims=True))


@overload
def max(x: TensorLike, dim: int, keepdim: bool = False, *, keepdims: bool | None = None) -> ValuesIndices: ...
@overload
def max(
    x: TensorLike,
    dim: tuple[int, ...] | Tensor | None = None,
    keepdim: bool = False,
    *,
    axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor: ...
def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):  # type: ignore[no-untyped-def]
    """The largest element. Along one `dim`, PyTorch's ``(values, indices)`` (the gradient goes to
    the element picked); over numpy's `axis` (any axes) or a tuple of dims, the values (tied
    maxima share the gradient equally). Given a tensor, the elementwise maximum, as PyTorch's
    ``x.max(other)`` (the chapter's ``res.max(tensor(0.0))``)."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    x = as_tensor(x)
    if _one_dim(dim, axis):
        return _extremum_along("max", x, dim, keep(keepdim, keepdims))
    return _reduce("max", x, dims(x, dim, axis), keep(keepdim, keepdims), _max, _extremum_grad, empty_ok=False)


register(max, "max")


@overload
def min(x: TensorLike, dim: int, keepdim: bool = False, *, keepdims: bool | None = None) -> ValuesIndices: ...
@overload
def min(
    x: TensorLike,
    dim: tuple[int, ...] | Tensor | None = None,
    keepdim: bool = False,
    *,
    axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor: ...
def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):  # type: ignore[no-untyped-def]
    """The smallest element; along one `dim`, ``(values, indices)``; over `axis` or a tuple of
    dims, the values; given a tensor, the elementwise minimum. See :func:`max`."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    x = as_tensor(x)
    if _one_dim(dim, axis):
        return _extremum_along("min", x, dim, keep(keepdim, keepdims))
    return _reduce("min", x, dims(x, dim, axis), keep(keepdim, keepdims), _min, _extremum_grad, empty_ok=False)


register(min, "min")


def amax(x: TensorLike, dim: Axis = (), keepdim: bool = False) -> Tensor:
    """The max over `dim` (all dims when empty, as torch.amax); tied maxima share the gradient equally."""
    x = as_tensor(x)
    return _reduce("amax", x, dims(x, None if dim == () else dim), keepdim, _max, _extremum_grad, empty_ok=False)


def amin(x: TensorLike, dim: Axis = (), keepdim: bool = False) -> Tensor:
    """The min over `dim` (all dims when empty, as torch.amin); tied minima share the gradient equally."""
    x = as_tensor(x)
    return _reduce("amin", x, dims(x, None if dim == () else dim), keepdim, _min, _extremum_grad, empty_ok=False)


register(amax, "amax")
register(amin, "amin")


def _one_dim(dim: Any, axis: Any) -> bool:
    """Whether the call is PyTorch's ``max(x, dim)``: one int dim, not numpy's `axis`."""
    return axis is None and isinstance(dim, (int, np.integer)) and not isinstance(dim, bool)


def _extremum_along(name: str, x: Tensor, dim: int, keepdim: bool) -> ValuesIndices:
    """(values, indices) of the max (or min) along `dim`; the values are taken at the indices,
    so the gradient goes to the element picked, as in PyTorch."""
    axis = dim_of(dim, x.ndim)
    xp = array_module(x.array)
    if not x.ndim:  # dim 0 (or -1) of a 0-d tensor is the tensor itself
        return ValuesIndices(take(name, x, ()), make(xp.zeros((), dtype=np.int64)))
    if x.shape[axis] == 0:
        raise ValueError(f"{name}() of an empty tensor (shape {x.shape}) over dim {dim} has no value")
    index = getattr(xp, f"arg{name}")(x.array, axis=axis, keepdims=True)
    values, indices = take(name, x, along(index, axis)), make(index)
    if keepdim:
        return ValuesIndices(values, indices)
    return ValuesIndices(values.squeeze(axis), indices.squeeze(axis))


def _logsumexp(x, axes, keepdim, count):
    """m + log(sum(exp(x - m))) with m the max: exp never overflows (m = 0 where it is infinite)."""
    xp = array_module(x)
    m = x.max(axes, keepdims=True) if count else xp.zeros(_kept_shape(x.shape, axes), x.dtype)
    m = xp.where(xp.isfinite(m), m, 0)
    total = xp.exp(x - m).sum(axes, keepdims=True)
    out = xp.where(total > 0, xp.log(xp.where(total > 0, total, 1)), -math.inf) + m  # log(0): -inf, quietly
    return out if keepdim else out.reshape(_reduced_shape(x.shape, axes, False))


def _logsumexp_grad(ops, g, out, x, kept, axes, count):
    return g.reshape(kept) * ops.exp(x - out.reshape(kept))  # the softmax of x


def logsumexp(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool | None = None
) -> Tensor:
    """log(sum(exp(x))) over `dim`, without overflow; -inf over nothing."""
    x = as_tensor(x)
    return _reduce(
        "logsumexp", x, dims(x, dim, axis), keep(keepdim, keepdims), _logsumexp, _logsumexp_grad, floating=True
    )


register(logsumexp, "logsumexp")


# ---- var, std ---------------------------------------------------------------------------------
def _var_mean(
    x: TensorLike, dim: Axis, keepdim: bool, correction: int | None, unbiased: bool | None, axis: Axis,
    keepdims: bool | None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """(variance, mean) over `dim`: sum((x - mean)²) / (n - correction).

    With no degrees of freedom left (n <= correction) this divides by 0, as PyTorch:
    inf for a non-constant input, nan for a constant one (0 / 0).
    """
    x = as_tensor(x)
    axes, keepdim = dims(x, dim, axis), keep(keepdim, keepdims)
    if unbiased is not None:
        if correction is not None:
            raise TypeError("pass either correction or unbiased, not both")
        correction = int(unbiased)
    correction = 1 if correction is None else correction
    m = mean(x, axes, keepdim=True)
    d = x - m
    dof = _count(x.shape, axes) - correction
    if dof > 0:
        v = sum(d * d, axes, keepdim) / dof
    else:  # inf or nan, as PyTorch gives them: without numpy's warning
        with np.errstate(divide="ignore", invalid="ignore"):
            v = sum(d * d, axes, keepdim) / 0
    return v, m.reshape(_reduced_shape(x.shape, axes, keepdim))


def var(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, correction: int | None = None,
    unbiased: bool | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> Tensor:  # fmt: skip
    """Variance over `dim`: sum((x - mean)²) / (n - correction), Bessel-corrected (correction=1) by default."""
    return _var_mean(x, dim, keepdim, correction, unbiased, axis, keepdims)[0]


register(var, "var")


def std(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, correction: int | None = None,
    unbiased: bool | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> Tensor:  # fmt: skip
    """Standard deviation over `dim`: sqrt(var(x))."""
    return _var_mean(x, dim, keepdim, correction, unbiased, axis, keepdims)[0].sqrt()


register(std, "std")


def var_mean(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, correction: int | None = None,
    unbiased: bool | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """(var(x), mean(x)) over `dim`, as torch.var_mean."""
    return _var_mean(x, dim, keepdim, correction, unbiased, axis, keepdims)


register(var_mean)


def std_mean(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, correction: int | None = None,
    unbiased: bool | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """(std(x), mean(x)) over `dim`, as torch.std_mean."""
    v, m = _var_mean(x, dim, keepdim, correction, unbiased, axis, keepdims)
    return v.sqrt(), m


register(std_mean)


# ---- norms -------------------------------------------------------------------------------------
def _pnorm(p: float) -> tuple[Callable, Callable]:
    """The forward and gradient of (sum |x|^p)^(1/p); the gradient is 0 where the norm is 0."""

    def forward(x, axes, keepdim, count):
        xp = array_module(x)
        if p == 2:
            return xp.sqrt((x * x).sum(axes, keepdims=keepdim))
        return (xp.abs(x) ** p).sum(axes, keepdims=keepdim) ** (1 / p)

    def grad(ops, g, out, x, kept, axes, count):
        norm = out.reshape(kept)
        scale = ops.where(norm == 0, 0, g.reshape(kept) / ops.where(norm == 0, 1, norm) ** (p - 1))
        return scale * x if p == 2 else scale * ops.sign(x) * abs(x) ** (p - 1)

    return forward, grad


def vector_norm(
    x: TensorLike, ord: float = 2, dim: Axis = None, keepdim: bool = False, *, dtype: DType | None = None
) -> Tensor:
    """(sum |x|^ord)^(1/ord) over `dim` (all dims by default), as torch.linalg.vector_norm: ord = inf,
    -inf give the max, min of |x|; ord = 0 the count of non-zeros. The gradient is 0 where the norm is."""
    x = in_dtype(x, dtype)
    axes = dims(x, dim)
    if not isinstance(ord, (int, float)) or isinstance(ord, bool):
        raise ValueError(f"a vector norm's order must be a number (or inf), got {ord!r}")
    if ord == math.inf:
        return _reduce("vector_norm", abs(x), axes, keepdim, _max, _extremum_grad, empty_ok=False)
    if ord == -math.inf:
        return _reduce("vector_norm", abs(x), axes, keepdim, _min, _extremum_grad, empty_ok=False)
    if ord == 0:
        return sum(x != 0, axes, keepdim, dtype=x.dtype if x.dtype.kind == "f" else float32)
    if ord == 1:
        return sum(abs(x), axes, keepdim)
    return _reduce("norm", x, axes, keepdim, *_pnorm(ord), floating=True)


def norm(
    x: TensorLike, p: float | str = "fro", dim: Axis = None, keepdim: bool = False, dtype: DType | None = None
) -> Tensor:
    """The p-norm of the elements over `dim` (all by default), as torch.norm: p = 'fro' is the
    2-norm, others as :func:`vector_norm`; 'nuc' is :func:`minigrad.linalg.matrix_norm`'s."""
    if p == "nuc":
        from ..linalg import matrix_norm

        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)  # type: ignore[arg-type]
    return vector_norm(x, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)  # type: ignore[arg-type]


register(norm, "norm")


# ---- no gradient: indices, counts, truth ------------------------------------------------------
def _index_of(name: str, x: TensorLike, dim: Axis, keepdim: bool, axis: Axis, keepdims: bool | None) -> Tensor:
    x = as_tensor(x)
    axes, keepdim = dims(x, dim, axis), keep(keepdim, keepdims)
    if axes is not None and len(axes) != 1 and x.ndim:
        raise TypeError(f"{name} takes a single dim, got {axes!r}")
    if 0 in (x.shape if not axes else (x.shape[axes[0]],)):
        raise ValueError(f"{name}() of an empty tensor (shape {x.shape}){_over(axes)} has no value")
    found = getattr(x.array, name)(axis=axes[0] if axes else None, keepdims=keepdim)
    return make(array_module(x.array).asarray(found))


def argmax(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool | None = None
) -> Tensor:
    """Indices of the max values along `dim` (of the flattened tensor when None); no gradient."""
    return _index_of("argmax", x, dim, keepdim, axis, keepdims)


register(argmax, "argmax")


def argmin(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool | None = None
) -> Tensor:
    """Indices of the min values along `dim` (of the flattened tensor when None); no gradient."""
    return _index_of("argmin", x, dim, keepdim, axis, keepdims)


register(argmin, "argmin")


def count_nonzero(x: TensorLike, dim: Axis = None, *, axis: Axis = None) -> Tensor:
    """How many elements are not zero along `dim` (all dims by default), as int64."""
    x = as_tensor(x)
    axes = dims(x, dim, axis)
    return _reduce("count_nonzero", x, axes, False, lambda x, *_: (x != 0).sum(axes), None)


register(count_nonzero, "count_nonzero")


_truth_forward = {
    "any": lambda x, axes, keepdim, count: x.any(axes, keepdims=keepdim),
    "all": lambda x, axes, keepdim, count: x.all(axes, keepdims=keepdim),
}


def any(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool | None = None
) -> Tensor:
    """Whether any element is true (non-zero) along `dim`; False over nothing. No gradient."""
    x = as_tensor(x)
    return _reduce("any", x, dims(x, dim, axis), keep(keepdim, keepdims), _truth_forward["any"], None)


register(any, "any")


def all(
    x: TensorLike, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool | None = None
) -> Tensor:
    """Whether every element is true (non-zero) along `dim`; True over nothing. No gradient."""
    x = as_tensor(x)
    return _reduce("all", x, dims(x, dim, axis), keep(keepdim, keepdims), _truth_forward["all"], None)


register(all, "all")
