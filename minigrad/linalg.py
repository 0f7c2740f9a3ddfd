"""``minigrad.linalg``: norms, as ``torch.linalg``.

:func:`vector_norm` treats the elements over `dim` as one vector; :func:`matrix_norm` the
last two dims (or the two dims given) as matrices; :func:`norm` picks one from `dim` and `ord`.
The matrix norms 2, -2 and 'nuc' come from the singular values, whose gradient is
``U diag(g) Vᵀ``; its own derivative (under ``create_graph``) treats U and V as constants.
"""

from __future__ import annotations

import math

from .backend import array_module
from .ops.operands import as_tensor, normalize_axis
from .ops.reduction import amax, amin, in_dtype, vector_norm
from .ops.registry import guard_functions
from .ops.shape import movedim
from .tensor import Axis, DType, Tensor, TensorLike, make, record

__all__ = ["norm", "vector_norm", "matrix_norm"]

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _singular_values(x: Tensor) -> Tensor:
    """The singular values of the matrices in x's last two dims, largest first."""
    xp = array_module(x.array)
    u, s, vh = xp.linalg.svd(x.array, full_matrices=False)
    grads = (lambda ops, g, out, x, u, vh: (u * g[..., None, :]) @ vh, None, None)
    return record("singular_values", s, (x, make(u), make(vh)), (x.array, u, vh), grads)


def matrix_norm(
    x: TensorLike, ord: float | str = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
    dtype: DType | None = None,
) -> Tensor:  # fmt: skip
    """The `ord` norm of the matrices in dims `dim`: 'fro' (sqrt of the sum of squares), 'nuc' (sum
    of the singular values), 1 and -1 (max, min column sum of |x|), inf and -inf (max, min row sum),
    2 and -2 (largest, smallest singular value)."""
    x = in_dtype(x, dtype)
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"matrix_norm: ord must be one of {_MATRIX_ORDS}, got {ord!r}")
    axes = normalize_axis(tuple(dim), x.ndim) or ()
    if x.ndim < 2 or len(axes) != 2:
        raise ValueError(f"matrix_norm: needs two distinct dims of a tensor of 2 dims or more, got {dim} for {x.shape}")
    rows, cols = (normalize_axis(d, x.ndim)[0] for d in dim)  # type: ignore[index]
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    if ord == "fro":
        return vector_norm(x, 2, axes, keepdim)
    if ord in (2, -2, "nuc"):
        s = _singular_values(movedim(x, (rows, cols), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else amax(s, -1) if ord == 2 else amin(s, -1)
        return out.reshape(kept) if keepdim else out
    summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)  # column sums, or row sums
    sums = abs(x).sum(summed, keepdim=True)
    extreme = (amax if ord > 0 else amin)(sums, over, keepdim=True)  # type: ignore[operator]
    return extreme if keepdim else extreme.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def norm(
    x: TensorLike, ord: float | str | None = None, dim: Axis = None, keepdim: bool = False, *,
    dtype: DType | None = None,
) -> Tensor:  # fmt: skip
    """A vector norm when `dim` is an int (or x is 1-D), a matrix norm when `dim` is two dims (or
    x is 2-D); with neither ord nor dim, the 2-norm of all elements, as torch.linalg.norm."""
    x = as_tensor(x)
    if dim is None and ord is None:
        return vector_norm(x, 2, None, keepdim, dtype=dtype)
    if dim is None:
        if x.ndim not in (1, 2):
            raise ValueError(f"linalg.norm: with ord and no dim, x must be 1-D or 2-D, got shape {x.shape}")
        dim = tuple(range(x.ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) == 1:
        return vector_norm(x, 2 if ord is None else ord, dims, keepdim, dtype=dtype)  # type: ignore[arg-type]
    if len(dims) == 2:
        return matrix_norm(x, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)  # type: ignore[arg-type]
    raise ValueError(f"linalg.norm: dim must be one or two dims, got {dim}")


guard_functions(globals(), "norm", "vector_norm", "matrix_norm")  # not ops: on their tensors' device (ops/registry.py)
