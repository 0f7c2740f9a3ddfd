"""Normalisation layers, as PyTorch's: BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm."""

from __future__ import annotations

from ..creation import ones, zeros
from ..ops.operands import as_tensor
from ..tensor import DType, Tensor, float32, int64, tensor
from . import functional as F
from .layers import _count
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"]


class _BatchNorm(Module):
    """Normalise each channel (dim 1) by the batch's mean and biased variance in training mode, updating
    the running statistics (``running = (1 - momentum) * running + momentum * batch``, the variance
    unbiased; a cumulative average when momentum is None); by the running statistics in eval mode.
    Then scale by ``weight`` (ones) and shift by ``bias`` (zeros) when `affine`.

    Buffers (in ``state_dict``): ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked``, unless not `track_running_stats` (then batch statistics always).
    """

    ndims: tuple[int, ...]  # the input dims it accepts
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        self.num_features = _count("num_features", num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        c = self.num_features
        self.weight = Parameter(ones(c, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(zeros(c, dtype=dtype, device=device)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(c, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(c, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in self.ndims:
            expected = " or ".join(f"{n}D" for n in self.ndims)
            raise ValueError(f"{type(self).__name__}: expected {expected} input (got {x.ndim}D input)")
        momentum = self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # a cumulative moving average
                momentum = 1 / self.num_batches_tracked.item()
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, use_batch_stats,
            0.0 if momentum is None else momentum, self.eps,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), per channel C (see :class:`_BatchNorm`)."""

    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W), per channel C (see :class:`_BatchNorm`)."""

    ndims = (4,)


class LayerNorm(Module):
    """Normalise over the last dims (`normalized_shape`) of each item, then scale by ``weight`` (ones)
    and shift by ``bias`` (zeros) of that shape when `elementwise_affine`. The same in both modes."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(_count("normalized_shape", n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(ones(*shape, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(zeros(*shape, dtype=dtype, device=device)) if affine and bias else None

    def forward(self, x) -> Tensor:
        return F.layer_norm(as_tensor(x), self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Split the channels (dim 1) into `num_groups` groups and normalise each group of each item, then
    scale by ``weight`` (ones) and shift by ``bias`` (zeros), per channel, when `affine`."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        self.num_groups, self.num_channels = _count("num_groups", num_groups), _count("num_channels", num_channels)
        if self.num_groups == 0 or self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = eps, affine
        self.weight = Parameter(ones(num_channels, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device)) if affine else None

    def forward(self, x) -> Tensor:
        return F.group_norm(as_tensor(x), self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
