"""Pooling layers, as PyTorch's: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (the ops are in nn.functional)."""

from __future__ import annotations

from . import functional as F
from .layers import Functional

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


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
