"""Resampling images by separable linear maps: interpolate (nearest, bilinear) and the averaging
behind adaptive_avg_pool2d.

Each of these computes every output row from input rows with one fixed (OH, H) matrix, and every
output column from input columns with one (OW, W) matrix: out[n, c] = R · x[n, c] · Cᵀ. That is
two matrix products (one gemm each, over every image at once), differentiated as matrix
products (the gradient is Rᵀ · g · C), twice if asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..backend import array_module
from ..tensor import Tensor, TensorLike, make
from .operands import as_tensor
from .registry import guard_functions


def separable(x: Tensor, rows: Any, columns: Any) -> Tensor:
    """rows (OH, H) · x[n, c] · columnsᵀ (W, OW) for every image of x (N, C, H, W), as two gemms."""
    n, c, h, w = x.shape
    (oh, _), (ow, _) = rows.shape, columns.shape
    across = x.reshape(n * c * h, w) @ make(columns.T)  # (N·C·H, OW)
    down = across.reshape(n * c, h, ow).transpose(1, 2).reshape(n * c * ow, h) @ make(rows.T)  # (N·C·OW, OH)
    return down.reshape(n, c, ow, oh).transpose(2, 3)


def averaging(xp: Any, n: int, out: int, dtype: Any) -> Any:
    """The (out, n) matrix whose row o averages adaptive window o: [⌊o·n/out⌋, ⌈(o+1)·n/out⌉)."""
    o = xp.arange(out).reshape(-1, 1)
    start, end = (o * n) // out, -((-(o + 1) * n) // out)
    i = xp.arange(n)
    return (((i >= start) & (i < end)) / (end - start)).astype(dtype)


def _nearest(xp: Any, n: int, out: int, scale: float, dtype: Any) -> Any:
    """The (out, n) matrix picking input ⌊o·scale⌋ for output o (PyTorch's 'nearest')."""
    source = xp.minimum(xp.floor(xp.arange(out) * scale).astype(xp.int64), n - 1)
    return (source.reshape(-1, 1) == xp.arange(n)).astype(dtype)


def _linear(xp: Any, n: int, out: int, scale: float, align_corners: bool, dtype: Any) -> Any:
    """The (out, n) matrix of linear interpolation: output o reads position o·(n-1)/(out-1) with
    `align_corners`, else (o + ½)·scale - ½ (at least 0), shared between its two neighbours."""
    o = xp.arange(out, dtype=xp.float64)
    if align_corners:
        source = o * ((n - 1) / (out - 1) if out > 1 else 0.0)
    else:
        source = xp.maximum((o + 0.5) * scale - 0.5, 0.0)
    low = xp.minimum(xp.floor(source).astype(xp.int64), n - 1)
    high = xp.minimum(low + 1, n - 1)
    frac = source - low
    i = xp.arange(n)
    return (
        (low.reshape(-1, 1) == i) * (1 - frac).reshape(-1, 1) + (high.reshape(-1, 1) == i) * frac.reshape(-1, 1)
    ).astype(dtype)


_MODES = {"nearest": 1, "linear": 1, "bilinear": 2}


def _output_size(
    sizes_in: tuple[int, ...], size: Any, scale_factor: Any, recompute_scale_factor: bool | None
) -> tuple[tuple[int, ...], list[float]]:
    """(the output's size, and for each dim the scale its source positions are computed with, as
    PyTorch: in / out, or 1 / scale_factor when that was given, unless recompute_scale_factor)."""
    dims = len(sizes_in)
    if size is not None:
        out = (size,) * dims if isinstance(size, int) else tuple(size)
        scales = [n / o if o else 0.0 for n, o in zip(sizes_in, out)]
    else:
        factors = (scale_factor,) * dims if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        out = tuple(math.floor(n * f) for n, f in zip(sizes_in, factors))
        scales = [n / o if recompute_scale_factor and o else 1 / f for n, o, f in zip(sizes_in, out, factors)]
    if len(out) != dims or min(out) <= 0:
        raise ValueError(f"interpolate: output size must be {dims} positive ints, got {out} from input size {sizes_in}")
    return out, scales


def interpolate(
    input: TensorLike,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """(N, C, L) or (N, C, H, W) input resized to `size`, or scaled by `scale_factor` (the output
    ⌊in·scale_factor⌋), as ``torch.nn.functional.interpolate``. mode 'nearest' copies input
    ⌊o·in/out⌋ (or ⌊o/scale_factor⌋ unless recompute_scale_factor); 'linear' (3-D) and
    'bilinear' (4-D) interpolate between the two nearest inputs, with pixel centres aligned
    (``align_corners=False``, the default) or the corner pixels (True).

    Gradient: each input element gets g times the weight it was read with (two matrix products).
    """
    x = as_tensor(input)
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported: expected one of {', '.join(_MODES)}")
    dims = x.ndim - 2
    if dims not in (1, 2) or (mode != "nearest" and dims != _MODES[mode]):
        needs = "3D or 4D" if mode == "nearest" else f"{_MODES[mode] + 2}D"
        raise NotImplementedError(f"interpolate: got {x.ndim}D input, but {mode} mode needs {needs} input")
    if align_corners is not None and mode == "nearest":
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: either size or scale_factor should be defined, and only one of them")
    if x.dtype.kind != "f":
        raise RuntimeError(f"interpolate: expected a float input, got dtype {x.dtype}")
    sizes_in = x.shape[2:]
    out, scales = _output_size(sizes_in, size, scale_factor, recompute_scale_factor)
    xp = array_module(x.array)

    def matrix(n: int, o: int, scale: float) -> Any:
        if mode == "nearest":
            return _nearest(xp, n, o, scale, x.dtype)
        return _linear(xp, n, o, scale, bool(align_corners), x.dtype)

    if dims == 1:
        ones = xp.ones((1, 1), dtype=x.dtype)
        return separable(x.unsqueeze(2), ones, matrix(sizes_in[0], out[0], scales[0])).squeeze(2)
    return separable(x, matrix(sizes_in[0], out[0], scales[0]), matrix(sizes_in[1], out[1], scales[1]))


guard_functions(globals(), "interpolate")  # not ops: on their tensors' device (ops/registry.py)
