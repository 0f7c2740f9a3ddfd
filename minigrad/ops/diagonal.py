"""Triangles and diagonals of matrices (the last two dims, or the dims named): tril, triu,
diagonal, diag_embed, diag.

`offset` (or `diagonal` for tril, triu, diag) picks a diagonal: 0 the main one, k > 0 the
k-th above it, k < 0 below.
"""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ..tensor import Tensor, TensorLike, make, record
from .indexing import add_at, take
from .operands import as_tensor, dim_of
from .registry import register
from .shape import movedim

__all__ = ["tril", "triu", "diagonal", "diag_embed", "diag"]


def _triangle(name: str, x: TensorLike, diagonal: int, lower: bool) -> Tensor:
    """x with the elements above (lower) or below (upper) the `diagonal`-th diagonal set to 0."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expects a tensor of at least 2 dims, got shape {x.shape}")
    xp = array_module(x.array)
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, diagonal, dtype=bool) if lower else ~xp.tri(n, m, diagonal - 1, dtype=bool)
    array = xp.where(keep, x.array, xp.zeros((), x.dtype))
    kept = (lambda ops, g, out, x, keep: ops.where(keep, g, 0), None)
    return record(name, array, (x, make(keep)), (x.array, keep), kept)


def tril(x: TensorLike, diagonal: int = 0) -> Tensor:
    """The lower triangle of each matrix: elements above the `diagonal`-th diagonal become 0."""
    return _triangle("tril", x, diagonal, lower=True)


register(tril, "tril")


def triu(x: TensorLike, diagonal: int = 0) -> Tensor:
    """The upper triangle of each matrix: elements below the `diagonal`-th diagonal become 0."""
    return _triangle("triu", x, diagonal, lower=False)


register(triu, "triu")


def _diagonal_index(xp: Any, n: int, m: int, offset: int) -> tuple[Any, Any]:
    """(rows, cols) of the `offset`-th diagonal of an n x m matrix."""
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    return xp.arange(length) + max(-offset, 0), xp.arange(length) + max(offset, 0)


def diagonal(x: TensorLike, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The `offset`-th diagonal of the matrices in dims (dim1, dim2), as the last dim."""
    return _diagonal(as_tensor(x), offset, dim1, dim2)


register(diagonal, "diagonal")


def _diagonal(x: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
    a, b = dim_of(dim1, x.ndim), dim_of(dim2, x.ndim)
    if x.ndim < 2 or a == b:
        raise ValueError(f"diagonal: dim1 and dim2 must be two different dims, got {dim1}, {dim2} for shape {x.shape}")
    matrices = movedim(x, (a, b), (-2, -1))
    n, m = matrices.shape[-2:]
    rows, cols = _diagonal_index(array_module(x.array), n, m, offset)
    return take("diagonal", matrices, (Ellipsis, rows, cols))


def diag_embed(x: TensorLike, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices, in dims (dim1, dim2) of the result, holding x's last dim on their `offset`-th
    diagonal and 0 elsewhere."""
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError("diag_embed: expects a tensor of at least 1 dim")
    a, b = dim_of(dim1, x.ndim + 1), dim_of(dim2, x.ndim + 1)
    if a == b:
        raise ValueError(f"diag_embed: dim1 and dim2 must be different, got {dim1}, {dim2}")
    size = x.shape[-1] + abs(offset)
    rows, cols = _diagonal_index(array_module(x.array), size, size, offset)
    matrices = add_at(x, x.shape[:-1] + (size, size), (Ellipsis, rows, cols))
    return movedim(matrices, (-2, -1), (a, b))


register(diag_embed, "diag_embed")


def diag(x: TensorLike, diagonal: int = 0) -> Tensor:
    """A 1-D x as the `diagonal`-th diagonal of a square matrix; a 2-D x's `diagonal`-th diagonal."""
    x = as_tensor(x)
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return _diagonal(x, diagonal, 0, 1)
    raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {x.shape}")


register(diag, "diag")
