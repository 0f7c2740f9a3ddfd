"""Indexing, and the ops that pick or place elements by index.

`getitem` (``t[index]``) follows numpy's rules, except for the order of the result's axes
when ints and index arrays are mixed: PyTorch applies ints first, as basic indices, so
``x[1, :, idx]`` is ``x[1][:, idx]`` (numpy would put idx's axis first). gather,
take_along_dim, index_select and masked_select pick elements as getitem does; every op that
picks elements records the index it used (copied: the caller may change theirs afterwards),
and its gradient puts g back with :func:`add_at`, where repeated indices accumulate.
scatter, scatter_add and scatter_reduce place elements along a dim, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import add_at as add_at_arrays
from ..backend import array_module, is_array, is_host, ufunc_at
from ..tensor import Tensor, TensorLike, grad_mode, make, record
from .operands import as_tensor, broadcasts_to, dim_of, same_device
from .registry import register

__all__ = [
    "getitem", "add_at", "gather", "take_along_dim", "index_select", "masked_select", "masked_fill", "nonzero",
    "scatter", "scatter_add", "scatter_reduce", "one_hot", "embedding",
]  # fmt: skip


# ---- getitem ----------------------------------------------------------------------------------
def _index_item(i: Any, xp: Any) -> Any:
    """Tensors inside an index become their arrays (int or bool), lists become arrays; the rest stays."""
    if isinstance(i, Tensor):
        if i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {i.dtype}")
        return i.array
    if isinstance(i, list):
        return xp.asarray(i) if i else xp.zeros(0, dtype=np.int64)
    return i


def _index(index: Any, xp: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_index_item(i, xp) for i in index)
    return _index_item(index, xp)


def _frozen(index: Any) -> Any:
    """The index with its arrays copied, so that changing them later changes nothing recorded."""
    if isinstance(index, tuple):
        return tuple(_frozen(i) for i in index)
    return index.copy() if is_array(index) and index.ndim else index


def _is_int(i: Any) -> bool:
    if is_array(i):
        return i.ndim == 0 and i.dtype.kind in "iu"
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def _ints_first(index: Any) -> tuple[tuple, tuple] | None:
    """PyTorch's order for an index mixing ints and index arrays: (the ints with the basic part,
    then the arrays), or None for an index without both. Each array is a full slice in the first
    part, each int is gone from the second."""
    if not isinstance(index, tuple):
        return None
    arrays = [is_array(i) and i.ndim > 0 for i in index]
    if not (True in arrays and any(_is_int(i) for i in index)):
        return None
    first: list = []
    then: list = []
    for i, is_index_array in zip(index, arrays):
        if is_index_array:
            first += [slice(None)] * (i.ndim if i.dtype.kind == "b" else 1)
            then.append(i)
        elif _is_int(i):
            first.append(i)
        else:  # a slice, None, ... or a bool: the first part applies it, the second keeps its axes
            first.append(i)
            then.append(i if i is Ellipsis else slice(None))
    return tuple(first), tuple(then)


def take(name: str, x: Tensor, index: Any) -> Tensor:
    """x[index] (numpy's rules) recorded as op `name`; its gradient adds g back at `index`.

    `index` holds arrays, not tensors; it must not change afterwards (callers copy theirs).
    """
    try:
        if not is_host(x.array):
            check_bounds(index, x.shape)
        array = x.array[index]
    except IndexError as e:
        raise IndexError(f"{name}: {e} (indexing a tensor of shape {x.shape})") from None
    return record(name, array, (x,), (x.array,), (lambda ops, g, out, x: ops.add_at(g, x.shape, index),))


def check_bounds(index: Any, shape: tuple[int, ...]) -> None:
    """numpy's IndexError for an integer index array reaching outside its axis, raised before
    indexing: cupy wraps such indices around instead (one device sync per index array)."""
    items = index if isinstance(index, tuple) else (index,)
    used = sum(_axes_used(i) for i in items if i is not Ellipsis)
    axis = 0
    for i in items:
        if i is Ellipsis:
            axis += len(shape) - used
            continue
        if is_array(i) and i.dtype.kind in "iu" and i.size and axis < len(shape):
            n = shape[axis]
            if bool(((i < -n) | (i >= n)).any()):
                low, high = int(i.min()), int(i.max())
                raise IndexError(f"index {low if low < -n else high} is out of bounds for axis {axis} with size {n}")
        axis += _axes_used(i)


def _axes_used(i: Any) -> int:
    """How many axes of the indexed array an index item walks: none for None (a new axis) and a bool,
    its dims for a bool mask, one for the rest."""
    if i is None or isinstance(i, bool):
        return 0
    return i.ndim if is_array(i) and i.dtype.kind == "b" else 1


def getitem(x: TensorLike, index: Any) -> Tensor:
    """x[index] with ints, slices (negative steps too), None, ..., integer arrays and bool masks.

    Ints mixed with index arrays are applied first, as in PyTorch (see the module's doc).
    The gradient scatters back into x's shape; repeated indices accumulate.
    """
    x = as_tensor(x)
    index = _index(index, array_module(x.array))
    if x.requires_grad and grad_mode.enabled:
        index = _frozen(index)
    split = _ints_first(index)
    if split is not None:
        return take("getitem", take("getitem", x, split[0]), split[1])
    return take("getitem", x, index)


register(getitem, "__getitem__")


def add_at(src: TensorLike, shape: Sequence[int], index: Any) -> Tensor:
    """zeros(shape) with `src` added at `index` (numpy's rules), repeated indices accumulating:
    the gradient of ``x[index]`` (numpy's ``add.at`` into zeros)."""
    src = as_tensor(src)
    index = _index(index, array_module(src.array))
    if _ints_first(index) is not None:
        raise ValueError("add_at: an index mixing ints and index arrays orders its axes differently in numpy and "
                         "PyTorch: apply the ints first (add_at of add_at)")  # fmt: skip
    if not is_host(src.array):
        check_bounds(index, tuple(shape))
    if src.requires_grad and grad_mode.enabled:
        index = _frozen(index)
    array = add_at_arrays(array_module(src.array), tuple(shape), index, src.array, src.dtype)
    return record("add_at", array, (src,), (src.array,), (lambda ops, g, out, src: g[index],))


register(add_at)


# ---- along a dim: gather, take_along_dim, index_select --------------------------------------
def along(index: Any, dim: int) -> tuple:
    """The full index that picks ``x[i0, ..., index[i0, ..., ik], ..., ik]`` (`index` at `dim`,
    each other dim its own position): gather's, as integer arrays (a copy of `index`)."""
    xp = array_module(index)
    nd = index.ndim
    return tuple(
        index.astype(np.int64) if d == dim else xp.arange(n).reshape((n,) + (1,) * (nd - 1 - d))
        for d, n in enumerate(index.shape)
    )


def _size(x: Tensor, dim: int) -> int:
    return x.shape[dim] if x.ndim else 1


def _int_index(name: str, index: TensorLike) -> Tensor:
    index = as_tensor(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    return index


def _check_range(name: str, index: Any, size: int, dim: int, *, negative: bool = False) -> None:
    """PyTorch's bounds for gather, scatter and index_select: 0 <= index < size (-size <= index
    with `negative`, as take_along_dim)."""
    if index.size == 0:
        return
    low, high = int(index.min()), int(index.max())
    if low < (-size if negative else 0) or high >= size:
        bad = low if low < (-size if negative else 0) else high
        raise IndexError(f"{name}: index {bad} is out of bounds for dim {dim} with size {size}")


def _placement(name: str, x: Tensor, dim: int, index: TensorLike, src: Tensor | None = None) -> tuple[int, tuple]:
    """(dim, the full index) of an op picking or placing elements of x along `dim` by `index`,
    after PyTorch's checks: same number of dims, index no larger than x (but along `dim`) or src."""
    axis, index = dim_of(dim, x.ndim), _int_index(name, index)
    same_device(name, (x, index) if src is None else (x, index, src))
    if index.ndim != x.ndim or (src is not None and src.ndim != x.ndim):
        shapes = f"input {x.shape}, index {index.shape}" + ("" if src is None else f", src {src.shape}")
        raise ValueError(f"{name}: input, index (and src) must have the same number of dims, got {shapes}")
    for d, n in enumerate(index.shape):
        if (d != axis and n > x.shape[d]) or (src is not None and n > src.shape[d]):
            where = "input" if d != axis and n > x.shape[d] else "src"
            raise ValueError(f"{name}: index of shape {index.shape} is larger than {where} in dim {d}")
    _check_range(name, index.array, _size(x, axis), axis)
    return axis, along(index.array, axis)


def gather(x: TensorLike, dim: int, index: TensorLike, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (and likewise for any dim), as torch.gather."""
    x = as_tensor(x)
    axis, full = _placement("gather", x, dim, index)
    return take("gather", x, full)


register(gather, "gather")


def take_along_dim(x: TensorLike, indices: TensorLike, dim: int | None = None) -> Tensor:
    """gather after broadcasting x and indices over every dim but `dim` (flattened when dim is None)."""
    x, indices = as_tensor(x), _int_index("take_along_dim", indices)
    if dim is None:
        return gather(x.reshape(-1), 0, _wrapped("take_along_dim", indices.reshape(-1), x.array.size, 0))
    axis = dim_of(dim, x.ndim)
    if x.ndim != indices.ndim:
        raise ValueError(f"take_along_dim: input {x.shape} and indices {indices.shape} need the same number of dims")
    try:
        common = list(np.broadcast_shapes(_without(x.shape, axis), _without(indices.shape, axis)))
    except ValueError:
        raise ValueError(f"take_along_dim: shapes {x.shape} and {indices.shape} don't broadcast") from None
    x = x.broadcast_to(tuple(common[:axis] + [x.shape[axis]] + common[axis + 1 :])) if x.ndim else x
    indices = indices.broadcast_to(tuple(common[:axis] + [indices.shape[axis]] + common[axis + 1 :]))
    return gather(x, axis, _wrapped("take_along_dim", indices, _size(x, axis), axis))


def _wrapped(name: str, indices: Tensor, size: int, dim: int) -> Tensor:
    """Indices in [-size, size) with the negative ones counted from the end, as numpy's."""
    _check_range(name, indices.array, size, dim, negative=True)
    return make(indices.array % max(size, 1))


register(take_along_dim, "take_along_dim")


def _without(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    """`shape` with `dim` as size 1."""
    return shape[:dim] + (1,) + shape[dim + 1 :] if shape else shape


def index_select(x: TensorLike, dim: int, index: TensorLike) -> Tensor:
    """The entries `index` (a 1-D integer tensor) of x along `dim`."""
    x, index = as_tensor(x), _int_index("index_select", index)
    axis = dim_of(dim, x.ndim)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D (or 0-d), got shape {index.shape}")
    _check_range("index_select", index.array, _size(x, axis), axis)
    return take("index_select", x, (slice(None),) * axis + (index.array.reshape(-1).astype(np.int64),))


register(index_select, "index_select")


# ---- masks --------------------------------------------------------------------------------------
def _bool_mask(name: str, mask: TensorLike) -> Tensor:
    mask = as_tensor(mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"{name}: mask must be a bool tensor, got dtype {mask.dtype}")
    return mask


def masked_select(x: TensorLike, mask: TensorLike) -> Tensor:
    """The elements of x where `mask` (broadcast with x) is true, as a 1-D tensor."""
    x, mask = as_tensor(x), _bool_mask("masked_select", mask)
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {mask.shape} doesn't broadcast with {x.shape}") from None
    x = x if x.shape == shape else x.broadcast_to(shape)
    xp = array_module(mask.array)
    return take("masked_select", x, xp.broadcast_to(mask.array, shape).copy())


register(masked_select, "masked_select")


def masked_fill(x: TensorLike, mask: TensorLike, value: TensorLike) -> Tensor:
    """x with `value` (a number or a 0-d tensor, cast to x's dtype) where `mask` is true."""
    from .elementwise import where

    x, mask = as_tensor(x), _bool_mask("masked_fill", mask)
    if not broadcasts_to(mask.shape, x.shape):
        raise ValueError(f"masked_fill: mask of shape {mask.shape} doesn't broadcast to the input's {x.shape}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        value = value.astype(x.dtype)
    else:
        value = {"b": bool, "i": int, "u": int}.get(x.dtype.kind, float)(value)  # type: ignore[operator]
    return where(mask, value, x)


register(masked_fill, "masked_fill")


def nonzero(x: TensorLike, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the non-zero elements: a (count, ndim) int64 tensor, or one 1-D tensor per dim."""
    xd = as_tensor(x).array
    xp = array_module(xd)
    if as_tuple:
        return tuple(make(i.astype(np.int64)) for i in xp.nonzero(xd if xd.ndim else xd.reshape(1)))
    return make(xp.argwhere(xd).astype(np.int64))


register(nonzero, "nonzero")


def one_hot(x: TensorLike, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape x.shape + (num_classes,) with 1 at each class index of x, else 0."""
    x = as_tensor(x)
    xd = x.array
    if xd.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects a tensor of class indices (integers), got dtype {x.dtype}")
    if num_classes == -1:
        if xd.size == 0:
            raise ValueError("one_hot: can't infer the number of classes from an empty tensor: pass num_classes")
        num_classes = int(xd.max()) + 1
    if xd.size and (int(xd.min()) < 0 or int(xd.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got [{int(xd.min())}, {int(xd.max())}]")
    return make((xd[..., None] == array_module(xd).arange(num_classes)).astype(np.int64))


register(one_hot)


def embedding(
    input: TensorLike,
    weight: TensorLike,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """The rows of weight (num_embeddings, dim) at the integer indices `input`: out[...] =
    weight[input[...]], as ``torch.nn.functional.embedding``. The row `padding_idx` gets no
    gradient; `max_norm` first rescales, in place as PyTorch, the rows picked whose `norm_type`-norm
    exceeds it; `scale_grad_by_freq` divides each row's gradient by how often the batch picks it.

    Gradient: g added back at the rows picked (repeats accumulate).
    """
    indices, w = as_tensor(input), as_tensor(weight)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected integer indices, got dtype {indices.dtype}")
    if w.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D (num_embeddings, embedding_dim), got size {list(w.shape)}")
    if sparse:
        raise ValueError("embedding: sparse gradients are not supported; use sparse=False")
    same_device("embedding", (indices, w))
    rows, xp, n = indices.array.copy(), array_module(indices.array), w.shape[0]
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise IndexError(f"embedding: index out of range in self: indices must be in [0, {n}), got "
                         f"[{int(rows.min())}, {int(rows.max())}]")  # fmt: skip
    if max_norm is not None:
        _renormed(w, xp.unique(rows), max_norm, norm_type)
    factor = None
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        factor = (rows != padding_idx % n)[..., None].astype(w.dtype)
    if scale_grad_by_freq:
        counts = xp.bincount(rows.reshape(-1), minlength=n)[rows][..., None].astype(w.dtype)
        factor = 1 / counts if factor is None else factor / counts

    def grad(ops: Any, g: Any, out: Any, w: Any) -> Any:
        return ops.add_at(g if factor is None else g * factor, w.shape, rows)

    return record("embedding", w.array[rows], (w,), (w.array,), (grad,))


register(embedding)


def _renormed(w: Tensor, rows: Any, max_norm: float, norm_type: float) -> None:
    """Scale, in place, the `rows` of w whose norm exceeds max_norm down to max_norm (1e-7 under, as
    PyTorch); not recorded, as in PyTorch."""
    xp, picked = array_module(w.array), w.array[rows]
    norms = (xp.abs(picked) ** norm_type).sum(1, keepdims=True) ** (1 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1).astype(w.dtype)
    previous = grad_mode.set(False)
    try:
        w[rows] = make(picked * scale)
    finally:
        grad_mode.set(previous)


# ---- placing along a dim: scatter, scatter_add, scatter_reduce ------------------------------
def _src_part(src: Tensor, index_shape: tuple[int, ...]) -> tuple:
    """The slices of src that scatter uses: its first index.shape elements in each dim."""
    return tuple(slice(0, n) for n in index_shape)


def _src_grad(ops: Any, g_part: Any, src: Any, part: tuple) -> Any:
    """The gradient of the part of src used, placed back into src's shape."""
    return g_part if tuple(g_part.shape) == tuple(src.shape) else ops.add_at(g_part, src.shape, part)


def scatter(x: TensorLike, dim: int, index: TensorLike, src: TensorLike | None = None, *, value: Any = None) -> Tensor:
    """x with ``out[i][index[i][j]] = src[i][j]`` along `dim` (or the number `value`); at repeated
    positions one of the values lands (which one is unspecified, as in PyTorch)."""
    x = as_tensor(x)
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src (a tensor) and value (a number)")
    src = value if src is None else src
    source = src if isinstance(src, Tensor) else None
    axis, full = _placement("scatter", x, dim, index, source)
    xp = array_module(x.array)
    array, written = x.array.copy(), xp.zeros(x.shape, dtype=bool)
    written[full] = True
    keep = (lambda ops, g, out, x, src, written: ops.where(written, 0, g), None, None)
    if source is None:
        array[full] = src
        return record("scatter", array, (x, src, make(written)), (x.array, src, written), keep)
    part = _src_part(source, full[axis].shape if full else ())
    array[full] = source.array[part]
    grads = (keep[0], lambda ops, g, out, x, src, written: _src_grad(ops, g[full], src, part), None)
    return record("scatter", array, (x, source, make(written)), (x.array, source.array, written), grads)


register(scatter, "scatter")


def scatter_add(x: TensorLike, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
    """x with ``out[i][index[i][j]] += src[i][j]`` along `dim`; repeated positions accumulate."""
    x, src = as_tensor(x), as_tensor(src)
    axis, full = _placement("scatter_add", x, dim, index, src)
    part = src if not full or src.shape == full[axis].shape else getitem(src, _src_part(src, full[axis].shape))
    return x + add_at(part, x.shape, full)


register(scatter_add, "scatter_add")


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype: np.dtype) -> Any:
    """The value a position starts from when include_self=False."""
    if reduce in ("amax", "amin"):
        low, high = (-math.inf, math.inf) if dtype.kind == "f" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        return low if reduce == "amax" else high
    return 1 if reduce == "prod" else 0


def _scatter_reduce_forward(xd: Any, full: tuple, values: Any, reduce: str, include_self: bool) -> tuple:
    """(out, hits: how many values each position receives, and for prod (zeros, product of the non-zeros))."""
    xp = array_module(xd)
    hits = add_at_arrays(xp, xd.shape, full, xp.ones(values.shape, np.int64), np.int64)
    start = xd.copy() if include_self else xp.where(hits > 0, xp.asarray(_identity(reduce, xd.dtype), xd.dtype), xd)
    ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
    out = start.copy()
    ufunc_at(ufunc, out, full, values)
    if reduce == "mean":
        count = xp.maximum(hits + include_self, 1).astype(xd.dtype)
        out = out / count if xd.dtype.kind == "f" else out // count
    if reduce != "prod":
        return out, (hits,)
    zeros = add_at_arrays(xp, xd.shape, full, (values == 0).astype(np.int64), np.int64) + (start == 0) * include_self
    nonzero = xp.where(start == 0, 1, start)
    ufunc_at(xp.multiply, nonzero, full, xp.where(values == 0, 1, values))
    return out, (hits, zeros, nonzero)


def _others(ops: Any, v: Any, out: Any, zeros: Any, nonzero: Any) -> Any:
    """The product of the other values of each value's group (see prod's gradient)."""
    return ops.where(v == 0, nonzero * (zeros == 1), out / ops.where(v == 0, 1, v) * (zeros == 0))


def _scatter_reduce_grads(reduce: str, full: tuple, part: tuple, include_self: bool) -> tuple:
    """The gradient formulas of scatter_reduce for x and src (the counts are constant inputs)."""

    def shares(ops, out, x, src, hits):
        """(x's, src's share of each gradient) for amax and amin: ties split it equally."""
        x_hit = (x == out) if include_self else (x == out) & (hits == 0)
        src_hit = src[part] == out[full]
        count = x_hit + ops.add_at(src_hit.astype(out.dtype), out.shape, full)
        return x_hit / count, src_hit / count[full]

    def grad_x(ops, g, out, x, src, hits, *prod):
        if reduce in ("amax", "amin"):
            return g * shares(ops, out, x, src, hits)[0]
        if not include_self:
            return ops.where(hits > 0, 0, g)
        if reduce == "mean":
            return g / (hits + 1)
        return g * _others(ops, x, out, *prod) if reduce == "prod" else g

    def grad_src(ops, g, out, x, src, hits, *prod):
        if reduce in ("amax", "amin"):
            g_part = g[full] * shares(ops, out, x, src, hits)[1]
        elif reduce == "mean":
            g_part = (g / ops.where(hits + include_self > 0, hits + include_self, 1))[full]
        else:
            g_part = g[full]
            if reduce == "prod":
                g_part = g_part * _others(ops, src[part], out[full], *(p[full] for p in prod))
        return _src_grad(ops, g_part, src, part)

    return grad_x, grad_src


def scatter_reduce(
    x: TensorLike, dim: int, index: TensorLike, src: TensorLike, reduce: str, *, include_self: bool = True
) -> Tensor:
    """x with the values of src reduced into the positions `index` gives along `dim`, as
    torch.scatter_reduce: reduce is 'sum', 'prod', 'mean', 'amax' or 'amin'; `include_self`
    counts x's own value at each position receiving some. Positions receiving none keep x's.
    Gradients: prod's is right with zeros; amax and amin share g equally between ties."""
    x, src = as_tensor(x), as_tensor(src)
    if reduce not in _REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    axis, full = _placement("scatter_reduce", x, dim, index, src)
    part = _src_part(src, full[axis].shape if full else ())
    out, counts = _scatter_reduce_forward(x.array, full, src.array[part].astype(x.dtype), reduce, include_self)
    grads = _scatter_reduce_grads(reduce, full, part, include_self) + (None,) * len(counts)
    inputs = (x, src) + tuple(make(c) for c in counts)
    return record("scatter_reduce", out, inputs, (x.array, src.array) + counts, grads)


register(scatter_reduce, "scatter_reduce")
