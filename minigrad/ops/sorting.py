"""Sorting along a dim: sort, argsort, topk, kthvalue.

The values are picked from x by the sorted indices (as gather does), so their gradient goes
back to where each value came from. Sorts are stable, NaN counts as the largest value (as
in PyTorch), and equal values keep their order in descending sorts too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import array_module
from ..tensor import Tensor, TensorLike, make
from .indexing import along, take
from .operands import as_tensor, dim_of
from .registry import register

__all__ = ["sort", "argsort", "topk", "kthvalue"]


class ValuesIndices(NamedTuple):
    """(values, indices), as PyTorch's sort, topk, kthvalue, cummax, cummin return them."""

    values: Tensor
    indices: Tensor


def _order(name: str, x: Tensor, dim: int, descending: bool) -> tuple[int, Any]:
    """(dim, the indices that sort x along it) for a stable sort, ascending or descending."""
    axis = dim_of(dim, x.ndim)
    xd = x.array if x.ndim else x.array.reshape(1)
    xp = array_module(xd)
    if not descending:
        return axis, xp.argsort(xd, axis=axis, kind="stable").reshape(x.shape)
    # an ascending stable sort of the reversed line, reversed: equal values keep their order, NaN first
    reversed_order = xp.flip(xp.argsort(xp.flip(xd, axis), axis=axis, kind="stable"), axis)
    return axis, ((xd.shape[axis] - 1) - reversed_order).reshape(x.shape)


def _picked(name: str, x: Tensor, axis: int, indices: Any) -> ValuesIndices:
    return ValuesIndices(take(name, x, along(indices, axis)), make(indices))


def sort(x: TensorLike, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """(values, indices) of x sorted along `dim` (stable, whatever `stable` says)."""
    x = as_tensor(x)
    return _picked("sort", x, *_order("sort", x, dim, descending))


register(sort, "sort")


def argsort(x: TensorLike, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along `dim`; no gradient."""
    x = as_tensor(x)
    return make(_order("argsort", x, dim, descending)[1])


register(argsort, "argsort")


def _kth(name: str, x: Tensor, k: int, axis: int, low: int) -> None:
    n = x.shape[axis] if x.ndim else 1
    if not isinstance(k, int) or not low <= k <= n:
        raise ValueError(f"{name}: k must be an int in [{low}, {n}] (the size of dim {axis}), got {k!r}")


def topk(x: TensorLike, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """(values, indices) of the k largest (or smallest) elements along `dim`, in order."""
    x = as_tensor(x)
    axis, order = _order("topk", x, dim, largest)
    _kth("topk", x, k, axis, 0)
    return _picked("topk", x, axis, order[(slice(None),) * axis + (slice(0, k),)] if x.ndim else order)


register(topk, "topk")


def kthvalue(x: TensorLike, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """(values, indices) of the k-th smallest element along `dim` (k counts from 1)."""
    x = as_tensor(x)
    axis, order = _order("kthvalue", x, dim, False)
    _kth("kthvalue", x, k, axis, 1)
    if not x.ndim:
        return _picked("kthvalue", x, axis, order)
    kept = order[(slice(None),) * axis + (slice(k - 1, k),)]
    values, indices = _picked("kthvalue", x, axis, kept)
    if keepdim:
        return ValuesIndices(values, indices)
    return ValuesIndices(values.squeeze(axis), indices.squeeze(axis))


register(kthvalue, "kthvalue")
