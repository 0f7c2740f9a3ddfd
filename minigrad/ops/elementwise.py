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

from ..backend import array_module
from ..tensor import Tensor, TensorLike, float32, float64, grad_mode, make, record, tensor
from .operands import as_tensor, device_error, operands
from .registry import register

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp", "sign", "where",
    "lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or", "logical_xor", "logical_not",
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
        else:
            a, b, ad, bd = operands(a, b)
        try:
            array = forward(ad, bd)
        except (ValueError, TypeError) as e:
            raise operands_error(name, e, a, b) from None
        if grad_mode.enabled:
            da = a.__class__ is Tensor and a.requires_grad  # type: ignore[union-attr]
            db = b.__class__ is Tensor and b.requires_grad  # type: ignore[union-attr]
            if da or db:
                edges = ((grad_a, a), (grad_b, b)) if da and db else ((grad_a, a),) if da else ((grad_b, b),)
                return make(array, (name, edges, (a, b), (ad, bd)))
        return make(array)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of two tensors or numbers, broadcasting."
    register(op, name, *methods, reflected=reflected)
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
        if x.requires_grad and grad_mode.enabled:  # type: ignore[union-attr]
            return make(array, (name, ((grad, x),), (x,), (xd,)))
        return make(array)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}."
    register(op, name, *methods)
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


def _sigmoid(x: Any, xp: Any) -> Any:
    """1 / (1 + e^-x), computed as (1 + tanh(x / 2)) / 2, which never overflows."""
    half = _HALF if x.dtype.itemsize >= 4 else x.dtype.type(0.5)
    out = xp.tanh(x * half)
    out += 1
    out *= half
    return out


_HALF = np.float32(0.5)  # cheaper than a Python 0.5; keeps float32 and float64 as they are


def _module(ad: Any, bd: Any) -> Any:
    return array_module(ad if hasattr(ad, "shape") else bd)


def _log(ops: Any, a: Any) -> Any:
    return math.log(a) if not hasattr(a, "shape") else ops.log(a)


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
pow: Binary = binary(
    "pow",
    operator.pow,
    lambda ops, g, out, a, b: g * b * a ** (b - 1),
    lambda ops, g, out, a, b: g * out * _log(ops, a),
    methods=("__pow__",),
    reflected=("__rpow__",),
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


sigmoid: Unary = unary("sigmoid", lambda xp, x: _sigmoid(x, xp), _sigmoid_grad)


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


def sign(x: TensorLike) -> Tensor:
    """-1, 0 or 1 by the sign of x; its gradient is zero, so it records nothing."""
    xd = as_tensor(x).array
    return make(array_module(xd).sign(xd))


register(sign, "sign")


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
    a, b, ad, bd = (a, b, a.array, b.array) if a.__class__ is b.__class__ is Tensor else operands(a, b)  # type: ignore[union-attr]
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


def _comparison(name: str, compare: Callable, operator_name: str) -> Binary:
    def op(a: TensorLike, b: TensorLike) -> Tensor:
        a, b, ad, bd = operands(a, b)
        try:
            return make(compare(ad, bd))
        except (ValueError, TypeError) as e:
            raise operands_error(name, e, a, b) from None

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `{name}` comparison: a bool tensor, with no gradient."
    register(op, name, operator_name)
    return op


lt: Binary = _comparison("lt", operator.lt, "__lt__")
le: Binary = _comparison("le", operator.le, "__le__")
gt: Binary = _comparison("gt", operator.gt, "__gt__")
ge: Binary = _comparison("ge", operator.ge, "__ge__")
eq: Binary = _comparison("eq", operator.eq, "__eq__")
ne: Binary = _comparison("ne", operator.ne, "__ne__")
logical_and: Binary = _comparison("logical_and", operator.and_, "__and__")
logical_or: Binary = _comparison("logical_or", operator.or_, "__or__")
logical_xor: Binary = _comparison("logical_xor", operator.xor, "__xor__")


def logical_not(x: TensorLike) -> Tensor:
    """~x for bool (or integer) tensors."""
    xd = as_tensor(x).array
    if xd.dtype.kind not in "biu":
        raise TypeError(f"~ needs a bool or integer tensor, got dtype {xd.dtype}")
    return make(~xd)


register(logical_not, "logical_not", "__invert__")
