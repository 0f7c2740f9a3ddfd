"""Indexing by numpy's rules, and scatter_add, its gradient (and its gradient's gradient)."""

from __future__ import annotations

from ..backend import array_module
from ..backend import scatter_add as scatter_add_arrays
from ..tensor import Tensor, record
from .common import as_tensor


def _index_array(i):
    """Tensors inside an index become their arrays (int or bool); the rest stays."""
    if isinstance(i, Tensor):
        if i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {i.dtype}")
        return i.array
    return i


def _index(index):
    if isinstance(index, tuple):
        return tuple(_index_array(i) for i in index)
    return _index_array(index)


def getitem(x, index) -> Tensor:
    """x[index] with ints, slices (negative steps too), None, ..., integer arrays and bool masks.

    The gradient scatters back into x's shape; repeated indices accumulate.
    """
    x = as_tensor(x)
    index = _index(index)
    try:
        data = x.array[index]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {x.shape})") from None
    return record(data, (x,), (x.array,), (lambda F, g, out, x: F.scatter_add(g, x.shape, index),))


def scatter_add(src, shape: tuple[int, ...], index) -> Tensor:
    """zeros(shape) with `src` added at `index`, repeated indices accumulating."""
    src = as_tensor(src)
    index = _index(index)
    data = scatter_add_arrays(array_module(src.array), tuple(shape), index, src.array, src.dtype)
    return record(data, (src,), (src.array,), (lambda F, g, out, src: g[index],))
