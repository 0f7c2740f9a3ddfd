"""The program as Python source: its guards, the arrays it reads, one line per recorded step (constants
folded, buffers reused), the effects and the result; :class:`Program` compiles it.
"""

from __future__ import annotations

import itertools
import math
import operator
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd, backend
from ..tensor import RELEASED, Tensor, make, next_seq
from . import scalars
from .patches import _REGISTRIES
from .traced import NotCapturable, _base_of, _broadcast, _ndarray, _Ref, _tensors_in, _Tracer, slots_in


class Stale(Exception):
    """A guard of a captured program failed: this call must be traced (or run) again."""


class Program:
    """One captured call: the generated Python source (``str(program)``) and the function it defines."""

    def __init__(self, source: str, names: dict[str, Any]):
        self.source = source
        exec(compile(source, "<minigrad.jit program>", "exec"), names)  # noqa: S102  # code generated here
        self.run: Callable = names["program"]

    def __str__(self) -> str:
        return self.source


class _Out:
    """A returned value computed by the program (slot), as a tensor (requires_grad not None) or array."""

    def __init__(self, slot: int, requires_grad: bool | None, released: bool):
        self.slot, self.requires_grad, self.released = slot, requires_grad, released


class _Fresh:
    """A constant array fn returned: each replay returns a copy, as each eager call makes a new one."""

    def __init__(self, array: Any, requires_grad: bool | None):
        self.array, self.requires_grad = array, requires_grad


class _Const:
    def __init__(self, value: Any):
        self.value = value


class _Problem:
    def __init__(self, reason: str):
        self.reason = reason


_INLINE = (int, bool, str, type(None))
_METHOD_TYPES = (types.MethodDescriptorType, types.WrapperDescriptorType)
# numpy functions that only call the array's method of the same name (with these keywords)
_AS_METHOD: dict[Any, set[str]] = {
    np.transpose: set(), np.swapaxes: set(), np.sum: {"axis", "dtype", "keepdims"}, np.squeeze: {"axis"},
    np.ravel: set(), np.nonzero: set(),
}  # fmt: skip


class _Names:
    """The globals of a generated program: each object once, under a readable name."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "Stale": Stale, "_same": _same, "_tensor": _tensor, "make": make, "_grad_is": _grad_is,
            "_tensors_in": _tensors_in, "_hooks_are": _hooks_are,
        }  # fmt: skip
        self._by_id: dict[int, str] = {}
        self.folded: dict[int, Any] = {}  # slot -> its value, the same on every call
        self._count = itertools.count()

    def const(self, value: Any) -> str:
        if value.__class__ in _INLINE or (value.__class__ is float and math.isfinite(value)):
            return repr(value)
        if value is Ellipsis:
            return "..."
        if value.__class__ is slice:
            return f"slice({self.const(value.start)}, {self.const(value.stop)}, {self.const(value.step)})"
        name = self._by_id.get(id(value))
        if name is None:
            name = self._by_id[id(value)] = _short(value) + str(next(self._count))
            self.names[name] = value
        return name

    def call(self, fn: Any, args: tuple, kwargs: dict) -> str:
        """fn called on args: ``v3.reshape(...)`` for ndarray methods (a replay may hold a numpy scalar
        where the trace had a 0-d array), ``f(...)`` for functions."""
        params = [self.render(a) for a in args[1:]] + [f"{k}={self.render(v)}" for k, v in kwargs.items()]
        name = getattr(fn, "__name__", "")
        if fn in _AS_METHOD and set(kwargs) <= _AS_METHOD[fn] and args and args[0].__class__ is _Ref:
            return f"{self.render(args[0])}.{name}({', '.join(params)})"  # np.sum(x, 0) is x.sum(0)
        if isinstance(fn, _METHOD_TYPES) and getattr(np.ndarray, name, None) is fn:
            return f"{self.render(args[0])}.{name}({', '.join(params)})"
        return f"{self.const(fn)}({', '.join([self.render(a) for a in args[:1]] + params)})"

    def render(self, x: Any) -> str:
        if x.__class__ is _Ref:
            return self.const(self.folded[x.k]) if x.k in self.folded else f"v{x.k}"
        if x.__class__ is tuple:
            return "(" + "".join(self.render(v) + ", " for v in x) + ")"
        if x.__class__ is list:
            return "[" + ", ".join(self.render(v) for v in x) + "]"
        if x.__class__ is slice:
            return f"slice({self.render(x.start)}, {self.render(x.stop)}, {self.render(x.step)})"
        if x.__class__ is _Problem:
            raise NotCapturable(x.reason)
        if x.__class__ is _Out:
            return f"v{x.slot}" if x.requires_grad is None else f"_tensor(v{x.slot}, {x.requires_grad}, {x.released})"
        if x.__class__ is _Fresh:
            copy = f"{self.const(x.array)}.copy()"
            return copy if x.requires_grad is None else f"_tensor({copy}, {x.requires_grad}, False)"
        if x.__class__ is _Const:
            return self.const(x.value)
        if x.__class__ is scalars.Scalar:
            return scalars.render(x.source, self.const)
        if x.__class__ is dict:
            return "{" + ", ".join(f"{k!r}: {self.render(v)}" for k, v in x.items()) + "}"
        return self.const(x)


def _generate(tracer: _Tracer, effects: list, template: Any, escaping: set[int]) -> Program:
    """The program: guards, the arrays it reads, one line per recorded step, the effects, the result."""
    n = _Names()
    n.folded = {k: tracer.raws[k] for k in _constants(tracer, escaping)}
    lines = ["def program(*args, **kwargs):"]
    if tracer.args:  # the input signature fixes where the tensors are among the arguments
        inputs = "args" if tracer.only_tensors else "_tensors_in(args, kwargs)"
        lines.append("    " + "".join(f"a{i}, " for i in range(len(tracer.args))) + f"= {inputs}")
    lines += _guard_lines(tracer, n.const)
    start = len(lines)
    for slot, kind, what in tracer.sources:
        lines += _read_source(slot, kind, what, tracer.raws[slot], n.const)
    for step in tracer.steps:
        lines += _step_lines(step, tracer, escaping, n)
    for kind, target, slot in effects:
        value = "None" if slot is None else f"v{slot}"
        if kind == "array":
            lines.append(f"    {n.const(target)}.array = {value}")
        elif kind == "grad":
            lines.append(f"    {n.const(target)}.grad = {value if slot is None else f'make({value})'}")
        else:
            lines.append(f"    {n.const(target[0])}[{target[1]!r}] = {value}")
    lines.append(f"    return {n.render(template)}")
    if tracer.device is not None:  # a cupy program computes on its arrays' GPU, whichever is current
        device = n.const(backend.cupy().cuda.Device)
        lines[start:] = [f"    with {device}({tracer.device}):", *("    " + line for line in lines[start:])]
    return Program("\n".join(lines) + "\n", n.names)


def _guard_lines(tracer: _Tracer, const: Callable[[Any], str]) -> list[str]:
    """The checks a replay starts with: .grad None or not, module attributes, optimizers."""
    lines = []
    for t, was_none, requires_grad in tracer.grad_read.values():
        lines.append(f"    if not _grad_is({const(t)}, {was_none}, {requires_grad}):")
        lines.append("        raise Stale('a .grad (None or not) or requires_grad changed')")
    for module, name, value, items in tracer.module_reads.values():
        now = f"{const(module)}.__dict__.get({name!r})"
        if items is None:  # a setting, by value
            same = f"{now} is {value}" if value is None or value.__class__ is bool else f"_same({now}, {const(value)})"
            lines.append(f"    if not {same}:")
            lines.append("        raise Stale('a setting of a module changed (train() or eval(), eps, ...)')")
            continue
        tests = [f"{now} is not {const(value)}"]
        if name in _REGISTRIES:
            tests.append(f"len({const(value)}) != {len(items)}")
            tests += [f"{const(value)}.get({k!r}) is not {const(v)}" for k, v in items]
        lines.append(f"    if {' or '.join(tests)}:")
        lines.append("        raise Stale('a parameter or sub-module of a module was replaced')")
    hooks = const(autograd._hooks)
    lines.append(f"    if {f'not _hooks_are({hooks}, {const(tracer.hooks)})' if tracer.hooks else hooks}:")
    lines.append("        raise Stale('a gradient hook was registered or removed')")
    for holder, key, value in tracer.bindings:
        now = f"{const(holder)}.cell_contents" if key is None else f"{const(holder)}.get({key!r})"
        lines.append(f"    if {now} is not {const(value)}:")
        lines.append(
            "        raise Stale('a tensor, module or function fn reaches through a closure or global was rebound')"
        )
    for opt, fixed, hyper, states in tracer.optimizers.values():
        o = const(opt)
        now = "".join(f"{o}.{k}, " if k.isidentifier() else f"getattr({o}, {k!r}), " for k in fixed)
        params = f"{o}.params is not {const(opt.params)} or len({const(opt.params)}) != {len(opt.params)}"
        tests = [f"({now}) != {const(hyper)}", params, f"len({o}.state) != {len(states)}"]
        tests += [
            f"{o}.state.get({const(p)}) is not {const(st)} or len({const(st)}) != {len(keys)}" for p, st, keys in states
        ]
        lines.append(f"    if {' or '.join(tests)}:")
        lines.append("        raise Stale('the optimizer\\'s parameters, hyperparameters (lr, ...) or state changed')")
    checks: dict[str, None] = {}  # each parameter's step reads them again: one check each
    for kind, source, value in tracer.scalar_guards:
        now = scalars.render(source, const)
        checks[f"bool({now}) is not {value}" if kind == "truth" else f"not _same({now}, {const(value)})"] = None
    for check in checks:
        lines.append(f"    if {check}:")
        lines.append("        raise Stale('a hyperparameter the optimizer branches on or converts changed')")
    return lines


def _step_lines(step: tuple, tracer: _Tracer, escaping: set[int], n: _Names) -> list[str]:
    """The line(s) of one recorded step: a call, an in-place write, or a guard on a value read."""
    if step[0] == "guard":
        _, fn, args, kwargs, value, why = step
        call = n.call(fn, args, kwargs)
        test = f"{call} is not {value}" if value.__class__ is bool else f"not _same({call}, {n.const(value)})"
        return [f"    if {test}:", f"        raise Stale({('the value of ' + why + ' changed')!r})"]
    kind, fn, args, kwargs, outs, *listed = step
    if kind == "call" and outs[0] in n.folded:
        return []
    if fn is np.broadcast_to and kind == "call" and not kwargs:  # its checks were made by the trace
        fn, args = _broadcast, (args[0], tracer.raws[outs[0]].shape, tracer.raws[outs[0]].strides)
    if isinstance(fn, np.ufunc) and tracer.device is not None:
        fn = _cupy_ufunc(fn, args, tracer)
    if isinstance(fn, np.ufunc) or fn is np.where:
        args = _numbers_as_arrays(fn, args, kwargs, tracer)
    if kind == "call" and len(outs) == 1 and _reusable(fn, kwargs, outs[0], escaping, tracer):
        kwargs = {**kwargs, "out": tracer.raws[outs[0]]}
    call = n.call(fn, args, kwargs)
    if kind == "do":
        return [f"    {call}"]
    if listed and listed[0]:
        return [f"    {''.join(f'v{k}, ' for k in outs)}= {call}"]
    return [f"    v{outs[0]} = {call}"]


def _cupy_ufunc(fn: np.ufunc, args: tuple, tracer: _Tracer) -> Any:
    """numpy's ufunc called on a cupy array (a hyperparameter times a state array) as cupy's of the same
    name, which numpy hands it to: a replay skips that dispatch and may reuse the result's buffer."""
    if any(a.__class__ is _Ref and backend.is_device_array(tracer.raws[a.k]) for a in args):
        return getattr(backend.cupy(), fn.__name__, fn)
    return fn


_WEAK_NUMBERS = np.lib.NumpyVersion(np.__version__) >= "2.0.0"  # NEP 50: a Python number takes the arrays' dtype
_NUMBER_TYPES = (int, float, complex)
_UFUNC_OPTIONS = {"out", "casting"}


def _numbers_as_arrays(fn: Any, args: tuple, kwargs: dict, tracer: _Tracer) -> tuple:
    """A ufunc's (or ``where``'s) operands with each Python number or numpy scalar among them made a
    read-only 0-d array of the dtype the call converts it to: the same values, which numpy then
    need not convert again on every replay (a 0-d array operand costs half a Python float's time)."""
    count = 3 if fn is np.where else fn.nin
    operands = args[:count]
    if not _WEAK_NUMBERS or len(operands) < count or not set(kwargs) <= _UFUNC_OPTIONS:
        return args
    kinds = [_operand_kind(a, tracer) for a in operands]
    if any(k is None for k in kinds) or all(a.__class__ is _Ref for a in operands):
        return args
    out = kwargs.get("out")
    outs = tuple(tracer.raws[r.k].dtype for r in out) if out is not None else None
    return numbers_converted(fn, operands, kinds, outs, kwargs.get("casting", "same_kind")) + tuple(args[count:])


def numbers_converted(fn: Any, operands: tuple, kinds: list, outs: tuple | None, casting: str) -> tuple:
    """`operands` of ufunc `fn` (or ``where``), their numbers converted by :func:`_as_operand` to the
    dtype of the loop numpy picks (`kinds`: each operand's dtype, or the type of a Python number)."""
    try:
        if fn is np.where:
            common = np.result_type(*[k if isinstance(k, np.dtype) else a for a, k in zip(operands[1:], kinds[1:])])
            loop: tuple = (np.dtype(bool), common, common)
        else:
            loop = fn.resolve_dtypes((*kinds, *(outs or (None,) * fn.nout)), casting=casting)
    except (TypeError, ValueError):
        return operands
    return tuple(
        a if isinstance(k, np.dtype) and not isinstance(a, np.generic) else _as_operand(a, dtype)
        for a, k, dtype in zip(operands, kinds, loop)
    )


def _operand_kind(a: Any, tracer: _Tracer) -> Any:
    """What NEP 50 promotes an operand as: an array's or numpy scalar's dtype, the type of a Python
    number (a "weak" one), or None for anything else (a device array, a bool, an object)."""
    if a.__class__ is _Ref:
        raw = tracer.raws[a.k]
        return raw.dtype if raw.__class__ is _ndarray else None
    if a.__class__ in _NUMBER_TYPES:
        return a.__class__
    return a.dtype if isinstance(a, np.generic) and a.dtype.kind in "iufc" else None


def _as_operand(value: Any, dtype: np.dtype) -> Any:
    """`value` as numpy converts it for a loop over `dtype`: a read-only 0-d array. An int stays a
    number where that could differ: beyond 2**53 (where going through float64 could round another
    way), or out of an integer dtype's range (numpy compares ``int8_array < 128`` by value)."""
    if value.__class__ is int and abs(value) >= 2**53:
        return value
    array = np.asarray(value).astype(dtype)
    if value.__class__ is int and dtype.kind in "iub" and array.item() != value:
        return value
    array.setflags(write=False)
    return array


def _constants(tracer: _Tracer, escaping: set[int]) -> set[int]:
    """The slots whose values are the same on every call: made from shapes and constants only
    (``ones_like(loss)``, then reshaped and divided), never written into, never leaving the program.
    A replay uses the arrays the trace computed."""
    written = {tracer.root[k] for step in tracer.steps if step[0] == "do" for k in step[4]}
    found: set[int] = set()
    for step in tracer.steps:
        if step[0] != "call":
            continue
        _, fn, args, kwargs, outs, *_ = step
        if any(k in escaping or tracer.root[k] in written or tracer.root[k] in escaping for k in outs):
            continue
        if slots_in((args[1:] if _shape_only(fn) else args, kwargs)) <= found:
            found.update(outs)
    return found


_SHAPE_ONLY = (np.ones_like, np.zeros_like, np.full_like)  # their first argument gives only a shape and dtype


def _shape_only(fn: Any) -> bool:
    """Whether fn is numpy's or cupy's ones_like, zeros_like or full_like."""
    if fn in _SHAPE_ONLY:
        return True
    cp = backend.cupy() if backend.gpu_in_use() else None
    return cp is not None and fn in (cp.ones_like, cp.zeros_like, cp.full_like)


def _read_source(slot: int, kind: str, what: Any, raw: Any, const: Callable[[Any], str]) -> list[str]:
    """The lines reading an array the program gets from outside, with the guards it needs."""
    v = f"v{slot}"
    layout = f"{v}.shape != {raw.shape!r} or {v}.dtype != {const(raw.dtype)} or {v}.strides != {raw.strides!r}"
    if backend.is_device_array(raw):
        layout += f" or {v}.device.id != {raw.device.id}"
    if kind == "arg":
        return [f"    {v} = a{what}.array"]
    if kind == "copy":
        return [f"    {v} = {const(what)}.copy()"]
    if kind == "tensor":
        t, requires_grad, array = what
        tn, an = const(t), const(array)
        return [
            f"    if {tn}.array is not {an} or {tn}._requires_grad is not {requires_grad} or {tn}._node is not None:",
            f"        raise Stale('a tensor of shape {t.shape} read from outside was replaced or changed')",
            f"    {v} = {an}",
        ]
    read = f"{const(what)}.grad.array" if kind == "grad" else f"{const(what[0])}[{what[1]!r}]"
    return [
        f"    {v} = {read}",
        f"    if {layout}:",
        "        raise Stale('a .grad or optimizer state changed layout')",
    ]


def _reusable(fn: Any, kwargs: dict, slot: int, escaping: set[int], tracer: _Tracer) -> bool:
    """Whether a step may write its result into the array it made at trace time, call after call:
    a (numpy or cupy) ufunc's fresh result that never leaves the program."""
    raw = tracer.raws[slot]
    if "out" in kwargs or slot in escaping or tracer.root[slot] != slot:
        return False
    if isinstance(fn, np.ufunc):
        return raw.__class__ is _ndarray and _base_of(raw) is None
    if tracer.device is None:
        return False
    cp = backend.cupy()
    return (isinstance(fn, cp.ufunc) or fn is cp.matmul) and raw.base is None  # cupy's matmul is no ufunc


def _short(value: Any) -> str:
    if isinstance(value, Tensor):
        return "t"
    if isinstance(value, np.ndarray):
        converted = value.ndim == 0 and not value.flags.writeable  # a number converted once (float32_12)
        return f"{value.dtype.name}_" if converted else "c"
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and name.isidentifier():
        return name.strip("_") + "_"
    return "c" if backend.is_device_array(value) else "k"


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN (a guard on a NaN must hold when the NaN comes back)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind in "fc"))
    return bool(a == b or (a != a and b != b))


def _tensor(array: Any, requires_grad: bool, released: bool) -> Tensor:
    """A returned tensor as eager code returns it: after backward(), requires_grad with a freed graph."""
    t = make(array)
    if released:
        t._node, t._requires_grad, t._seq = RELEASED, True, next_seq()
    elif requires_grad:
        t._requires_grad = True
    return t


def _hooks_are(now: dict, then: dict) -> bool:
    """Whether the gradient hooks registered are those of the trace (the same functions, in order)."""
    return now.keys() == then.keys() and all(
        len(now[key]) == len(hooks) and all(map(operator.is_, now[key], hooks)) for key, hooks in then.items()
    )


def _grad_is(t: Tensor, was_none: bool, requires_grad: bool) -> bool:
    return (t.grad is None) is was_none and t._requires_grad is requires_grad
