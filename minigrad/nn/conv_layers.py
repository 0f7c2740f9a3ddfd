"""Convolution and pooling layers, as PyTorch's: Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d and
AdaptiveAvgPool2d (NCHW; the ops are in nn.functional)."""

from __future__ import annotations

from ..ops.operands import as_tensor
from ..random import Generator
from ..tensor import DType, Tensor, float32
from . import functional as F
from .layers import Functional, _count, default_init
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _tuple(name: str, value, n: int) -> tuple[int, ...]:
    """An int, or n ints, as a tuple of n ints (each >= 0)."""
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n:
        raise ValueError(f"{name} must be an int or {n} ints, got {value!r}")
    return tuple(_count(name, v) for v in values)


class _ConvNd(Module):
    """What the convolutions share: channels, kernel, stride, padding, dilation, groups, and PyTorch's
    initialisation (kaiming-uniform weight with a=sqrt(5), bias uniform in +-1/sqrt(fan_in))."""

    dims: int
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        generator: Generator | None = None,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        name, n = type(self).__name__, self.dims
        self.in_channels = _count("in_channels", in_channels)
        self.out_channels = _count("out_channels", out_channels)
        self.groups = _count("groups", groups)
        if self.groups == 0 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: in_channels and out_channels must be divisible by groups, got {groups}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.kernel_size = _tuple("kernel_size", kernel_size, n)
        self.stride = _tuple("stride", stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple("padding", padding, n)
        self.dilation = _tuple("dilation", dilation, n)
        self.padding_mode = padding_mode
        c_in, c_out = (out_channels, in_channels) if self.transposed else (in_channels, out_channels)
        shape = (c_out, c_in // self.groups, *self.kernel_size)
        self.weight, self.bias = default_init(shape, out_channels if bias else None, generator, device, dtype, name)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ("valid", (0,) * self.dims):
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) or (C_in, L): weight (out_channels, in_channels / groups, k)."""

    dims = 1

    def forward(self, x) -> Tensor:
        return F.conv1d(as_tensor(x), self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W): weight (out_channels, in_channels / groups, kh, kw).
    `padding` is an int, a pair, "valid" (none) or "same" (output as large as the input, stride 1)."""

    dims = 2

    def forward(self, x) -> Tensor:
        return F.conv2d(as_tensor(x), self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose (gradient) of a Conv2d: weight (in_channels, out_channels / groups, kh, kw); the output
    is (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1 high (and as wide)."""

    dims = 2
    transposed = True
    padding: tuple[int, ...]  # never "same" or "valid"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", **kwargs):  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, **kwargs)  # fmt: skip
        if isinstance(self.padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        self.output_padding = _tuple("output_padding", output_padding, 2)

    def forward(self, x) -> Tensor:
        return F.conv_transpose2d(
            as_tensor(x), self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
            self.dilation,
        )  # fmt: skip

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", output_padding={self.output_padding}" if any(self.output_padding) else "")


class MaxPool2d(Functional):
    """The maximum of each kernel_size window, moved by `stride` (default: kernel_size), over (N, C, H, W)."""

    function = F.max_pool2d
    options = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):  # fmt: skip
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode


class AvgPool2d(Functional):
    """The mean of each kernel_size window, moved by `stride` (default: kernel_size), over (N, C, H, W)."""

    function = F.avg_pool2d
    options = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):  # fmt: skip
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override


class AdaptiveAvgPool2d(Functional):
    """Means over windows that split (N, C, H, W) into an `output_size` grid (1: global average pooling)."""

    function = F.adaptive_avg_pool2d
    options = ("output_size",)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size
