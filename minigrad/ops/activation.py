"""The activations PyTorch also has as ``torch.<name>`` (softmax, log_softmax, selu, celu), and the
helpers the other activations (:mod:`minigrad.nn.activations`) are built with.

relu, sigmoid and tanh are plain elementwise ops (:mod:`.elementwise`). Each op here is its
forward next to its gradient formula, computed stably: softmax from x - max(x), the ELU
family with expm1 on the negative side only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import DType, Tensor, TensorLike, float32, record
from .operands import as_tensor, normalize_axis
from .registry import register

__all__ = ["softmax", "log_softmax", "selu", "celu"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def floating(x: TensorLike, dtype: DType | None = None) -> Tensor:
    """x as a tensor of `dtype` if given, else of its own float dtype (integers and bools: float32)."""
    x = as_tensor(x)
    if dtype is not None:
        return x.astype(dtype)
    return x if x.dtype.kind == "f" else x.astype(float32)


def pointwise(name: str, x: TensorLike, forward: Callable[[Any, Any], Any], grad: Callable[..., Any]) -> Tensor:
    """The elementwise function `forward(xp, array)` of x (in its float dtype), recorded with
    its gradient formula ``grad(ops, g, out, x)``: how the activations with parameters are made."""
    x = floating(x)
    xd = x.array
    return record(name, forward(array_module(xd), xd), (x,), (xd,), (grad,))


# ---- softmax ----------------------------------------------------------------------------------------
def _class_axis(x: Tensor, dim: int) -> tuple[int, ...]:
    """`dim` as an axis tuple; a 0-d tensor's dim 0 (or -1) is the tensor itself, as in PyTorch."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    axis = normalize_axis(dim, x.ndim, allow_none=False)
    return axis if x.ndim else ()  # type: ignore[return-value]


def _shifted(xd: Any, axis: tuple[int, ...]) -> Any:
    """x - max(x) along `axis`: exp of it can't overflow, and softmax doesn't change."""
    return xd - xd.max(axis, keepdims=True) if xd.size else xd


def softmax(input: TensorLike, dim: int = -1, dtype: DType | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, computed from x - max(x) so it never overflows.
    `dtype` casts the input first; integer inputs compute in float32."""
    x = floating(input, dtype)
    axis = _class_axis(x, dim)
    e = array_module(x.array).exp(_shifted(x.array, axis))
    e /= e.sum(axis, keepdims=True)
    grad = (lambda ops, g, out, x: out * (g - (g * out).sum(axis, keepdims=True)),)
    return record("softmax", e, (x,), (x.array,), grad)


register(softmax, "softmax")


def log_softmax(input: TensorLike, dim: int = -1, dtype: DType | None = None) -> Tensor:
    """log(softmax(x)) along `dim`, as z - log(sum(exp(z))) with z = x - max(x): no overflow, and
    no log of 0 for the winning class, at any input size."""
    x = floating(input, dtype)
    axis = _class_axis(x, dim)
    xp = array_module(x.array)
    z = _shifted(x.array, axis)
    out = z - xp.log(xp.exp(z).sum(axis, keepdims=True)) if z.size else z.copy()
    grad = (lambda ops, g, out, x: g - ops.exp(out) * g.sum(axis, keepdims=True),)
    return record("log_softmax", out, (x,), (x.array,), grad)


register(log_softmax, "log_softmax")


# ---- the ELU family -----------------------------------------------------------------------------------
def elu_family(name: str, x: TensorLike, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    """scale * (x where x > 0, else alpha * (exp(input_scale * x) - 1)): ELU, SELU and CELU.

    The gradient is scale where x > 0, else scale * alpha * input_scale * exp(input_scale * x).
    """

    def forward(xp: Any, x: Any) -> Any:
        out = xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0) * input_scale) * alpha)
        return out * scale if scale != 1 else out

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        negative = ops.exp(ops.where(x > 0, 0, x) * input_scale) * (scale * alpha * input_scale)
        return g * ops.where(x > 0, scale, negative)

    return pointwise(name, x, forward, grad)


def selu(input: TensorLike) -> Tensor:
    """Scaled ELU: 1.0507 * elu(x, alpha=1.6733), the constants that keep activations normalized."""
    return elu_family("selu", input, _SELU_ALPHA, _SELU_SCALE)


register(selu)


def celu(input: TensorLike, alpha: float = 1.0) -> Tensor:
    """Continuously differentiable ELU: x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0 or not math.isfinite(alpha):
        raise ValueError(f"celu: alpha must be a non-zero finite number, got {alpha}")
    return elu_family("celu", input, alpha, input_scale=1 / alpha)


register(celu)
