"""Math on raw arrays that numpy and cupy don't offer alike, written once for both.

Each function takes the array module `xp` (numpy or cupy, from
:func:`minigrad.backend.array_module`) and works in the array's own float dtype. The ops
(:mod:`minigrad.ops`) compute their forwards with these, and
:class:`minigrad.backend.BackendMath` offers them to gradient formulas.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

_HALF = np.float32(0.5)  # cheaper than a Python 0.5; keeps float32 and float64 as they are


def sigmoid(xp: Any, x: Any) -> Any:
    """1 / (1 + e^-x), computed as (1 + tanh(x / 2)) / 2, which never overflows."""
    half = _HALF if x.dtype.itemsize >= 4 else x.dtype.type(0.5)
    out = xp.tanh(x * half)
    out += 1
    out *= half
    return out


# ---- the error function --------------------------------------------------------------------------
_SERIES_END = 1.0  # |x| below this: the Maclaurin series; from it on: 1 - erfc(|x|)
_ERFC_END = 6.0  # erfc(6) = 2e-17: beyond, erf(x) rounds to ±1 even in float64


def erf(xp: Any, x: Any) -> Any:
    """The error function, accurate to a few units in the last place of x's float dtype (float16
    computes in float32), from array math alone: numpy has no erf, and cupy's is in cupyx.

    For |x| < 1 it sums the Maclaurin series x·Σ aₖ·x²ᵏ. Further out it is ±(1 - erfc(|x|)) with
    erfc(x) = e^(-x²)·erfcx(x): erfcx is smooth and slowly varying, so a Chebyshev interpolant
    (in t = 2 / (2 + x), fitted to ``math.erfc`` at first use) gives it over [1, 6] to full precision.
    """
    if x.dtype.itemsize < 4:
        return erf(xp, x.astype(np.float32)).astype(x.dtype)
    series, chebyshev = _erf_coefficients(x.dtype.itemsize >= 8)
    inner = xp.clip(x, -_SERIES_END, _SERIES_END)
    small = inner * _horner(inner * inner, series)
    z = xp.clip(xp.abs(x), _SERIES_END, _ERFC_END)
    large = 1 - xp.exp(-z * z) * _clenshaw(_unit_interval(z), chebyshev)
    return xp.where(xp.abs(x) < _SERIES_END, small, xp.copysign(large, x))


def _t(z: Any) -> Any:
    return 2 / (2 + z)


_T_LOW, _T_HIGH = _t(_ERFC_END), _t(_SERIES_END)


def _unit_interval(z: Any) -> Any:
    """t(z), from [t(6), t(1)], mapped linearly onto [-1, 1], where Chebyshev polynomials live."""
    return (2 * _t(z) - (_T_LOW + _T_HIGH)) / (_T_HIGH - _T_LOW)


@functools.cache
def _erf_coefficients(double: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(the Maclaurin coefficients aₖ of erf(x) / x in powers of x², the Chebyshev coefficients of
    erfcx on [1, 6]), each cut where the rest is below float64's (or float32's) resolution."""
    tolerance = 1e-17 if double else 1e-9
    series = []
    for k in itertools.count():
        term = 2 / math.sqrt(math.pi) / (math.factorial(k) * (2 * k + 1))  # |aₖ| = |term of erf(1)|
        series.append(-term if k % 2 else term)
        if term < tolerance:
            break
    n = 16  # interpolation nodes: erfcx's coefficients past the 16th are below float64's resolution
    nodes = [math.cos(math.pi * (j + 0.5) / n) for j in range(n)]
    z = [2 / ((_T_LOW + _T_HIGH) / 2 + (_T_HIGH - _T_LOW) / 2 * u) - 2 for u in nodes]  # t back to z
    values = [math.exp(v * v) * math.erfc(v) for v in z]
    chebyshev = [
        (1 if k else 0.5) * 2 / n * sum(f * math.cos(math.pi * k * (j + 0.5) / n) for j, f in enumerate(values))
        for k in range(n)
    ]
    while abs(chebyshev[-1]) < tolerance:
        chebyshev.pop()
    return tuple(series), tuple(chebyshev)


def _horner(s: Any, coefficients: tuple[float, ...]) -> Any:
    """Σ cₖ·sᵏ."""
    out = s * coefficients[-1]
    for c in coefficients[-2:0:-1]:
        out += c
        out *= s
    out += coefficients[0]
    return out


def _clenshaw(u: Any, coefficients: tuple[float, ...]) -> Any:
    """Σ cₖ·Tₖ(u), Tₖ the Chebyshev polynomials, by Clenshaw's recurrence."""
    two_u = 2 * u
    b1 = b2 = 0 * u
    for c in reversed(coefficients[1:]):
        b1, b2 = two_u * b1 - b2 + c, b1
    return u * b1 - b2 + coefficients[0]


# ---- sliding windows: im2col and col2im ----------------------------------------------------------
class Window(NamedTuple):
    """The windows a convolution or pooling slides over the last two dims of (N, C, H, W) input.

    `padding` is ((top, bottom), (left, right)): how far the windows reach beyond the image (the
    bottom and right may be wider than asked, to cover ceil_mode's last window); what they read
    there is the op's choice (0, or -inf for a max). `size` is the input's (H, W) and `out` the
    number of windows down and across.
    """

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    out: tuple[int, int]

    def taps(self) -> Iterator[tuple[int, int, tuple[slice, slice], tuple[slice, slice]]]:
        """(i, j, windows, image) for each kernel tap (i, j) that falls inside the image for some
        window: `windows` slices the (oh, ow) grid of windows whose tap (i, j) does, and `image`
        the (H, W) elements those taps read, in the same order."""
        for i, vertical in enumerate(_reach(self, 0)):
            for j, horizontal in enumerate(_reach(self, 1)):
                if vertical is not None and horizontal is not None:
                    yield i, j, (vertical[0], horizontal[0]), (vertical[1], horizontal[1])


def _reach(window: Window, dim: int) -> list[tuple[slice, slice] | None]:
    """For each kernel offset along `dim`: (the windows whose tap at that offset lands inside the
    image, the image positions it lands on), or None where it lands in padding for all."""
    n, k, s, d, count = (window.size[dim], window.kernel[dim], window.stride[dim], window.dilation[dim],
                         window.out[dim])  # fmt: skip
    before = window.padding[dim][0]
    reach: list[tuple[slice, slice] | None] = []
    for offset in range(k):
        start = offset * d - before  # the image position window 0's tap reads
        first = -(start // s) if start < 0 else 0  # -(-a // b): the first window reading at or after 0
        last = min(count - 1, (n - 1 - start) // s) if n - 1 - start >= 0 else -1
        if first > last:
            reach.append(None)
        else:
            reach.append((slice(first, last + 1), slice(start + first * s, start + last * s + 1, s)))
    return reach


def channels_last(xp: Any, x: Any) -> Any:
    """x (N, C, H, W) as (C, H, W, N), contiguous: free when x is already laid out so (a
    convolution's output, and elementwise results of it, are)."""
    return xp.ascontiguousarray(x.transpose(1, 2, 3, 0))


def im2col(xp: Any, x: Any, window: Window) -> Any:
    """The windows of x (N, C, H, W) as columns (C, kh, kw, oh, ow, N): element [c, i, j, p, q, n]
    is tap (i, j) of window (p, q) over channel c of image n; padding reads as 0.

    The batch is the last (contiguous) axis, so each of the kh·kw copies below moves long runs
    of memory however small the images are, and a matrix product over (c, i, j) needs no
    transposition. Costs one copy per tap (and one to that layout, unless x has it already).
    """
    source = channels_last(xp, x)
    shape = (x.shape[1], *window.kernel, *window.out, x.shape[0])
    pads = any(p for pair in window.padding for p in pair)
    cols = xp.zeros(shape, dtype=x.dtype) if pads else xp.empty(shape, dtype=x.dtype)
    for i, j, (rows, columns), (down, across) in window.taps():
        cols[:, i, j, rows, columns] = source[:, down, across]
    return cols


def col2im(xp: Any, cols: Any, window: Window) -> Any:
    """im2col's adjoint: columns (C, kh, kw, oh, ow, N) summed back into images (N, C, H, W),
    each element receiving what every window that saw it holds for it (padding's share dropped).

    The result is a view with the batch as its contiguous axis, as im2col's input is read."""
    out = xp.zeros((cols.shape[0], *window.size, cols.shape[-1]), dtype=cols.dtype)
    for i, j, (rows, columns), (down, across) in window.taps():
        out[:, down, across] += cols[:, i, j, rows, columns]
    return out.transpose(3, 0, 1, 2)
