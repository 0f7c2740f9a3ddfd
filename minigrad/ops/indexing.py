"""Indexing by numpy's rules, and scatter_add, its gradient (and its gradient's gradient)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import array_module
from ..backend import scatter_add as scatter_add_arrays
from ..tensor import Tensor, TensorLike, record
from .operands import as_tensor
from .registry import register

__all__ = ["getitem", "scatter_add"]


def _index_array(i: Any) -> Any:
    """Tensors inside an index become their arrays (int or bool); the rest stays."""
    if isinstance(i, Tensor):
        if i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {i.dtype}")
        return i.array
    return i


def _index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_index_array(i) for i in index)
    return _index_array(index)


def getitem(x: TensorLike, index: Any) -> Tensor:
    """x[index] with ints, slices (negative steps too), None, ..., integer arrays and bool masks.

    The gradient scatters back into x's shape; repeated indices accumulate.
    """
    x = as_tensor(x)
    index = _index(index)
    try:
        array = x.array[index]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {x.shape})") from None
    grad = (lambda ops, g, out, x: ops.scatter_add(g, x.shape, index),)
    return record("getitem", array, (x,), (x.array,), grad)


register(getitem, "__getitem__")


def scatter_add(src: TensorLike, shape: Sequence[int], index: Any) -> Tensor:
    """zeros(shape) with `src` added at `index`, repeated indices accumulating."""
    src = as_tensor(src)
    index = _index(index)
    array = scatter_add_arrays(array_module(src.array), tuple(shape), index, src.array, src.dtype)
    return record("scatter_add", array, (src,), (src.array,), (lambda ops, g, out, src: g[index],))


register(scatter_add)
