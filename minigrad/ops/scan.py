"""Scans along a dim: cumsum, cumprod, logcumsumexp (differentiable), cummax and cummin
(values, differentiable, and indices).

Each output element k reduces the elements 0..k of its line; the gradient of element i
therefore sums over the outputs k >= i: a reversed scan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..backend import accumulate, array_module
from ..tensor import DType, Tensor, TensorLike, float32, int64, make, record
from .indexing import along, take
from .operands import as_tensor, dim_of
from .reduction import in_dtype
from .registry import register
from .sorting import ValuesIndices

__all__ = ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"]


def _scan_dim(name: str, x: Tensor, dim: int | None, axis: int | None) -> int:
    """PyTorch's `dim` or numpy's `axis`, which a scan needs."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: pass either dim or axis, not both")
        dim = axis
    if dim is None:
        raise TypeError(f"{name}() needs a dim to scan along")
    return dim_of(dim, x.ndim)


def _line(xd: Any) -> Any:
    """A 0-d array as a line of one element (a scan of it is itself)."""
    return xd if xd.ndim else xd.reshape(1)


def _scan(name: str, x: Tensor, dim: int, forward: Callable, grad: Callable, *, floating: bool = False) -> Tensor:
    """A scan from ``forward(x, dim)`` and ``grad(ops, g, out, x, dim)``."""
    xd = x.array
    if floating and xd.dtype.kind != "f":
        xd = xd.astype(float32)
    array = forward(_line(xd), dim).reshape(xd.shape)
    formula = (lambda ops, g, out, x: grad(ops, g, out, x, dim)) if xd.ndim else (lambda ops, g, out, x: g)
    return record(name, array, (x,), (xd,), (formula,))


def _reversed(ops: Any, scan: Callable, a: Any, dim: int) -> Any:
    """`scan` run from the end of each line: element i reduces the elements i.. of its line."""
    return ops.flip(scan(ops.flip(a, dim), dim), dim)


def _integer_sum_dtype(x: Any) -> Any:
    return int64 if x.dtype.kind in "biu" else None  # integers and bools scan in int64, as in PyTorch


def cumsum(x: TensorLike, dim: int | None = None, *, dtype: DType | None = None, axis: int | None = None) -> Tensor:
    """Running sum along `dim`: out_k = x_0 + ... + x_k."""
    x = in_dtype(x, dtype)
    return _scan(
        "cumsum",
        x,
        _scan_dim("cumsum", x, dim, axis),
        lambda x, d: x.cumsum(d, dtype=_integer_sum_dtype(x)),
        lambda ops, g, out, x, d: _reversed(ops, ops.cumsum, g, d),
    )


register(cumsum, "cumsum")


def _cumprod_grad(ops: Any, g: Any, out: Any, x: Any, d: int) -> Any:
    """d(out_k)/d(x_i) is the product of x_0..x_k but x_i, for k >= i. Before the first zero of a
    line, that sums to reversed-cumsum(g * out)_i / x_i; at the first zero z, to the sum over k >= z
    of g_k times the running product with x_z taken as 1; after it, to 0."""
    zero = x == 0
    seen = ops.cumsum(zero, d)  # zeros up to and including each element
    before, first = seen == 0, zero & (seen == 1)
    head = ops.where(before, _reversed(ops, ops.cumsum, g * out, d) / ops.where(before, x, 1), 0)
    tail = ops.where(seen > 0, g * ops.cumprod(ops.where(first, 1, x), d), 0).sum(d, keepdims=True)
    return head + ops.where(first, tail, 0)


def cumprod(x: TensorLike, dim: int | None = None, *, dtype: DType | None = None, axis: int | None = None) -> Tensor:
    """Running product along `dim`: out_k = x_0 * ... * x_k. The gradient is right with zeros."""
    x = in_dtype(x, dtype)
    return _scan(
        "cumprod",
        x,
        _scan_dim("cumprod", x, dim, axis),
        lambda x, d: x.cumprod(d, dtype=_integer_sum_dtype(x)),
        _cumprod_grad,
    )


register(cumprod, "cumprod")


def _logcumsumexp_grad(ops: Any, g: Any, out: Any, x: Any, d: int) -> Any:
    """The sum over k >= i of g_k exp(x_i - out_k), taken in log space for the positive and the
    negative part of g apart, so that nothing overflows."""

    def part(h: Any) -> Any:  # log(h) - out where h > 0, else -inf (never -inf - -inf: NaN)
        positive = h > 0
        exponent = ops.where(positive, ops.log(ops.where(positive, h, 1)) - out, -math.inf)
        return ops.exp(x + _reversed(ops, ops.logcumsumexp, exponent, d))

    return part(g) - part(-g)


def logcumsumexp(x: TensorLike, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Running log(sum(exp(x))) along `dim`, without overflow."""
    x = as_tensor(x)
    return _scan(
        "logcumsumexp",
        x,
        _scan_dim("logcumsumexp", x, dim, axis),
        lambda x, d: accumulate(array_module(x).logaddexp, x, d),
        _logcumsumexp_grad,
        floating=True,
    )


register(logcumsumexp, "logcumsumexp")


def _running_extreme(name: str, ufunc: str, x: TensorLike, dim: int | None, axis: int | None) -> ValuesIndices:
    """(values, indices) of the running max or min along `dim`; the index is the latest element
    equal to the running value (NaN, once met, stays the value)."""
    x = as_tensor(x)
    d = _scan_dim(name, x, dim, axis)
    xd = _line(x.array)
    xp = array_module(xd)
    values = accumulate(getattr(xp, ufunc), xd, d)
    met = (xd == values) | (xd != xd)  # a new extreme, a tie with it, or NaN
    n = xd.shape[d]
    positions = xp.where(met, xp.arange(n).reshape((n,) + (1,) * (xd.ndim - 1 - d)), 0)
    indices = accumulate(xp.maximum, positions, d).reshape(x.shape)
    return ValuesIndices(take(name, x, along(indices, d)), make(indices))


def cummax(x: TensorLike, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """(values, indices) of the running max along `dim`; the gradient goes to the element each value is."""
    return _running_extreme("cummax", "maximum", x, dim, axis)


register(cummax, "cummax")


def cummin(x: TensorLike, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """(values, indices) of the running min along `dim`; the gradient goes to the element each value is."""
    return _running_extreme("cummin", "minimum", x, dim, axis)


register(cummin, "cummin")
