"""Pooling: the max or the average of each window, and the adaptive forms that tile the input.

max_pool and avg_pool slide their windows as a convolution does (:class:`~minigrad.arraymath.Window`)
and reduce them with one strided pass per kernel tap over the input laid out batch-last (as
im2col reads it), without materialising the columns. Their gradients go back through
:func:`~minigrad.ops.conv.col2im`: the max's to the element that won (the first of equals; in
a window holding NaN, the last NaN, as PyTorch), the average's spread evenly over the window.
Adaptive average pooling is two matrix products (each output the mean of its window of input
elements), adaptive max pooling a gather of the windows (max pooling when the windows tile the
input evenly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import arraymath
from ..arraymath import Window
from ..backend import array_module
from ..tensor import Tensor, TensorLike, make, record
from .conv import IntOrPair, spatial, window
from .operands import as_tensor
from .registry import guard_functions, register
from .resampling import averaging, separable

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d"]


def _images(name: str, input: TensorLike, dims: int) -> Tensor:
    """The input as non-empty float images (N, C, H, W): 1-D signals get height 1, unbatched input a batch of 1."""
    x = as_tensor(input)
    if x.ndim not in (dims + 1, dims + 2) or 0 in x.shape[-dims - 1 :]:
        raise RuntimeError(
            f"{name}: expected non-empty {dims + 1}D or {dims + 2}D (batch mode) input, "
            f"got input of size {list(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a float input, got dtype {x.dtype}")
    x = x if x.ndim == dims + 2 else x.unsqueeze(0)
    return x if dims == 2 else x.unsqueeze(2)


def _restored(out: Tensor, input: TensorLike, dims: int) -> Tensor:
    """Pooled images back in the input's form (undoing :func:`_images`)."""
    out = out if dims == 2 else out.squeeze(2)
    return out if as_tensor(input).ndim == dims + 2 else out.squeeze(0)


def _pool_window(
    name: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, dims: int
) -> tuple[Window, tuple[int, int]]:
    """(the windows, the padding asked for) of a pooling op, with PyTorch's checks: stride defaults
    to the kernel, padding at most half the (dilated) kernel."""
    kernel = spatial(name, "kernel_size", kernel_size, dims)
    steps = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else stride
    strides = spatial(name, "stride", steps, dims)
    pads, dilations = spatial(name, "padding", padding, dims), spatial(name, "dilation", dilation, dims)
    for k, p, d in zip(kernel, pads, dilations):
        if k > 0 and d > 0 and p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"{name}: pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} and "
                f"dilation={d}"
            )
    if dims == 1:
        kernel, strides, pads, dilations = (1, *kernel), (1, *strides), (0, *pads), (1, *dilations)
    win = window(name, x.shape[2:], kernel, strides, tuple((p, p) for p in pads), dilations, ceil_mode)
    return win, (pads[0], pads[1])


# ---- max --------------------------------------------------------------------------------------------
def _max_grad(win: Window, winner: Any) -> Any:
    """g to the winning tap of each window (`winner`: (C, kh·kw, oh, ow, N) one-hot), summed back by col2im."""
    (kh, kw), (oh, ow) = win.kernel, win.out
    c, _, _, _, n = winner.shape

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        per_window = ops.permute(g, (1, 2, 3, 0)).reshape(c, 1, oh, ow, n)
        return ops.col2im((per_window * winner).reshape(c, kh, kw, oh, ow, n), win)

    return grad


def _max_pool(name: str, x: Tensor, win: Window, return_indices: bool) -> Any:
    """The max of each window of x, recorded with its gradient; with the flat index (into H·W)
    of each max when `return_indices`."""
    xd = x.array
    xp = array_module(xd)
    source = arraymath.channels_last(xp, xd)
    best = xp.full((xd.shape[1], *win.out, xd.shape[0]), -np.inf, dtype=xd.dtype)  # padding never wins
    taps = list(win.taps())
    for _, _, (rows, columns), (down, across) in taps:
        region = best[:, rows, columns]
        xp.maximum(region, source[:, down, across], out=region)  # NaN propagates
    (_, kw), k = win.kernel, win.kernel[0] * win.kernel[1]
    # the winner, as PyTorch's: the first tap equal to the max, or in a window holding NaN, the last NaN
    winner = xp.zeros((best.shape[0], k, *best.shape[1:]), dtype=bool)
    unclaimed = xp.ones(best.shape, dtype=bool)
    for order, nan in ((taps, False), (taps[::-1], True)):
        for i, j, (rows, columns), (down, across) in order:
            values = source[:, down, across]
            hit = values != values if nan else values == best[:, rows, columns]
            free = unclaimed[:, rows, columns]
            claimed = winner[:, i * kw + j, rows, columns]
            claimed |= hit & free
            free &= ~hit
    out = record(name, best.transpose(3, 0, 1, 2), (x,), (xd,), (_max_grad(win, winner),))
    if not return_indices:
        return out
    return out, make(_flat_indices(xp, win, winner.argmax(1)).transpose(3, 0, 1, 2))


def _flat_indices(xp: Any, win: Window, tap: Any) -> Any:
    """Where in the unpadded image (row · W + column) each window's winning tap is."""
    (_, w), (_, kw), (sh, sw), (dh, dw), (oh, ow) = win.size, win.kernel, win.stride, win.dilation, win.out
    (top, _), (left, _) = win.padding
    row = xp.arange(oh).reshape(oh, 1, 1) * sh - top + (tap // kw) * dh
    column = xp.arange(ow).reshape(ow, 1) * sw - left + (tap % kw) * dw
    return row * w + column


def max_pool2d(
    input: TensorLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The max of each kernel_size window of (N, C, H, W) (or (C, H, W)) input, as
    ``torch.nn.functional.max_pool2d``: stride defaults to kernel_size, padding (at most half the
    kernel) never wins, `ceil_mode` keeps a last partial window. With `return_indices`,
    ``(values, indices)``, the indices flat into each H·W image.

    Gradient: g to the element that was the max (the first of equal ones), 0 elsewhere.
    """
    return _max_pooled("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


register(max_pool2d)


def max_pool1d(
    input: TensorLike,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """max_pool2d over (N, C, L) (or (C, L)) signals: the max of each window along L."""
    return _max_pooled("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


register(max_pool1d)


def _max_pooled(
    name: str, nd: int, input: TensorLike, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
    ceil_mode: bool, return_indices: bool,
) -> Any:  # fmt: skip
    """max_pool1d / max_pool2d after their argument names: `nd` spatial dims, batched or not."""
    x = _images(name, input, nd)
    win, _ = _pool_window(name, x, kernel_size, stride, padding, dilation, ceil_mode, nd)
    out = _max_pool(name, x, win, return_indices)
    if return_indices:
        return _restored(out[0], input, nd), _restored(out[1], input, nd)
    return _restored(out, input, nd)


# ---- average -------------------------------------------------------------------------------------------
def _window_sizes(xp: Any, n: int, k: int, s: int, pad: int, count: int, include_pad: bool) -> Any:
    """How many elements each of `count` windows along a dim of size n averages, as PyTorch counts:
    the padding asked for included or not, never what ceil_mode's last window reaches beyond it."""
    start = xp.arange(count) * s - pad
    end = xp.minimum(start + k, n + pad)
    return end - start if include_pad else xp.minimum(end, n) - xp.maximum(start, 0)


def _avg_pool(
    name: str, x: Tensor, win: Window, pads: tuple[int, int], count_include_pad: bool, divisor_override: int | None
) -> Tensor:
    """The mean of each window of x, recorded with its gradient (g / divisor spread over the window)."""
    xd = x.array
    xp = array_module(xd)
    source = arraymath.channels_last(xp, xd)
    total = xp.zeros((xd.shape[1], *win.out, xd.shape[0]), dtype=xd.dtype)  # padding adds 0
    for _, _, (rows, columns), (down, across) in win.taps():
        total[:, rows, columns] += source[:, down, across]
    (h, w), (kh, kw), (sh, sw), (oh, ow) = win.size, win.kernel, win.stride, win.out
    if divisor_override is not None:
        divisor = xp.full((oh, ow, 1), divisor_override, dtype=xd.dtype)
    else:
        rows_ = _window_sizes(xp, h, kh, sh, pads[0], oh, count_include_pad)
        columns_ = _window_sizes(xp, w, kw, sw, pads[1], ow, count_include_pad)
        divisor = (rows_.reshape(oh, 1, 1) * columns_.reshape(ow, 1)).astype(xd.dtype)
    c, n = xd.shape[1], xd.shape[0]

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        share = (ops.permute(g, (1, 2, 3, 0)) / divisor).reshape(c, 1, 1, oh, ow, n)
        return ops.col2im(ops.broadcast_to(share, (c, kh, kw, oh, ow, n)), win)

    return record(name, (total / divisor).transpose(3, 0, 1, 2), (x,), (xd,), (grad,))


def avg_pool2d(
    input: TensorLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each kernel_size window of (N, C, H, W) (or (C, H, W)) input, as
    ``torch.nn.functional.avg_pool2d``: stride defaults to kernel_size; the zero padding counts
    in the divisor when `count_include_pad` (as PyTorch, never the part of a ceil_mode window
    beyond it); `divisor_override` divides every window's sum by that number instead.

    Gradient: g / divisor to each element of the window.
    """
    x = _images("avg_pool2d", input, 2)
    win, pads = _pool_window("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode, 2)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero")
    return _restored(_avg_pool("avg_pool2d", x, win, pads, count_include_pad, divisor_override), input, 2)


def avg_pool1d(
    input: TensorLike,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """avg_pool2d over (N, C, L) (or (C, L)) signals: the mean of each window along L."""
    x = _images("avg_pool1d", input, 1)
    win, pads = _pool_window("avg_pool1d", x, kernel_size, stride, padding, 1, ceil_mode, 1)
    return _restored(_avg_pool("avg_pool1d", x, win, pads, count_include_pad, None), input, 1)


register(avg_pool1d)


# ---- adaptive: output_size windows tiling the input ---------------------------------------------------
def _adaptive_size(name: str, x: Tensor, output_size: Any) -> tuple[int, int]:
    """(OH, OW) from an int or a pair, None meaning the input's own size."""
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, int) else output_size
    if len(sizes) != 2:
        raise RuntimeError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if s is None else s for s, n in zip(sizes, x.shape[2:]))
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in out):
        raise RuntimeError(f"{name}: output_size must be non-negative ints, got {output_size!r}")
    return int(out[0]), int(out[1])


def _bounds(xp: Any, n: int, out: int) -> tuple[Any, Any]:
    """Where each of `out` adaptive windows over n elements starts and ends: [⌊o·n/out⌋, ⌈(o+1)·n/out⌉)."""
    o = xp.arange(out)
    return (o * n) // out, -((-(o + 1) * n) // out)


def adaptive_avg_pool2d(input: TensorLike, output_size: int | None | Sequence[int | None]) -> Tensor:
    """The mean of each of output_size windows tiling (N, C, H, W) (or (C, H, W)) input, as
    ``torch.nn.functional.adaptive_avg_pool2d``: window (p, q) spans rows [⌊p·H/OH⌋, ⌈(p+1)·H/OH⌉)
    and likewise columns.

    Computed as two matrix products, with the (OH, H) and (OW, W) averaging matrices (see
    :mod:`.resampling`), whose gradient spreads g / window size over each window; global
    average pooling (output size 1) is the mean over H and W.
    """
    x = _images("adaptive_avg_pool2d", input, 2)
    (_, _, h, w), (oh, ow) = x.shape, _adaptive_size("adaptive_avg_pool2d", x, output_size)
    if oh == ow == 1:
        return _restored(x.mean((2, 3), keepdim=True), input, 2)
    xp = array_module(x.array)
    out = separable(x, averaging(xp, h, oh, x.dtype), averaging(xp, w, ow, x.dtype))
    return _restored(out, input, 2)


def _window_index(xp: Any, n: int, out: int) -> Any:
    """(out, widest window) indices of each adaptive window's elements, short windows repeating
    their last one (a repeat never wins the max: the first of equals does)."""
    start, end = _bounds(xp, n, out)
    widest = int((end - start).max()) if out else 0
    return xp.minimum(start.reshape(-1, 1) + xp.arange(widest), end.reshape(-1, 1) - 1)


def adaptive_max_pool2d(
    input: TensorLike, output_size: int | None | Sequence[int | None], return_indices: bool = False
) -> Any:
    """The max of each of output_size windows tiling (N, C, H, W) (or (C, H, W)) input (the
    windows of :func:`adaptive_avg_pool2d`), as ``torch.nn.functional.adaptive_max_pool2d``;
    with `return_indices`, ``(values, indices)``, flat into each H·W image.

    Gradient: g to the element that was the max. Windows that tile the input evenly are
    :func:`max_pool2d`'s; others are gathered (padded to the widest by repeats) and reduced.
    """
    x = _images("adaptive_max_pool2d", input, 2)
    (n, c, h, w), (oh, ow) = x.shape, _adaptive_size("adaptive_max_pool2d", x, output_size)
    if oh and ow and h % oh == 0 and w % ow == 0:
        win = window("adaptive_max_pool2d", (h, w), (h // oh, w // ow), (h // oh, w // ow), ((0, 0), (0, 0)), (1, 1))
        out = _max_pool("adaptive_max_pool2d", x, win, return_indices)
    else:
        xp = array_module(x.array)
        rows, columns = _window_index(xp, h, oh), _window_index(xp, w, ow)
        kh, kw = rows.shape[1], columns.shape[1]
        windows = x[:, :, rows.reshape(oh, kh, 1, 1), columns.reshape(1, 1, ow, kw)]  # (N, C, OH, kh, OW, kw)
        values, where = windows.permute(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw).max(-1)
        row = rows[xp.arange(oh).reshape(oh, 1), where.array // kw]
        column = columns[xp.arange(ow), where.array % kw]
        out = (values, make(row * w + column)) if return_indices else values
    if return_indices:
        return _restored(out[0], input, 2), _restored(out[1], input, 2)
    return _restored(out, input, 2)


guard_functions(
    globals(), "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"
)  # not ops: on their tensors' device (registry.py)
