"""The op table: every function minigrad exports that makes a tensor, and the Tensor methods that call it.

An op registers itself where it is defined, with the names of the Tensor methods (and
operators) that call it. The table then gives:

* ``minigrad.<name>`` and ``minigrad.ops.<name>`` (the modules' ``__all__``, checked against it);
* the Tensor methods and operators, attached by :func:`attach_methods` at import;
* the declarations type checkers read (``TYPE_CHECKING`` in ``minigrad/tensor.py``) and the
  rows of ``docs/ops.md``, both checked against it by ``tests/test_op_table.py``.

cupy computes on the *current* GPU, so in a process that uses one (from the moment cupy is
imported) every op is swapped for one that first makes its first tensor's device current
(:func:`guard_devices`). Until then the ops are the plain functions: the CPU path pays nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backend import device_context, gpu_in_use, is_device_array, when_cupy_loads


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


def on_device(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run with its first tensor's device current (its tensor arguments, and those in
    list or tuple arguments, in order). Tensors on two different GPUs are an error naming both
    (cupy would copy between GPUs that have peer access); a CPU tensor meeting a GPU one is left
    to the op, which refuses it or takes it (a CPU index tensor) as PyTorch does."""
    from ..tensor import Tensor
    from .operands import device_error

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not gpu_in_use():  # no array can be on a GPU yet
            return function(*args, **kwargs)
        tensors = []
        for a in (*args, *kwargs.values()):
            if a.__class__ is Tensor:
                tensors.append(a)
            elif a.__class__ in (list, tuple) and a and a[0].__class__ is Tensor:  # cat's, stack's
                tensors += [t for t in a if t.__class__ is Tensor]
        array = tensors[0].array if tensors else None
        if len(tensors) > 1 and is_device_array(array) and len({t.device for t in tensors} - {"cpu"}) > 1:
            raise device_error(function.__name__, tensors)  # type: ignore[misc]
        with device_context(array):
            return function(*args, **kwargs)

    return functools.update_wrapper(guarded, function)


def guard_devices() -> None:
    """Swap every op, in the table, as a Tensor method and wherever a minigrad module holds it,
    for its :func:`on_device` version."""
    from ..tensor import Tensor

    guarded = {id(op.function): on_device(op.function) for op in OPS.values()}
    for name, op in OPS.items():
        OPS[name] = dataclasses.replace(op, function=guarded[id(op.function)])

    def swap(holder: Any) -> None:
        for attr, value in list(vars(holder).items()):
            if id(value) in guarded and guarded[id(value)].__wrapped__ is value:  # type: ignore[attr-defined]
                setattr(holder, attr, guarded[id(value)])

    for module_name, module in list(sys.modules.items()):
        if module_name.partition(".")[0] != "minigrad":
            continue
        swap(module)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module_name:
                swap(value)  # a layer that keeps its function as a class attribute (nn.MaxPool2d.function)
    attach_methods(Tensor)


when_cupy_loads(guard_devices)


def guard_functions(namespace: dict[str, Any], *names: str) -> None:
    """Put public functions of a module that compute on arrays without being ops (losses,
    activations, pooling, gradcheck, ...: `names`, by default those defined there and listed
    in its ``__all__``) under their tensors' device from the start, in that module. They run once per batch or
    layer, where the guard's cost is lost in the noise, and a name imported before any GPU was
    used (``from minigrad.nn.functional import cross_entropy``) is guarded too."""
    ops = {id(op.function) for op in OPS.values()}
    for name in names or namespace["__all__"]:
        function = namespace[name]
        if (
            isinstance(function, types.FunctionType)
            and (names or function.__module__ == namespace["__name__"])
            and id(function) not in ops  # guarded with the other ops once cupy is imported
        ):
            namespace[name] = on_device(function)
