"""Activation functions (``nn.functional.relu``, ``gelu``, ``softmax``, ...), as ``torch.nn.functional``.

Those PyTorch also has as ``torch.<name>`` (relu, sigmoid, tanh, softmax, log_softmax, selu,
celu) are minigrad ops, re-exported here. The others are elementwise primitives with their
own gradient formula (:func:`~minigrad.ops.activation.pointwise`) where a composition would
be slower or lose precision (softplus, logsigmoid, gelu, silu, the hard and leaky ones), and
exact compositions of ops otherwise (mish, softsign, softmin). All differentiate twice
(``create_graph``) and run on any device.
"""

from __future__ import annotations

import math
from typing import Any

from .. import arraymath
from ..ops import relu, sigmoid, tanh
from ..ops.activation import celu, elu_family, floating, log_softmax, pointwise, selu, softmax
from ..ops.registry import guard_functions
from ..tensor import DType, Tensor, TensorLike

__all__ = [
    "relu", "sigmoid", "tanh", "softmax", "log_softmax", "softmin", "selu", "celu", "elu", "leaky_relu",
    "gelu", "silu", "mish", "softplus", "softsign", "relu6", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
]  # fmt: skip

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_GELU = math.sqrt(2 / math.pi), 0.044715  # gelu(x) ≈ x/2 (1 + tanh(k (x + c x³)))


def softmin(input: TensorLike, dim: int = -1, dtype: DType | None = None) -> Tensor:
    """softmax(-x) along `dim`: weights favouring the smallest values."""
    return softmax(-floating(input, dtype), dim)


def elu(input: TensorLike, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return elu_family("elu", input, alpha)


def leaky_relu(input: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return pointwise(
        "leaky_relu",
        input,
        lambda xp, x: xp.where(x > 0, x, x * negative_slope),
        lambda ops, g, out, x: ops.where(x > 0, g, g * negative_slope),
    )


def hardtanh(input: TensorLike, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val]; unlike clamp's, its gradient is 0 at the bounds (as PyTorch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return pointwise(
        "hardtanh",
        input,
        lambda xp, x: xp.clip(x, min_val, max_val),
        lambda ops, g, out, x: ops.where((x > min_val) & (x < max_val), g, 0),
    )


def relu6(input: TensorLike) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: TensorLike) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return pointwise(
        "hardsigmoid",
        input,
        lambda xp, x: xp.clip(x / 6 + 0.5, 0, 1),
        lambda ops, g, out, x: ops.where((x > -3) & (x < 3), g / 6, 0),
    )


def hardswish(input: TensorLike) -> Tensor:
    """x * relu6(x + 3) / 6; gradient 0 up to -3, 1 from 3, x/3 + 1/2 between (as PyTorch)."""
    return pointwise(
        "hardswish",
        input,
        lambda xp, x: x * xp.clip(x / 6 + 0.5, 0, 1),
        lambda ops, g, out, x: ops.where(x <= -3, 0, ops.where(x >= 3, g, g * (x / 3 + 0.5))),
    )


def _softplus(xp: Any, z: Any) -> Any:
    """log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|)."""
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


def softplus(input: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch).

    Gradient: sigmoid(beta * x), computed from the output as 1 - exp(-beta * out).
    """

    def forward(xp: Any, x: Any) -> Any:
        z = x * beta
        return xp.where(z > threshold, x, _softplus(xp, z) / beta)

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        return ops.where(x * beta > threshold, g, -g * ops.expm1(out * -beta))

    return pointwise("softplus", input, forward, grad)


def logsigmoid(input: TensorLike) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable at any x; gradient 1 - sigmoid(x) = -expm1(out)."""
    return pointwise("logsigmoid", input, lambda xp, x: -_softplus(xp, -x), lambda ops, g, out, x: -g * ops.expm1(out))


def silu(input: TensorLike) -> Tensor:
    """x * sigmoid(x) (swish); gradient sigmoid(x) * (1 + x * (1 - sigmoid(x)))."""

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        s = ops.sigmoid(x)
        return g * s * (x * (1 - s) + 1)

    return pointwise("silu", input, lambda xp, x: x * arraymath.sigmoid(xp, x), grad)


def gelu(input: TensorLike, approximate: str = "none") -> Tensor:
    """x * Φ(x), Φ the standard normal's distribution function, by erf; or, with
    ``approximate="tanh"``, x/2 * (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    if approximate == "none":
        return pointwise("gelu", input, _gelu, _gelu_grad)
    if approximate == "tanh":
        return pointwise("gelu", input, _gelu_tanh, _gelu_tanh_grad)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _gelu(xp: Any, x: Any) -> Any:
    return x * (arraymath.erf(xp, x * _SQRT_HALF) + 1) * 0.5


def _gelu_grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
    """Φ(x) + x φ(x), φ the standard normal density."""
    return g * ((ops.erf(x * _SQRT_HALF) + 1) * 0.5 + x * ops.exp(x * x * -0.5) * _INV_SQRT_2PI)


def _gelu_tanh(xp: Any, x: Any) -> Any:
    k, c = _TANH_GELU
    return x * (xp.tanh((x + x * x * x * c) * k) + 1) * 0.5


def _gelu_tanh_grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
    """(1 + t)/2 + x/2 (1 - t²) k (1 + 3c x²), t = tanh(k (x + c x³))."""
    k, c = _TANH_GELU
    t = ops.tanh((x + x * x * x * c) * k)
    return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * k * (x * x * (3 * c) + 1))


def mish(input: TensorLike) -> Tensor:
    """x * tanh(softplus(x)), composed (each part is stable)."""
    x = floating(input)
    return x * tanh(softplus(x, threshold=math.inf))


def softsign(input: TensorLike) -> Tensor:
    """x / (1 + |x|), composed."""
    x = floating(input)
    return x / (abs(x) + 1)


guard_functions(globals())  # computed on their tensors' device (minigrad/ops/registry.py)
