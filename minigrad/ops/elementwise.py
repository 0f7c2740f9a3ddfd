"""Elementwise ops and their gradients, broadcasting by numpy's rules.

Each op is one line of forward math next to one gradient formula per input, read as
``d(out)/d(input) * g``. A formula receives ``(F, g, out, *inputs)``: F is the array
math (numpy, cupy, or minigrad itself when the gradient must be differentiable), g the
gradient arriving at the output. A gradient of broadcast shape is summed back to its
input's shape by the engine, so formulas never think about broadcasting.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..backend import array_module
from ..tensor import Tensor, float32, float64, grad_mode, make, record, tensor
from .common import as_tensor, operands

_ndarray = np.ndarray


def binary(name: str, forward, grad_a, grad_b):
    """An op of two operands (tensors or numbers) from its forward and its two gradients."""

    def op(a, b) -> Tensor:
        if a.__class__ is Tensor and b.__class__ is Tensor:  # the fast path
            ad, bd = a.array, b.array
        else:
            a, b, ad, bd = operands(a, b)
        try:
            data = forward(ad, bd)
        except (ValueError, TypeError):
            raise _operands_error(name, a, b) from None
        if grad_mode.enabled:
            da = a.__class__ is Tensor and a.requires_grad
            db = b.__class__ is Tensor and b.requires_grad
            if da or db:
                edges = ((grad_a, a), (grad_b, b)) if da and db else ((grad_a, a),) if da else ((grad_b, b),)
                return make(data, (edges, (a, b), (ad, bd)))
        return make(data)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of two tensors or numbers, broadcasting."
    return op


def unary(name: str, forward, grad, *, floating: bool = True):
    """An op of one tensor from its forward ``forward(xp, x)`` and its gradient.

    A `floating` op computes integer and bool inputs in float32.
    """

    def op(x) -> Tensor:
        if x.__class__ is not Tensor:
            x = tensor(x)
        xd = x.array
        if floating and xd.dtype.kind != "f":
            xd = xd.astype(float32)
        data = forward(np if xd.__class__ is _ndarray else array_module(xd), xd)
        if x.requires_grad and grad_mode.enabled:
            return make(data, (((grad, x),), (x,), (xd,)))
        return make(data)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}."
    return op


def _operands_error(name: str, *operands) -> Exception:
    """Why the backend refused the operands: different devices, or shapes that don't broadcast."""
    devices = list(dict.fromkeys(t.device for t in operands if isinstance(t, Tensor)))
    if len(devices) > 1:
        return RuntimeError(
            f"{name}: expected all tensors to be on the same device, but found tensors on {' and '.join(devices)}"
        )
    shapes = " and ".join(str(getattr(t, "shape", ())) for t in operands)
    return ValueError(f"{name}: shapes {shapes} can't be broadcast together")


def _sigmoid(x, xp):
    """1 / (1 + e^-x), computed as (1 + tanh(x / 2)) / 2, which never overflows."""
    half = _HALF if x.dtype.itemsize >= 4 else x.dtype.type(0.5)
    out = xp.tanh(x * half)
    out += 1
    out *= half
    return out


_HALF = np.float32(0.5)  # cheaper than a Python 0.5; keeps float32 and float64 as they are


def _module(ad, bd):
    return array_module(ad if hasattr(ad, "shape") else bd)


def _log(F, a):
    return math.log(a) if not hasattr(a, "shape") else F.log(a)


def _share(F, g, wins, ties):
    """g where `wins`, half of g at ties (as between equal maxima), 0 elsewhere."""
    return F.where(wins, g, F.where(ties, g * 0.5, 0))


# ---- arithmetic ---------------------------------------------------------------------
add = binary("add", operator.add, lambda F, g, out, a, b: g, lambda F, g, out, a, b: g)
sub = binary("sub", operator.sub, lambda F, g, out, a, b: g, lambda F, g, out, a, b: -g)
mul = binary("mul", operator.mul, lambda F, g, out, a, b: g * b, lambda F, g, out, a, b: g * a)


def _true_divide(a, b):
    """a / b; integers divide into float32, the default float, as in PyTorch."""
    out = a / b
    if out.dtype == float64 and not (_is_float64(a) or _is_float64(b)):
        return out.astype(float32)
    return out


def _is_float64(x) -> bool:
    return hasattr(x, "dtype") and x.dtype == float64


div = binary("div", _true_divide, lambda F, g, out, a, b: g / b, lambda F, g, out, a, b: -g * out / b)
pow = binary(
    "pow", operator.pow, lambda F, g, out, a, b: g * b * a ** (b - 1), lambda F, g, out, a, b: g * out * _log(F, a)
)
maximum = binary(
    "maximum",
    lambda a, b: _module(a, b).maximum(a, b),
    lambda F, g, out, a, b: _share(F, g, a > b, a == b),
    lambda F, g, out, a, b: _share(F, g, b > a, a == b),
)
minimum = binary(
    "minimum",
    lambda a, b: _module(a, b).minimum(a, b),
    lambda F, g, out, a, b: _share(F, g, a < b, a == b),
    lambda F, g, out, a, b: _share(F, g, b < a, a == b),
)

neg = unary("neg", lambda xp, x: -x, lambda F, g, out, x: -g, floating=False)

# ---- functions ----------------------------------------------------------------------
exp = unary("exp", lambda xp, x: xp.exp(x), lambda F, g, out, x: g * out)
log = unary("log", lambda xp, x: xp.log(x), lambda F, g, out, x: g / x)
sqrt = unary("sqrt", lambda xp, x: xp.sqrt(x), lambda F, g, out, x: g / (out + out))
abs = unary("abs", lambda xp, x: xp.abs(x), lambda F, g, out, x: g * F.sign(x), floating=False)
tanh = unary("tanh", lambda xp, x: xp.tanh(x), lambda F, g, out, x: g * (1 - out * out))


def _sigmoid_grad(F, g, out, x):
    """g * out * (1 - out), multiplied into the fresh (out - out²) (a tensor just rebinds)."""
    slope = out - out * out
    slope *= g
    return slope


sigmoid = unary("sigmoid", lambda xp, x: _sigmoid(x, xp), _sigmoid_grad)


def _relu_grad(F, g, out, x):
    """g where x > 0, else 0: g * sign(out), multiplied into the fresh mask (a tensor just rebinds)."""
    mask = F.sign(out)
    mask *= g
    return mask


relu = unary("relu", lambda xp, x: xp.maximum(x, 0), _relu_grad, floating=False)


def clamp(x, min=None, max=None) -> Tensor:
    """x limited to [min, max] (either may be None); the gradient flows where x was kept."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    x = as_tensor(x)
    xd = x.array
    data = array_module(xd).clip(xd, min, max)
    return record(data, (x,), (xd,), _clamp_grads)


_clamp_grads = (lambda F, g, out, x: g * (out == x),)


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of x; its gradient is zero, so it records nothing."""
    xd = as_tensor(x).array
    return make(array_module(xd).sign(xd))


# ---- selection ------------------------------------------------------------------------
def where(cond, a, b) -> Tensor:
    """Elementwise `a` where `cond` is true, else `b` (the chapter's Nx.select)."""
    cond = as_tensor(cond)
    cd = cond.array
    if cd.dtype.kind != "b":
        raise TypeError(f"where: the condition must be a bool tensor, got dtype {cd.dtype}")
    a, b, ad, bd = (a, b, a.array, b.array) if a.__class__ is b.__class__ is Tensor else operands(a, b)
    try:
        data = (np if cd.__class__ is _ndarray else array_module(cd)).where(cd, ad, bd)
    except (ValueError, TypeError):
        raise _operands_error("where", cond, a, b) from None
    return record(data, (cond, a, b), (cd, ad, bd), _where_grads)


_where_grads = (None, lambda F, g, out, c, a, b: F.where(c, g, 0), lambda F, g, out, c, a, b: F.where(c, 0, g))


def _comparison(name: str, compare):
    def op(a, b) -> Tensor:
        a, b, ad, bd = operands(a, b)
        try:
            return make(compare(ad, bd))
        except (ValueError, TypeError):
            raise _operands_error(name, a, b) from None

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `{name}` comparison: a bool tensor, with no gradient."
    return op


lt = _comparison("lt", operator.lt)
le = _comparison("le", operator.le)
gt = _comparison("gt", operator.gt)
ge = _comparison("ge", operator.ge)
eq = _comparison("eq", operator.eq)
ne = _comparison("ne", operator.ne)
logical_and = _comparison("logical_and", operator.and_)
logical_or = _comparison("logical_or", operator.or_)
logical_xor = _comparison("logical_xor", operator.xor)


def logical_not(x) -> Tensor:
    """~x for bool (or integer) tensors."""
    xd = as_tensor(x).array
    if xd.dtype.kind not in "biu":
        raise TypeError(f"~ needs a bool or integer tensor, got dtype {xd.dtype}")
    return make(~xd)
