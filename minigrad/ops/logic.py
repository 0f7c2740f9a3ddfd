"""Tests of values (isnan, isclose, ...), logic on truth values (logical_*), and the bitwise ops on
integer and bool tensors (bitwise_*: the operators & | ^ ~ << >>). None has a gradient.

As in PyTorch, the operators are the bitwise ops, which on bool tensors are the logical ones,
and a Python int meeting an integer tensor takes the tensor's dtype, wrapping around:
``int32_tensor | 0xFFFFFFFF`` ors in -1 (numpy would raise OverflowError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import array_module
from ..tensor import Tensor, TensorLike, make
from .elementwise import Binary, Unary, _comparison, _module, operands_error
from .operands import as_tensor, operand, operands
from .registry import register, register_made

__all__ = [
    "isnan", "isinf", "isfinite", "isclose", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
]  # fmt: skip


def _test(name: str, forward: Callable[[Any, Any], Any], what: str) -> Unary:
    """An op of one tensor giving `forward(xp, x)`, without gradient."""

    def op(x: TensorLike) -> Tensor:
        xd = as_tensor(x).array
        return make(forward(array_module(xd), xd))

    register_made(op, name, what)
    return op


isnan: Unary = _test("isnan", lambda xp, x: xp.isnan(x), "Where x is nan: a bool tensor.")
isinf: Unary = _test("isinf", lambda xp, x: xp.isinf(x), "Where x is inf or -inf: a bool tensor.")
isfinite: Unary = _test("isfinite", lambda xp, x: xp.isfinite(x), "Where x is neither nan nor ±inf: a bool tensor.")
logical_not: Unary = _test(
    "logical_not", lambda xp, x: xp.logical_not(x), "Where x is zero (false), for any dtype: a bool tensor."
)


def isclose(a: TensorLike, b: TensorLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Where |a - b| <= atol + rtol * |b|, broadcasting: a bool tensor. Equal infinities are
    close; nans are close to each other only with `equal_nan`."""
    a, b, ad, bd = operands(a, b)
    try:
        return make(_module(ad, bd).isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except (ValueError, TypeError) as e:
        raise operands_error("isclose", e, a, b) from None


register(isclose, "isclose")


# Truth values of any dtype (non-zero is true), broadcasting; bool tensors out.
logical_and: Binary = _comparison("logical_and", lambda a, b: _module(a, b).logical_and(a, b))
logical_or: Binary = _comparison("logical_or", lambda a, b: _module(a, b).logical_or(a, b))
logical_xor: Binary = _comparison("logical_xor", lambda a, b: _module(a, b).logical_xor(a, b))


# ---- bitwise ------------------------------------------------------------------------------------------
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _bits(name: str, x: Any) -> Any:
    """x if it is a Python int (or bool) or an integer or bool array, else a TypeError."""
    kind = x.dtype.kind if hasattr(x, "dtype") else "b" if isinstance(x, bool) else "i" if isinstance(x, int) else ""
    if kind not in ("b", "i", "u"):
        what = f"dtype {x.dtype}" if hasattr(x, "dtype") else type(x).__name__
        raise TypeError(f"{name} needs integer or bool tensors, got {what}")
    return x


def _wrapped(name: str, value: Any, other: Any) -> Any:
    """A Python int in the integer dtype of the array it meets, wrapping around as in PyTorch."""
    if value.__class__ is not int or not hasattr(other, "dtype") or other.dtype.kind not in "iu":
        return value
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError(f"{name}: the Python int {value} does not fit in int64")
    bits = 8 * other.dtype.itemsize
    value &= (1 << bits) - 1
    if other.dtype.kind == "i" and value >> (bits - 1):
        value -= 1 << bits
    return other.dtype.type(value)


def _bitwise(name: str, forward: Callable[[Any, Any], Any], operator: str, reflected: str) -> Binary:
    def op(a: TensorLike, b: TensorLike) -> Tensor:
        a, ad = operand(a)
        b, bd = operand(b)
        ad, bd = _wrapped(name, _bits(name, ad), bd), _wrapped(name, _bits(name, bd), ad)
        try:
            return make(forward(ad, bd))
        except (ValueError, TypeError) as e:
            raise operands_error(name, e, a, b) from None

    doc = f"Elementwise `{name}` of integer or bool tensors (or Python ints), broadcasting; no gradient."
    register_made(op, name, doc, operator, reflected=(reflected,))
    return op


bitwise_and: Binary = _bitwise("bitwise_and", lambda a, b: a & b, "__and__", "__rand__")
bitwise_or: Binary = _bitwise("bitwise_or", lambda a, b: a | b, "__or__", "__ror__")
bitwise_xor: Binary = _bitwise("bitwise_xor", lambda a, b: a ^ b, "__xor__", "__rxor__")
bitwise_left_shift: Binary = _bitwise("bitwise_left_shift", lambda a, b: a << b, "__lshift__", "__rlshift__")
bitwise_right_shift: Binary = _bitwise("bitwise_right_shift", lambda a, b: a >> b, "__rshift__", "__rrshift__")


def bitwise_not(x: TensorLike) -> Tensor:
    """~x: each bit flipped for integers, logical not for bools; no gradient."""
    xd = _bits("bitwise_not (~)", as_tensor(x).array)
    return make(~xd)


register(bitwise_not, "bitwise_not", "__invert__")
