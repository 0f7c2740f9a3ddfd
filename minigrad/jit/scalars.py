"""Hyperparameters a program reads on every replay: while an optimizer's step is traced, its numbers
(``lr``, ``momentum``, ``betas``, ...) are :class:`Scalar` values, so a schedule that changes them
between calls replays the same program instead of tracing it again.

A Scalar computes as its number does. Arithmetic with Python numbers gives another Scalar whose
``source`` is that arithmetic on the optimizer's attribute (a replay repeats the same float
operations, so the same bits); handed to numpy it is recorded as its source; anything else that
reads its value (``bool()``, a comparison, ``float()``) records a guard, checked before the program
runs (the step can't change its own hyperparameters, so the check can come first).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import traced

if TYPE_CHECKING:  # imported when a trace starts (optim comes after this package)
    from ..optim.optimizers import Optimizer

_NUMBERS = (int, float)  # exact classes: numpy's float64 is a float, but computes by NEP 50's rules


class Scalar:
    """A number read from an optimizer during a trace. ``source`` is how a replay computes it:
    ``("attr", optimizer, name, index or None)``, ``("num", number)``, ``("op", symbol, a, b)``,
    ``("neg" | "pos" | "abs", a)``."""

    __slots__ = ("value", "source")

    def __init__(self, value: Any, source: tuple):
        self.value, self.source = value, source

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return traced._apply(fn, inputs, kwargs, in_place=bool(kwargs.get("out")) or method == "at")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._read("value"), dtype)

    def _read(self, kind: str) -> Any:
        """The value, for Python code that branches on it or converts it: a guard of kind "truth"
        (``bool(source)`` the same) or "value" (the same number)."""
        tracer = traced._tracer
        if tracer is not None:
            tracer.scalar_guards.append((kind, self.source, bool(self.value) if kind == "truth" else self.value))
        return self.value

    def __bool__(self) -> bool:
        return bool(self._read("truth"))

    def __float__(self) -> float:
        return float(self._read("value"))

    def __int__(self) -> int:
        return int(self._read("value"))

    def __index__(self) -> int:
        return operator.index(self._read("value"))

    def __hash__(self) -> int:
        return hash(self._read("value"))

    def __repr__(self) -> str:
        return repr(self._read("value"))

    def __format__(self, spec: str) -> str:
        return format(self._read("value"), spec)

    def __round__(self, ndigits: Any = None) -> Any:
        return round(self._read("value"), ndigits)


def _arithmetic(symbol: str, op: Callable, ufunc: np.ufunc, reflected: bool) -> Callable:
    def method(self: Scalar, other: Any) -> Any:
        a, b = (other, self) if reflected else (self, other)
        if other.__class__ in _NUMBERS or other.__class__ is Scalar:
            return Scalar(op(_value(a), _value(b)), ("op", symbol, _source(a), _source(b)))
        return ufunc(a, b)  # an array or numpy scalar: numpy computes it, and the trace records it

    return method


def _comparison(op: Callable) -> Callable:
    def method(self: Scalar, other: Any) -> Any:
        return op(self._read("value"), other._read("value") if other.__class__ is Scalar else other)

    return method


def _unary(kind: str, op: Callable) -> Callable:
    return lambda self: Scalar(op(self.value), (kind, self.source))


def _value(x: Any) -> Any:
    return x.value if x.__class__ is Scalar else x


def _source(x: Any) -> tuple:
    return x.source if x.__class__ is Scalar else ("num", x)


for _symbol, _name, _op, _ufunc in (
    ("+", "add", operator.add, np.add), ("-", "sub", operator.sub, np.subtract),
    ("*", "mul", operator.mul, np.multiply), ("/", "truediv", operator.truediv, np.true_divide),
    ("//", "floordiv", operator.floordiv, np.floor_divide), ("%", "mod", operator.mod, np.remainder),
    ("**", "pow", operator.pow, np.power),
):  # fmt: skip
    setattr(Scalar, f"__{_name}__", _arithmetic(_symbol, _op, _ufunc, reflected=False))
    setattr(Scalar, f"__r{_name}__", _arithmetic(_symbol, _op, _ufunc, reflected=True))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Scalar, f"__{_name}__", _comparison(getattr(operator, _name)))
for _kind, _apply_to in (("neg", operator.neg), ("pos", operator.pos), ("abs", abs)):
    setattr(Scalar, f"__{_kind}__", _unary(_kind, _apply_to))


def read_live(opt: Optimizer) -> dict[str, Any]:
    """Swap `opt`'s number (and tuple-of-numbers) hyperparameters for Scalars, for minigrad's own
    optimizers, whose steps only compute with them; {name: the value to put back}. An optimizer
    with a step of its own (a subclass's ``step``, ``_apply`` or ``_update``) keeps its numbers,
    guarded by value."""
    steps = [c for c in type(opt).__mro__ if any(k in c.__dict__ for k in ("step", "_apply", "_update"))]
    if not all(c.__module__.startswith("minigrad.") for c in steps):
        return {}
    swapped = {}
    for name in opt.defaults:
        value = getattr(opt, name)
        if value.__class__ in _NUMBERS:
            live: Any = Scalar(value, ("attr", opt, name, None))
        elif value.__class__ is tuple and value and all(v.__class__ in _NUMBERS for v in value):
            live = tuple(Scalar(v, ("attr", opt, name, i)) for i, v in enumerate(value))
        else:
            continue
        swapped[name] = value
        object.__setattr__(opt, name, live)  # past the trace's refusal of hyperparameters set by fn
    return swapped


def render(source: tuple, const: Callable[[Any], str]) -> str:
    """A Scalar's source as a Python expression over the optimizer's attributes."""
    kind = source[0]
    if kind == "attr":
        _, opt, name, index = source
        return f"{const(opt)}.{name}" + ("" if index is None else f"[{index}]")
    if kind == "num":
        return const(source[1])
    if kind == "op":
        return f"({render(source[2], const)} {source[1]} {render(source[3], const)})"
    inner = render(source[1], const)
    return f"abs({inner})" if kind == "abs" else f"({'-' if kind == 'neg' else '+'}{inner})"


traced.scalar_class = Scalar
