"""The op table: every function minigrad exports that makes a tensor, and the Tensor methods that call it.

An op registers itself where it is defined, with the names of the Tensor methods (and
operators) that call it. The table then gives:

* ``minigrad.<name>`` and ``minigrad.ops.<name>`` (the modules' ``__all__``, checked against it);
* the Tensor methods and operators, attached by :func:`attach_methods` at import;
* the declarations type checkers read (``TYPE_CHECKING`` in ``minigrad/tensor.py``) and the
  rows of ``docs/ops.md``, both checked against it by ``tests/test_op_table.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    """One entry of the table."""

    function: Callable[..., Any]
    methods: tuple[str, ...]  # `t.name(...)` and `t <op> other` call function(t, ...)
    reflected: tuple[str, ...]  # `other <op> t` calls function(other, t): __radd__, ...
    export: bool = True  # also minigrad.<name> (in-place ops are methods only)


OPS: dict[str, Op] = {}


def register(
    function: Callable[..., Any],
    *methods: str,
    reflected: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    export: bool = True,
) -> None:
    """Add `function` to the table: as ``minigrad.<its name>`` (and ``minigrad.<alias>`` for each
    of `aliases`) unless not `export`, and as the Tensor `methods` and `reflected` operators.

    Called right after the op's definition (a plain call, not a decorator, so that type
    checkers see the function's own signature).
    """
    for i, name in enumerate((function.__name__, *aliases)):
        if name in OPS:
            raise RuntimeError(f"op {name!r} is registered twice")
        OPS[name] = Op(function, methods, reflected, export) if i == 0 else Op(function, (), (), export)


def register_made(
    function: Callable[..., Any], name: str, doc: str, *methods: str, reflected: tuple[str, ...] = ()
) -> None:
    """Register `function`, made by an op factory (``unary``, ``binary``, ...), as ``minigrad.<name>``
    and the Tensor methods `name` and `methods`: named, documented and placed as if it were a def
    in the module that called the factory (so that module's ``__all__`` is where it belongs)."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    function.__module__ = sys._getframe(2).f_globals["__name__"]
    register(function, name, *methods, reflected=reflected)


def _reflected(function: Callable[..., Any]) -> Callable[..., Any]:
    return lambda self, other: function(other, self)


def attach_methods(cls: type) -> None:
    """Make every registered method and operator an attribute of `cls` (Tensor)."""
    for op in OPS.values():
        for name in op.methods:
            setattr(cls, name, op.function)
        for name in op.reflected:
            setattr(cls, name, _reflected(op.function))
