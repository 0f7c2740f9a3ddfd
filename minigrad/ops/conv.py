"""Convolutions, built on im2col: the windows of the input laid out as columns, then one matrix product.

:func:`im2col` copies every window of x (N, C, H, W) into columns (C, kh, kw, oh, ow, N), one
strided copy per kernel tap (no loop over pixels); a convolution is then the weight
(O, C·kh·kw) times those columns, one matrix product per call (batched over groups). Its
gradients are matrix products too: for the weight, g times the columns; for the columns,
the weight transposed times g, which :func:`col2im` (im2col's adjoint) sums back into the
image. im2col and col2im are each other's gradient, so the whole chain can be
differentiated again (``create_graph``).

The columns keep the batch as their last, contiguous axis: each tap's copy then moves long
runs of memory even for 2x2 images, and the result of the product is already (O, oh, ow, N),
returned as the (N, O, oh, ow) view of it (elementwise ops keep that memory order, so the
next convolution reads its input without a transposition).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import arraymath
from ..arraymath import Window
from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .operands import as_tensor, same_device
from .registry import guard_functions, register

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]

IntOrPair = int | Sequence[int]


# ---- the windows -------------------------------------------------------------------------------------
def spatial(name: str, what: str, value: Any, dims: int) -> tuple[int, ...]:
    """An int (the same for each of `dims` spatial dims) or one int per dim, as a tuple."""
    values = (value,) * dims if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != dims or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise RuntimeError(
            f"{name}: expected {what} to be a single integer value or a list of {dims} values to match the "
            f"{dims}-D windows, but got {what}={value!r}"
        )
    return tuple(int(v) for v in values)


def window(
    name: str,
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    ceil_mode: bool = False,
) -> Window:
    """The windows over an image of `size`, checked as PyTorch does: positive kernel, stride and
    dilation, no negative padding, and at least one window. With `ceil_mode` a last, partial
    window counts if it starts inside the image or its leading padding (as PyTorch's pooling)."""
    if min(kernel) <= 0:
        raise RuntimeError(f"{name}: kernel size should be greater than zero, but got kernel_size={kernel}")
    if min(stride) <= 0:
        raise RuntimeError(f"{name}: non-positive stride is not supported, got stride={stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{name}: non-positive dilation is not supported, got dilation={dilation}")
    if min(min(p) for p in padding) < 0:
        raise RuntimeError(f"{name}: negative padding is not supported, got padding={padding}")
    out, pads = [], []
    for n, k, s, d, (before, after) in zip(size, kernel, stride, dilation, padding):
        span = n + before + after - d * (k - 1) - 1  # where the last window may start
        count = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (count - 1) * s >= n + before:
            count -= 1
        if span < 0 or count <= 0:
            spans = " x ".join(str(n + b + a) for n, (b, a) in zip(size, padding))
            raise RuntimeError(
                f"{name}: calculated padded input size per channel: ({spans}). Kernel size: "
                f"({' x '.join(str(d * (k - 1) + 1) for k, d in zip(kernel, dilation))}). "
                "Kernel size can't be greater than actual input size"
            )
        pads.append((before, max(after, (count - 1) * s + d * (k - 1) + 1 - n - before)))
        out.append(count)
    pair = lambda v: (v[0], v[1])  # noqa: E731
    return Window(pair(size), pair(kernel), pair(stride), pair(dilation), pair(pads), pair(out))


def _im2col_grad(window: Window) -> Any:
    return lambda ops, g, out, x: ops.col2im(g, window)


def _col2im_grad(window: Window) -> Any:
    return lambda ops, g, out, cols: ops.im2col(g, window)


def im2col(x: Tensor, window: Window) -> Tensor:
    """The windows of x (N, C, H, W) as columns (C, kh, kw, oh, ow, N), zero-padded; the gradient
    sums the columns' gradients back into the image (:func:`col2im`)."""
    xd = x.array
    return record("im2col", arraymath.im2col(array_module(xd), xd, window), (x,), (xd,), (_im2col_grad(window),))


def col2im(cols: Tensor, window: Window) -> Tensor:
    """Columns (C, kh, kw, oh, ow, N) summed back into images (N, C, H, W): each element gets what
    every window holds for it. im2col's adjoint, and its gradient is im2col."""
    cd = cols.array
    return record("col2im", arraymath.col2im(array_module(cd), cd, window), (cols,), (cd,), (_col2im_grad(window),))


# ---- unfold and fold: im2col in PyTorch's layout ----------------------------------------------------
def _fold_window(
    name: str, size: tuple[int, ...], kernel_size: Any, dilation: Any, padding: Any, stride: Any
) -> Window:
    padding = spatial(name, "padding", padding, 2)
    return window(
        name, size, spatial(name, "kernel_size", kernel_size, 2), spatial(name, "stride", stride, 2),
        ((padding[0], padding[0]), (padding[1], padding[1])), spatial(name, "dilation", dilation, 2),
    )  # fmt: skip


def unfold(
    input: TensorLike, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> Tensor:
    """The sliding windows of (N, C, H, W) input as columns (N, C·kh·kw, L), L the number of
    windows, as ``torch.nn.functional.unfold``; (C, H, W) input gives (C·kh·kw, L).

    Gradient: :func:`fold` of g, which sums each window's gradient back where it was read.
    """
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected 3D or 4D (batch mode) input, but got input of size {x.shape}")
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    win = _fold_window("unfold", batched.shape[2:], kernel_size, dilation, padding, stride)
    cols = im2col(batched, win).permute(5, 0, 1, 2, 3, 4)  # (N, C, kh, kw, oh, ow)
    out = cols.reshape(cols.shape[0], -1, win.out[0] * win.out[1])
    return out if x.ndim == 4 else out.squeeze(0)


def fold(
    input: TensorLike,
    output_size: IntOrPair,
    kernel_size: IntOrPair,
    dilation: IntOrPair = 1,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> Tensor:
    """Columns (N, C·kh·kw, L) summed into images (N, C, *output_size), overlapping windows adding
    up, as ``torch.nn.functional.fold`` (unfold's adjoint); (C·kh·kw, L) gives (C, H, W).

    Gradient: :func:`unfold` of g.
    """
    cols = as_tensor(input)
    if cols.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected 2D or 3D (batch mode) input, but got input of size {cols.shape}")
    batched = cols if cols.ndim == 3 else cols.unsqueeze(0)
    size = spatial("fold", "output_size", output_size, 2)
    win = _fold_window("fold", size, kernel_size, dilation, padding, stride)
    kh, kw = win.kernel
    n, rows, blocks = batched.shape
    if rows % (kh * kw):
        raise RuntimeError(
            f"fold: expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={rows} and kernel_size={win.kernel}"
        )
    if blocks != win.out[0] * win.out[1]:
        raise RuntimeError(
            f"fold: given output_size={size}, kernel_size={win.kernel}, dilation={win.dilation}, stride={win.stride} "
            f"and padding, expected size of input's dimension 2 to match the number of sliding blocks "
            f"{win.out[0]} * {win.out[1]} = {win.out[0] * win.out[1]}, but got input.size(2)={blocks}"
        )
    grid = batched.reshape(n, rows // (kh * kw), kh, kw, *win.out).permute(1, 2, 3, 4, 5, 0)
    out = col2im(grid, win)
    return out if cols.ndim == 3 else out.squeeze(0)


# ---- convolution -----------------------------------------------------------------------------------
def _padding(name: str, padding: Any, kernel: tuple[int, ...], dilation: tuple[int, ...], stride: tuple[int, ...]):
    """(before, after) per spatial dim from an int, a tuple, "valid" (none) or "same" (the output
    as large as the input: d·(k-1) in all, the extra one after, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":
            raise RuntimeError(f"{name}: invalid padding string {padding!r}: expected 'valid' or 'same'")
        if max(stride) != 1:
            raise RuntimeError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    return tuple((p, p) for p in spatial(name, "padding", padding, len(kernel)))


def _check_conv(name: str, x: Tensor, w: Tensor, bias: Tensor | None, groups: int, dims: int) -> None:
    """PyTorch's checks on a convolution's operands, with its messages."""
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got input of size: "
            f"{list(x.shape)}"
        )
    if w.ndim != dims + 2:
        raise RuntimeError(
            f"{name}: expected weight to be {dims + 2}-dimensional, but got weight of size {list(w.shape)}"
        )
    same_device(name, (x, w, bias))
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError(f"{name}: non-positive groups is not supported, got groups={groups!r}")
    if w.shape[0] % groups:
        raise RuntimeError(
            f"{name}: given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got "
            f"weight of size {list(w.shape)} instead"
        )
    channels = x.shape[-dims - 1]
    if channels != w.shape[1] * groups:
        raise RuntimeError(
            f"{name}: given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{w.shape[1] * groups} channels, but got {channels} channels instead"
        )
    if bias is not None and bias.shape != (w.shape[0],):
        raise RuntimeError(
            f"{name}: given weight of size {list(w.shape)}, expected bias to be 1-dimensional with {w.shape[0]} "
            f"elements, but got bias of size {list(bias.shape)} instead"
        )
    for other, what in ((w, "weight"), (bias, "bias")):
        if other is not None and other.dtype != x.dtype:
            raise RuntimeError(f"{name}: input type ({x.dtype}) and {what} type ({other.dtype}) should be the same")
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a float input, got dtype {x.dtype}")


_PRODUCT_GRADS = (  # the weight's as (cols gᵀ)ᵀ: the same numbers as g colsᵀ, but BLAS is faster with L inside
    lambda ops, g, out, w, cols, b=None: ops.swapaxes(cols @ ops.swapaxes(g, -1, -2), -1, -2),
    lambda ops, g, out, w, cols, b=None: ops.swapaxes(w, -1, -2) @ g,
    lambda ops, g, out, w, cols, b: g.sum(2, keepdims=True),
)


def weights_times_columns(w: Tensor, cols: Tensor, bias: Tensor | None) -> Tensor:
    """w (G, O/G, K) @ cols (G, K, L) + bias (G, O/G, 1), one op (the bias added in place).
    Gradients: w: g @ colsᵀ; cols: wᵀ @ g; bias: g summed over L."""
    out = w.array @ cols.array
    if bias is None:
        return record("conv", out, (w, cols), (w.array, cols.array), _PRODUCT_GRADS[:2])
    out += bias.array
    return record("conv", out, (w, cols, bias), (w.array, cols.array, bias.array), _PRODUCT_GRADS)


def convolve(x: Tensor, w: Tensor, bias: Tensor | None, win: Window, groups: int) -> Tensor:
    """The convolution of images x (N, C, H, W) with w (O, C/groups, kh, kw) over `win`'s windows:
    im2col, then one matrix product per call (batched over the groups) plus the bias."""
    n, (oh, ow), out_channels = x.shape[0], win.out, w.shape[0]
    cols = im2col(x, win).reshape(groups, -1, oh * ow * n)
    per_group = (groups, out_channels // groups)
    b = None if bias is None else bias.reshape(*per_group, 1)
    out = weights_times_columns(w.reshape(*per_group, -1), cols, b)  # (groups, O/groups, oh·ow·N)
    return out.reshape(out_channels, oh, ow, n).permute(3, 0, 1, 2)


def conv2d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """The 2-D cross-correlation of input (N, C, H, W) (or unbatched (C, H, W)) with weight
    (O, C/groups, kh, kw), plus bias (O,), as ``torch.nn.functional.conv2d``. `padding` is an int,
    a pair, ``"valid"`` (none) or ``"same"`` (output as large as the input; stride 1 only).

    Computed as im2col and one matrix product. Gradients: for the weight, g times the columns;
    for the input, col2im of the weight transposed times g; for the bias, g summed over N, H, W.
    """
    x, w = as_tensor(input), as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    _check_conv("conv2d", x, w, b, groups, 2)
    stride_, dilation_ = spatial("conv2d", "stride", stride, 2), spatial("conv2d", "dilation", dilation, 2)
    kernel = (w.shape[2], w.shape[3])
    pads = _padding("conv2d", padding, kernel, dilation_, stride_)
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    win = window("conv2d", batched.shape[2:], kernel, stride_, pads, dilation_)
    out = convolve(batched, w, b, win, groups)
    return out if x.ndim == 4 else out.squeeze(0)


register(conv2d)


def conv1d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """The 1-D cross-correlation of input (N, C, L) (or (C, L)) with weight (O, C/groups, k), plus
    bias, as ``torch.nn.functional.conv1d``: conv2d over images of height 1 (same gradients)."""
    x, w = as_tensor(input), as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    _check_conv("conv1d", x, w, b, groups, 1)
    (s,), (d,) = spatial("conv1d", "stride", stride, 1), spatial("conv1d", "dilation", dilation, 1)
    (pads,) = _padding("conv1d", padding, (w.shape[2],), (d,), (s,))
    batched = x if x.ndim == 3 else x.unsqueeze(0)
    win = window("conv1d", (1, batched.shape[2]), (1, w.shape[2]), (1, s), ((0, 0), pads), (1, d))
    out = convolve(batched.unsqueeze(2), w.unsqueeze(2), b, win, groups).squeeze(2)
    return out if x.ndim == 3 else out.squeeze(0)


register(conv1d)


def conv_transpose2d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:
    """The transposed convolution of input (N, C, H, W) (or (C, H, W)) with weight
    (C, O/groups, kh, kw), plus bias (O,), as ``torch.nn.functional.conv_transpose2d``: conv2d's
    gradient for its input, so conv2d with the same arguments maps the output's size back to
    H, W. The output is (H - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1 high
    (and likewise wide).

    Computed as one matrix product (the weight transposed times the input) and col2im. Gradients:
    for the input, the weight times im2col(g) (conv2d of g); for the weight, the input times
    im2col(g) transposed; for the bias, g summed over N, H, W.
    """
    x, w = as_tensor(input), as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    _check_transposed(x, w, b, groups)
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    n, channels, h, wd = batched.shape
    kernel = (w.shape[2], w.shape[3])
    win = _transposed_window((h, wd), kernel, stride, padding, output_padding, dilation)
    columns = batched.permute(1, 2, 3, 0).reshape(groups, channels // groups, h * wd * n)
    cols = w.reshape(groups, channels // groups, -1).transpose(1, 2) @ columns  # (groups, O/groups·kh·kw, H·W·N)
    out_channels = w.shape[1] * groups
    out = col2im(cols.reshape(out_channels, *kernel, h, wd, n), win)
    out = out if b is None else out + b.reshape(out_channels, 1, 1)
    return out if x.ndim == 4 else out.squeeze(0)


register(conv_transpose2d)


def _transposed_window(
    size: tuple[int, int], kernel: tuple[int, int], stride: Any, padding: Any, output_padding: Any, dilation: Any
) -> Window:
    """The windows of the convolution whose input gradient a transposed convolution of an image of
    `size` computes: over its output, (size - 1)·stride - 2·padding + dilation·(k - 1) +
    output_padding + 1 high (and wide), with one window per input element. PyTorch's checks."""
    name = "conv_transpose2d"
    steps, pads = spatial(name, "stride", stride, 2), spatial(name, "padding", padding, 2)
    dilations, extra = spatial(name, "dilation", dilation, 2), spatial(name, "output_padding", output_padding, 2)
    if min(steps) <= 0 or min(dilations) <= 0 or min(pads) < 0 or min(extra) < 0:
        raise RuntimeError(
            f"{name}: stride and dilation must be positive, padding and output_padding non-negative, got "
            f"stride={steps}, dilation={dilations}, padding={pads}, output_padding={extra}"
        )
    if any(e >= max(s, d) for e, s, d in zip(extra, steps, dilations)):
        raise RuntimeError(
            f"{name}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={extra}, stride={steps}, dilation={dilations}"
        )
    out = [
        (m - 1) * s - 2 * p + d * (k - 1) + e + 1
        for m, s, p, d, k, e in zip(size, steps, pads, dilations, kernel, extra)
    ]
    if min(out) <= 0:
        raise RuntimeError(
            f"{name}: given input size per channel: ({size[0]} x {size[1]}), calculated output size per channel: "
            f"({out[0]} x {out[1]}). Output size is too small"
        )
    pair = lambda v: (v[0], v[1])  # noqa: E731
    return Window(pair(out), kernel, pair(steps), pair(dilations), ((pads[0], pads[0]), (pads[1], pads[1])), size)


def _check_transposed(x: Tensor, w: Tensor, bias: Tensor | None, groups: int) -> None:
    """PyTorch's checks on a transposed convolution's operands (the weight is (C, O/groups, kh, kw))."""
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: {list(x.shape)}"
        )
    if w.ndim != 4:
        raise RuntimeError(
            f"conv_transpose2d: expected weight to be 4-dimensional, but got weight of size {list(w.shape)}"
        )
    same_device("conv_transpose2d", (x, w, bias))
    if not isinstance(groups, int) or groups <= 0 or w.shape[0] % groups:
        raise RuntimeError(
            f"conv_transpose2d: given groups={groups!r}, expected weight to be divisible by it at dimension 0, but "
            f"got weight of size {list(w.shape)}"
        )
    if x.shape[-3] != w.shape[0]:
        raise RuntimeError(
            f"conv_transpose2d: given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
            f"have {w.shape[0]} channels, but got {x.shape[-3]} channels instead"
        )
    if bias is not None and bias.shape != (w.shape[1] * groups,):
        raise RuntimeError(
            f"conv_transpose2d: given transposed=1, weight of size {list(w.shape)}, expected bias to be "
            f"1-dimensional with {w.shape[1] * groups} elements, but got bias of size {list(bias.shape)} instead"
        )
    for other, what in ((w, "weight"), (bias, "bias")):
        if other is not None and other.dtype != x.dtype:
            raise RuntimeError(
                f"conv_transpose2d: input type ({x.dtype}) and {what} type ({other.dtype}) should be the same"
            )
    if x.dtype.kind != "f":
        raise RuntimeError(f"conv_transpose2d: expected a float input, got dtype {x.dtype}")


guard_functions(globals(), "unfold", "fold")  # not ops: on their tensors' device (registry.py)
