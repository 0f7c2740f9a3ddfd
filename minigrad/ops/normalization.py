"""Normalisation: batch_norm, layer_norm and group_norm, and dropout.

The three norms share one op, :func:`normalize`: x minus its mean over the normalised axes,
divided by √(var + eps) (the biased variance), then (for batch_norm, fused) times a weight and
plus a bias that are constant along those axes. With c = x - mean, σ⁻¹ = 1/√(var + eps),
k = σ⁻¹·weight and means taken over the normalised axes, its gradients are

    dx = k·g - k·mean(g) - c·k·σ⁻²·mean(g·c),   dweight = σ⁻¹·Σ g·c,   dbias = Σ g

computed once per backward for the three formulas: two sums (Σ g, Σ g·c) and one combination
of g and c. They recompute c and σ from x, so that under ``create_graph`` they are
differentiated again.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

from ..backend import array_module
from ..random import Generator, rand
from ..tensor import Tensor, TensorLike, record
from .activation import floating
from .operands import as_tensor, same_device
from .registry import register

__all__ = ["batch_norm", "layer_norm", "group_norm", "dropout"]


def _reduced_sum(ndim: int, axes: tuple[int, ...]) -> str:
    """The einsum equation of Σ a·b over `axes`, keeping the other dims (as size-1 later)."""
    letters = string.ascii_lowercase[:ndim]
    return f"{letters},{letters}->{''.join(c for i, c in enumerate(letters) if i not in axes)}"


class _NormalizeGrads:
    """The gradients of :func:`normalize` for x, weight and bias: computed once per incoming g and
    shared by the three formulas."""

    def __init__(self, axes: tuple[int, ...], eps: float, shape: tuple[int, ...]):
        self.axes, self.eps = axes, eps
        self.equation = _reduced_sum(len(shape), axes)
        self.kept = tuple(1 if i in axes else n for i, n in enumerate(shape))  # the statistics' shape
        self.count = math.prod(shape[i] for i in axes)  # elements per statistic
        self.g: Any = None

    def terms(self, ops: Any, g: Any, x: Any, w: Any = None) -> tuple[Any, Any, Any]:
        """(dx, dweight, dbias) for g."""
        if self.g is not g:
            n = self.count
            c = x - x.mean(self.axes, keepdims=True)
            inv_std = 1 / ops.sqrt(ops.einsum(self.equation, c, c).reshape(self.kept) / n + self.eps)
            sum_g = g.sum(self.axes, keepdims=True)
            sum_gc = ops.einsum(self.equation, g, c).reshape(self.kept)
            k = inv_std if w is None else inv_std * w
            dx = g * k - (c * (k * inv_std * inv_std * sum_gc / n) + k * sum_g / n)
            self.g, self.result = g, (dx, inv_std * sum_gc, sum_g)
        return self.result


def normalize(
    name: str, x: Tensor, axes: tuple[int, ...], eps: float, affine: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Any, Any]:
    """((x - mean) / √(var + eps) over `axes`, times weight plus bias when `affine` = (weight, bias)
    is given (each of the statistics' shape, size 1 along `axes`), recorded; and the mean and the
    biased variance, as arrays of that shape)."""
    xd = x.array
    xp = array_module(xd)
    grads = _NormalizeGrads(axes, eps, xd.shape)
    mean = xd.mean(axes, keepdims=True)
    out = xd - mean
    var = xp.einsum(grads.equation, out, out).reshape(mean.shape) / max(grads.count, 1)
    scale = 1 / xp.sqrt(var + eps)
    if affine is None:
        out *= scale
        return record(name, out, (x,), (xd,), (lambda ops, g, out, x: grads.terms(ops, g, x)[0],)), mean, var
    weight, bias = affine
    out *= scale * weight.array
    out += bias.array
    formulas = tuple(lambda ops, g, out, x, w, b, i=i: grads.terms(ops, g, x, w)[i] for i in range(3))
    return record(name, out, (x, weight, bias), (xd, weight.array, bias.array), formulas), mean, var


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...]) -> Tensor:
    """out * weight + bias, each (if given) reshaped to `shape` to broadcast."""
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _per_channel(name: str, what: str, t: TensorLike | None, channels: int) -> Tensor | None:
    """An optional per-channel tensor (weight, bias, running stats), checked to hold one value per channel."""
    if t is None:
        return None
    t = as_tensor(t)
    if t.numel() != channels:
        raise RuntimeError(f"{name}: {what} should contain {channels} elements not {t.numel()}")
    return t


# ---- batch norm ---------------------------------------------------------------------------------------------------
def batch_norm(
    input: TensorLike,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Each channel (dim 1) of (N, C, ...) input normalised, then scaled by weight and shifted by
    bias, as ``torch.nn.functional.batch_norm``.

    Training: by the batch's mean and biased variance over every dim but 1; the running
    statistics (if given) are updated in place, ``running = (1 - momentum) · running + momentum ·
    batch``, with the batch's *unbiased* variance as PyTorch. Evaluation: by the running
    statistics, (x - running_mean) / √(running_var + eps).
    """
    x = floating(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of at least 2 dims (N, C, ...), got size {list(x.shape)}")
    channels = x.shape[1]
    w, b = _per_channel("batch_norm", "weight", weight, channels), _per_channel("batch_norm", "bias", bias, channels)
    mean_t = _per_channel("batch_norm", "running_mean", running_mean, channels)
    var_t = _per_channel("batch_norm", "running_var", running_var, channels)
    same_device("batch_norm", (x, w, b, mean_t, var_t))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if not training:
        if mean_t is None or var_t is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        scale = 1 / (var_t.astype(x.dtype) + eps).sqrt()  # per channel: two passes over x in all
        scale = scale if w is None else w * scale
        shift = -mean_t.astype(x.dtype) * scale
        return x * scale.reshape(shape) + (shift if b is None else shift + b).reshape(shape)
    count = x.numel() // max(channels, 1)
    if count <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape)}")
    affine = None if w is None or b is None else (w.reshape(shape), b.reshape(shape))
    out, mean, var = normalize("batch_norm", x, (0, *range(2, x.ndim)), eps, affine)
    if mean_t is not None:  # in place, never recorded: neither side requires grad
        mean_t.mul_(1 - momentum).add_(Tensor(mean.reshape(mean_t.shape).astype(mean_t.dtype)), alpha=momentum)
    if var_t is not None:
        unbiased = var.reshape(var_t.shape) * (count / (count - 1))
        var_t.mul_(1 - momentum).add_(Tensor(unbiased.astype(var_t.dtype)), alpha=momentum)
    return out if affine else _affine(out, w, b, shape)


register(batch_norm)


# ---- layer norm and group norm -----------------------------------------------------------------------------------
def layer_norm(
    input: TensorLike,
    normalized_shape: int | Sequence[int],
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """x normalised over its last dims, those of `normalized_shape`, by their mean and biased
    variance, then times weight and plus bias (each of `normalized_shape`), as
    ``torch.nn.functional.layer_norm``."""
    x = floating(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise RuntimeError(
            f"layer_norm: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(x.shape)}"
        )
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and as_tensor(t).shape != shape:
            raise RuntimeError(f"layer_norm: expected {what} of shape {list(shape)}, got {list(as_tensor(t).shape)}")
    w, b = (None if t is None else as_tensor(t) for t in (weight, bias))
    same_device("layer_norm", (x, w, b))
    out, _, _ = normalize("layer_norm", x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    return _affine(out, w, b, shape)


register(layer_norm)


def group_norm(
    input: TensorLike,
    num_groups: int,
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """The channels (dim 1) of (N, C, ...) input split into `num_groups` groups, each group of each
    sample normalised by its mean and biased variance, then per-channel weight and bias, as
    ``torch.nn.functional.group_norm``."""
    x = floating(input)
    if x.ndim < 2 or num_groups <= 0 or x.shape[1] % num_groups:
        raise RuntimeError(
            "group_norm: expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {list(x.shape)} and num_groups={num_groups}"
        )
    channels = x.shape[1]
    w, b = _per_channel("group_norm", "weight", weight, channels), _per_channel("group_norm", "bias", bias, channels)
    same_device("group_norm", (x, w, b))
    grouped = x.reshape(x.shape[0], num_groups, -1)
    out, _, _ = normalize("group_norm", grouped, (2,), eps)
    return _affine(out.reshape(x.shape), w, b, (1, channels) + (1,) * (x.ndim - 2))


register(group_norm)


# ---- dropout ---------------------------------------------------------------------------------------------------------
def dropout(
    input: TensorLike,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """In training, each element zeroed with probability p and the others scaled by 1 / (1 - p), so
    the expected value is unchanged, as ``torch.nn.functional.dropout``; otherwise x itself. The
    zeros are drawn from `generator` (the default one, seeded by ``manual_seed``, when None).

    Gradient: g times the same mask and scale.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = floating(input)
    if not training or p == 0:
        return x
    keep = rand(x.shape, generator=generator, dtype=x.dtype, device=x.device).array >= p
    scale = keep * x.dtype.type(1 / (1 - p) if p < 1 else 0)
    if inplace:
        return x.mul_(Tensor(scale))
    return record("dropout", x.array * scale, (x,), (x.array,), (lambda ops, g, out, x: g * scale,))


register(dropout)
