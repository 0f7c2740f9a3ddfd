"""Elementwise math functions: rounding, powers and logarithms, trigonometric and hyperbolic
functions, erf, and the functions of two or three operands (atan2, hypot, lerp, ...).

As in :mod:`.elementwise`, each op is its forward next to one gradient formula per input.
Integer and bool inputs compute in float32, the default float, except where the result is
an integer too (rounding, sign, square), as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import arraymath
from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .elementwise import Binary, Unary, _module, binary, operands_error, unary, zero_grad
from .operands import as_tensor, floated, operand
from .registry import register

__all__ = [
    "floor", "ceil", "trunc", "round", "frac", "reciprocal", "rsqrt", "square",
    "log2", "log10", "log1p", "exp2", "expm1", "erf",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "atan2", "hypot", "copysign", "logaddexp", "lerp",
]  # fmt: skip

_LN2, _LN10 = math.log(2), math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


# ---- rounding: steps, so the gradient is zero (frac's is 1) ------------------------------------
def _rounding(name: str) -> Callable[[Any, Any], Any]:
    """The forward of a rounding function: floats are rounded; integers and bools already are (copied)."""
    return lambda xp, x: getattr(xp, name)(x) if x.dtype.kind == "f" else x.copy()


floor: Unary = unary("floor", _rounding("floor"), zero_grad, floating=False)
ceil: Unary = unary("ceil", _rounding("ceil"), zero_grad, floating=False)
trunc: Unary = unary("trunc", _rounding("trunc"), zero_grad, floating=False)
frac: Unary = unary("frac", lambda xp, x: x - xp.trunc(x), lambda ops, g, out, x: g)


def round(x: TensorLike, decimals: int = 0) -> Tensor:
    """x rounded to `decimals` decimal places (negative: to tens, hundreds, ...), halves to even
    as PyTorch and numpy do; integers stay integers. The gradient is zero."""
    x = as_tensor(x)
    xd = x.array
    return record("round", array_module(xd).round(xd, decimals), (x,), (xd,), (zero_grad,))


register(round, "round")


# ---- powers, logarithms, erf ---------------------------------------------------------------------
reciprocal: Unary = unary("reciprocal", lambda xp, x: 1 / x, lambda ops, g, out, x: -g * out * out)
rsqrt: Unary = unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda ops, g, out, x: g * out * out * out * -0.5)
square: Unary = unary("square", lambda xp, x: x * x, lambda ops, g, out, x: g * x * 2, floating=False)
log2: Unary = unary("log2", lambda xp, x: xp.log2(x), lambda ops, g, out, x: g / (x * _LN2))
log10: Unary = unary("log10", lambda xp, x: xp.log10(x), lambda ops, g, out, x: g / (x * _LN10))
log1p: Unary = unary("log1p", lambda xp, x: xp.log1p(x), lambda ops, g, out, x: g / (x + 1))
exp2: Unary = unary("exp2", lambda xp, x: xp.exp2(x), lambda ops, g, out, x: g * out * _LN2)
expm1: Unary = unary("expm1", lambda xp, x: xp.expm1(x), lambda ops, g, out, x: g * (out + 1))
erf: Unary = unary("erf", arraymath.erf, lambda ops, g, out, x: g * ops.exp(-x * x) * _TWO_OVER_SQRT_PI)

# ---- trigonometric and hyperbolic ----------------------------------------------------------------
sin: Unary = unary("sin", lambda xp, x: xp.sin(x), lambda ops, g, out, x: g * ops.cos(x))
cos: Unary = unary("cos", lambda xp, x: xp.cos(x), lambda ops, g, out, x: -g * ops.sin(x))
tan: Unary = unary("tan", lambda xp, x: xp.tan(x), lambda ops, g, out, x: g * (out * out + 1))
asin: Unary = unary("asin", lambda xp, x: xp.arcsin(x), lambda ops, g, out, x: g / ops.sqrt(1 - x * x))
acos: Unary = unary("acos", lambda xp, x: xp.arccos(x), lambda ops, g, out, x: -g / ops.sqrt(1 - x * x))
atan: Unary = unary("atan", lambda xp, x: xp.arctan(x), lambda ops, g, out, x: g / (x * x + 1))
sinh: Unary = unary("sinh", lambda xp, x: xp.sinh(x), lambda ops, g, out, x: g * ops.cosh(x))
cosh: Unary = unary("cosh", lambda xp, x: xp.cosh(x), lambda ops, g, out, x: g * ops.sinh(x))
asinh: Unary = unary("asinh", lambda xp, x: xp.arcsinh(x), lambda ops, g, out, x: g / ops.sqrt(x * x + 1))
acosh: Unary = unary("acosh", lambda xp, x: xp.arccosh(x), lambda ops, g, out, x: g / ops.sqrt(x * x - 1))
atanh: Unary = unary("atanh", lambda xp, x: xp.arctanh(x), lambda ops, g, out, x: g / (1 - x * x))


# ---- two and three operands ----------------------------------------------------------------------
def _in_float(forward: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`forward` with integer and bool arrays converted to float32 first (Python numbers stay weak)."""

    def run(a: Any, b: Any) -> Any:
        return forward(floated(a) if hasattr(a, "dtype") else a, floated(b) if hasattr(b, "dtype") else b)

    return run


def _atan2_scale(ops: Any, g: Any, a: Any, b: Any) -> Any:
    """g / (a² + b²), and 0 where a = b = 0 (where atan2 jumps; PyTorch's choice)."""
    r = a * a + b * b
    return ops.where(r == 0, 0, g / ops.where(r == 0, 1, r))


atan2: Binary = binary(
    "atan2",
    _in_float(lambda a, b: _module(a, b).arctan2(a, b)),
    lambda ops, g, out, a, b: _atan2_scale(ops, g, a, b) * b,
    lambda ops, g, out, a, b: _atan2_scale(ops, g, a, b) * -a,
)
hypot: Binary = binary(
    "hypot",
    _in_float(lambda a, b: _module(a, b).hypot(a, b)),
    lambda ops, g, out, a, b: g * a / out,
    lambda ops, g, out, a, b: g * b / out,
)
copysign: Binary = binary(
    "copysign",
    _in_float(lambda a, b: _module(a, b).copysign(a, b)),
    lambda ops, g, out, a, b: g * ops.sign(a) * ops.sign(out),  # ±g, and 0 where a = 0 (as PyTorch)
    zero_grad,
)
logaddexp: Binary = binary(
    "logaddexp",
    _in_float(lambda a, b: _module(a, b).logaddexp(a, b)),
    lambda ops, g, out, a, b: g * ops.exp(a - out),
    lambda ops, g, out, a, b: g * ops.exp(b - out),
)


def lerp(input: TensorLike, end: TensorLike, weight: TensorLike) -> Tensor:
    """input + weight * (end - input), broadcasting; exactly `end` at weight 1 (as PyTorch, which
    computes end - (end - input) * (1 - weight) for weights of 0.5 and more)."""
    input, end = as_tensor(input), as_tensor(end)
    weight, wd = operand(weight)
    sd, ed = floated(input.array), floated(end.array)
    try:
        array = _lerp(sd, ed, wd)
    except (ValueError, TypeError) as e:
        raise operands_error("lerp", e, input, end, weight) from None
    return record("lerp", array, (input, end, weight), (sd, ed, wd), _lerp_grads)


def _lerp(s: Any, e: Any, w: Any) -> Any:
    d = e - s
    if hasattr(w, "shape"):
        return array_module(d).where(abs(w) < 0.5, s + w * d, e - d * (1 - w))
    return s + w * d if abs(w) < 0.5 else e - d * (1 - w)


register(lerp, "lerp")


_lerp_grads = (
    lambda ops, g, out, s, e, w: g * (1 - w),
    lambda ops, g, out, s, e, w: g * w,
    lambda ops, g, out, s, e, w: g * (e - s),
)
