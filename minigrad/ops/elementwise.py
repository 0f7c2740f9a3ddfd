"""Elementwise ops and their gradients, broadcasting by numpy's rules.

Each op is one line of forward math next to one gradient formula per input, read as
``d(out)/d(input) * g``. A formula receives ``(ops, g, out, *inputs)``: `ops` is the array
math to compute with (see :class:`minigrad.backend.ArrayMath`), g the gradient arriving at
the output. A gradient of broadcast shape is summed back to its input's shape by the
engine, so formulas never think about broadcasting.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, TypeAlias, overload

import numpy as np

from .. import arraymath
from ..backend import array_module
from ..tensor import Tensor, TensorLike, float32, float64, grad_mode, make, record, tensor
from .operands import as_tensor, device_error, operands, promoted
from .registry import register, register_made

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp", "sign", "where",
    "lt", "le", "gt", "ge", "eq", "ne", "floor_divide", "remainder",
]  # fmt: skip

Unary: TypeAlias = Callable[[TensorLike], Tensor]
Binary: TypeAlias = Callable[[TensorLike, TensorLike], Tensor]


def binary(
    name: str, forward: Callable, grad_a: Callable, grad_b: Callable, *, methods: tuple[str, ...] = (), reflected=()
) -> Binary:
    """An op of two operands (tensors or numbers) from its forward and its two gradients.

    It is registered as ``minigrad.<name>``, ``Tensor.<name>`` and the operators `methods`.
    """

    def op(a: TensorLike, b: TensorLike) -> Tensor:
        if a.__class__ is Tensor and b.__class__ is Tensor:  # the fast path
            ad, bd = a.array, b.array  # type: ignore[union-attr]
            if ad.dtype is not bd.dtype:
                ad, bd = promoted(ad, bd)
        else:
            a, b, ad, bd = operands(a, b)
        try:
            array = forward(ad, bd)
        except (ValueError, TypeError) as e:
            raise operands_error(name, e, a, b) from None
        if grad_mode.all_on or grad_mode.here.enabled:
            da = a.__class__ is Tensor and a._requires_grad  # type: ignore[union-attr]
            db = b.__class__ is Tensor and b._requires_grad  # type: ignore[union-attr]
            if da or db:
                edges = ((grad_a, a), (grad_b, b)) if da and db else ((grad_a, a),) if da else ((grad_b, b),)
                return make(array, (name, edges, (a, b), (ad, bd)))
        return make(array)

    register_made(
        op, name, f"Elementwise {name} of two tensors or numbers, broadcasting.", *methods, reflected=reflected
    )
    return op


def unary(name: str, forward: Callable, grad: Callable, *, floating: bool = True, methods=()) -> Unary:
    """An op of one tensor from its forward ``forward(xp, x)`` and its gradient.

    A `floating` op computes integer and bool inputs in float32.
    """

    def op(x: TensorLike) -> Tensor:
        if x.__class__ is not Tensor:
            x = tensor(x)
        xd = x.array  # type: ignore[union-attr]
        if floating and xd.dtype.kind != "f":
            xd = xd.astype(float32)
        array = forward(array_module(xd), xd)
        if x._requires_grad and (grad_mode.all_on or grad_mode.here.enabled):  # type: ignore[union-attr]
            return make(array, (name, ((grad, x),), (x,), (xd,)))
        return make(array)

    register_made(op, name, f"Elementwise {name}.", *methods)
    return op


def operands_error(name: str, error: Exception, *operands: Any) -> Exception:
    """The error for operands the backend refused: different devices, or shapes that really don't
    broadcast; any other reason is the backend's own `error`."""
    mismatch = device_error(name, operands)
    if mismatch is not None:
        return mismatch
    shapes = [tuple(getattr(t, "shape", ())) for t in operands]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return ValueError(f"{name}: shapes {' and '.join(map(str, shapes))} can't be broadcast together")
    return error


def _module(ad: Any, bd: Any) -> Any:
    return array_module(ad if hasattr(ad, "shape") else bd)


def _log(ops: Any, a: Any) -> Any:
    """ln a of an array (or tensor) or a number; for a number, -inf at 0 and nan below, as for arrays."""
    if hasattr(a, "shape"):
        return ops.log(a)
    return math.log(a) if a > 0 else -math.inf if a == 0 else math.nan


def _share(ops: Any, g: Any, wins: Any, ties: Any) -> Any:
    """g where `wins`, half of g at ties (as between equal maxima), 0 elsewhere."""
    return ops.where(wins, g, ops.where(ties, g * 0.5, 0))


def _true_divide(a: Any, b: Any) -> Any:
    """a / b; integers divide into float32, the default float, as in PyTorch."""
    out = a / b
    if out.dtype == float64 and not (_is_float64(a) or _is_float64(b)):
        return out.astype(float32)
    return out


def _is_float64(x: Any) -> bool:
    return hasattr(x, "dtype") and x.dtype == float64


def zero_grad(ops: Any, g: Any, out: Any, *inputs: Any) -> Any:
    """The gradient of a step function (sign, floor, ...): zero, as in PyTorch, whatever g holds."""
    return ops.zeros_like(g)


# ---- arithmetic ---------------------------------------------------------------------
add: Binary = binary(
    "add",
    operator.add,
    lambda ops, g, out, a, b: g,
    lambda ops, g, out, a, b: g,
    methods=("__add__",),
    reflected=("__radd__",),
)
sub: Binary = binary(
    "sub",
    operator.sub,
    lambda ops, g, out, a, b: g,
    lambda ops, g, out, a, b: -g,
    methods=("__sub__",),
    reflected=("__rsub__",),
)
mul: Binary = binary(
    "mul",
    operator.mul,
    lambda ops, g, out, a, b: g * b,
    lambda ops, g, out, a, b: g * a,
    methods=("__mul__",),
    reflected=("__rmul__",),
)
div: Binary = binary(
    "div",
    _true_divide,
    lambda ops, g, out, a, b: g / b,
    lambda ops, g, out, a, b: -g * out / b,
    methods=("__truediv__",),
    reflected=("__rtruediv__",),
)


def _pow_base_grad(ops: Any, g: Any, out: Any, a: Any, b: Any) -> Any:
    """g * b * a^(b-1), and 0 where b == 0: a^0 is constant, even at a = 0 (0 * inf there; as PyTorch)."""
    if not hasattr(b, "shape"):  # a number
        return g * b * a ** (b - 1) if b != 0 else ops.zeros_like(g)
    return ops.where((b == 0) & (a == 0), 0, g * b * a ** (b - 1))


def _pow_exponent_grad(ops: Any, g: Any, out: Any, a: Any, b: Any) -> Any:
    """g * out * ln a, and 0 where a == 0 and b >= 0, where 0^b is constant (as in PyTorch).

    A negative base gives nan, a zero base -inf for b < 0, as PyTorch does."""
    grad = g * out * _log(ops, a)
    if hasattr(a, "shape"):
        return ops.where((a == 0) & (b >= 0), 0, grad)
    return ops.where(b >= 0, 0, grad) if a == 0 else grad


pow: Binary = binary(
    "pow", operator.pow, _pow_base_grad, _pow_exponent_grad, methods=("__pow__",), reflected=("__rpow__",)
)


def _floor_divide(a: Any, b: Any) -> Any:
    """floor(a / b), rounding toward -inf as PyTorch and numpy do."""
    _check_divisor("floor_divide", a, b)
    return a // b


def _remainder(a: Any, b: Any) -> Any:
    """a - b * floor(a / b): it has the sign of b, as Python's % and PyTorch's remainder."""
    _check_divisor("remainder", a, b)
    return a % b


def _check_divisor(name: str, a: Any, b: Any) -> None:
    """Integers divided by zero are an error, as in PyTorch (numpy gives 0 with a warning)."""
    if _integer(a) and _integer(b) and (bool((b == 0).any()) if hasattr(b, "shape") else b == 0):
        raise ZeroDivisionError(f"{name}: integer division by zero")


def _integer(x: Any) -> bool:
    return x.dtype.kind in "biu" if hasattr(x, "dtype") else isinstance(x, int)


floor_divide: Binary = binary(
    "floor_divide", _floor_divide, zero_grad, zero_grad, methods=("__floordiv__",), reflected=("__rfloordiv__",)
)
remainder: Binary = binary(
    "remainder",
    _remainder,
    lambda ops, g, out, a, b: g,
    lambda ops, g, out, a, b: -g * ops.floor(a / b),
    methods=("__mod__",),
    reflected=("__rmod__",),
)
maximum: Binary = binary(
    "maximum",
    lambda a, b: _module(a, b).maximum(a, b),
    lambda ops, g, out, a, b: _share(ops, g, a > b, a == b),
    lambda ops, g, out, a, b: _share(ops, g, b > a, a == b),
)
minimum: Binary = binary(
    "minimum",
    lambda a, b: _module(a, b).minimum(a, b),
    lambda ops, g, out, a, b: _share(ops, g, a < b, a == b),
    lambda ops, g, out, a, b: _share(ops, g, b < a, a == b),
)
neg: Unary = unary("neg", lambda xp, x: -x, lambda ops, g, out, x: -g, floating=False, methods=("__neg__",))

# ---- functions ----------------------------------------------------------------------
exp: Unary = unary("exp", lambda xp, x: xp.exp(x), lambda ops, g, out, x: g * out)
log: Unary = unary("log", lambda xp, x: xp.log(x), lambda ops, g, out, x: g / x)
sqrt: Unary = unary("sqrt", lambda xp, x: xp.sqrt(x), lambda ops, g, out, x: g / (out + out))
abs: Unary = unary(
    "abs", lambda xp, x: xp.abs(x), lambda ops, g, out, x: g * ops.sign(x), floating=False, methods=("__abs__",)
)
tanh: Unary = unary("tanh", lambda xp, x: xp.tanh(x), lambda ops, g, out, x: g * (1 - out * out))


def _sigmoid_grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
    """g * out * (1 - out), multiplied into the fresh (out - out²) (a tensor just rebinds)."""
    slope = out - out * out
    slope *= g
    return slope


sigmoid: Unary = unary("sigmoid", arraymath.sigmoid, _sigmoid_grad)


def _relu_grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
    """g where x > 0, else 0: g * sign(out), multiplied into the fresh mask (a tensor just rebinds)."""
    mask = ops.sign(out)
    mask *= g
    return mask


relu: Unary = unary("relu", lambda xp, x: xp.maximum(x, 0), _relu_grad, floating=False)


def clamp(x: TensorLike, min: float | None = None, max: float | None = None) -> Tensor:
    """x limited to [min, max] (either may be None); the gradient flows where x was kept."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    x = as_tensor(x)
    xd = x.array
    return record("clamp", array_module(xd).clip(xd, min, max), (x,), (xd,), _clamp_grads)


register(clamp, "clamp", "clip")


_clamp_grads = (lambda ops, g, out, x: g * (out == x),)


sign: Unary = unary("sign", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy(), zero_grad, floating=False)


# ---- selection ------------------------------------------------------------------------
@overload
def where(cond: TensorLike) -> tuple[Tensor, ...]: ...
@overload
def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> Tensor: ...
def where(cond: TensorLike, a: TensorLike | None = None, b: TensorLike | None = None) -> Any:
    """Elementwise `a` where `cond` is true, else `b` (the chapter's Nx.select).
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        from .indexing import nonzero

        return nonzero(cond, as_tuple=True)
    cond = as_tensor(cond)
    cd = cond.array
    if cd.dtype.kind != "b":
        raise TypeError(f"where: the condition must be a bool tensor, got dtype {cd.dtype}")
    a, b, ad, bd = operands(a, b)
    try:
        array = array_module(cd).where(cd, ad, bd)
    except (ValueError, TypeError) as e:
        raise operands_error("where", e, cond, a, b) from None
    return record("where", array, (cond, a, b), (cd, ad, bd), _where_grads)


register(where)


_where_grads = (
    None,
    lambda ops, g, out, c, a, b: ops.where(c, g, 0),
    lambda ops, g, out, c, a, b: ops.where(c, 0, g),
)


def _comparison(name: str, compare: Callable, *operators: str) -> Binary:
    def op(a: TensorLike, b: TensorLike) -> Tensor:
        a, b, ad, bd = operands(a, b)
        try:
            return make(compare(ad, bd))
        except (ValueError, TypeError) as e:
            raise operands_error(name, e, a, b) from None

    register_made(op, name, f"Elementwise `{name}`: a bool tensor, with no gradient.", *operators)
    return op


lt: Binary = _comparison("lt", operator.lt, "__lt__")
le: Binary = _comparison("le", operator.le, "__le__")
gt: Binary = _comparison("gt", operator.gt, "__gt__")
ge: Binary = _comparison("ge", operator.ge, "__ge__")
eq: Binary = _comparison("eq", operator.eq, "__eq__")
ne: Binary = _comparison("ne", operator.ne, "__ne__")
