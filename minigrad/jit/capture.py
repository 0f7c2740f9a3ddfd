"""Running fn under a trace: the patches swapped in and out, the effects fn had on tensors from outside,
what it reaches through closures and globals, its result, and what a replay could not reproduce.
"""

from __future__ import annotations

import gc
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd, backend
from ..tensor import RELEASED, Tensor
from . import patches, traced
from .device import DeviceTraced
from .patches import _array_slot, _grad_slot, _patches
from .program import Program, _Const, _Fresh, _generate, _Out, _Problem
from .traced import NotCapturable, Traced, _plain, _Tracer

_MISSING = object()


def _trace(fn: Callable, args: tuple, kwargs: dict) -> tuple[Program | None, str | None, Any]:
    """Run fn eagerly while recording it: (the program or None, why not, fn's result)."""
    tracer = traced._tracer = _Tracer(args, kwargs)
    traced._failure = None
    swaps = _patches()
    tracer.bindings = _bindings(fn)
    tracer.hooks = {key: tuple(hooks) for key, hooks in autograd._hooks.items()}
    saved = [(obj, name, obj.__dict__.get(name, _MISSING)) for obj, name, _ in swaps]
    for obj, name, value in swaps:
        setattr(obj, name, value)
    try:
        result = fn(*args, **kwargs)
    finally:
        traced._tracer = None
        for obj, name, value in reversed(saved):
            if value is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, value)
        effects = _settle(tracer)
    template: list[Any] = []
    result = _unwrapped(result, tracer, template)
    if traced._failure is not None:
        return None, traced._failure, result
    try:
        for problem in [e for e in effects if isinstance(e, str)] + _problems(template[0]):
            raise NotCapturable(problem)
        escaping = {e[2] for e in effects if e[2] is not None} | set(template[1:])
        escaping |= {tracer.root[k] for k in escaping}
        _check_nothing_kept(tracer)
        return _generate(tracer, effects, template[0], escaping), None, result
    except NotCapturable as e:
        return None, str(e), result


def _settle(tracer: _Tracer) -> list:
    """Put plain arrays back where the trace left Traced ones; the effects fn had on tensors from
    outside, as ("array" | "grad", tensor, slot or None), or a string saying why one can't be replayed."""
    effects: list = []
    for t in reversed(tracer.restore):
        if id(t) not in tracer.array_set:  # its array, or what fn set after the trace was given up
            _array_slot.__set__(t, _plain(_array_slot.__get__(t)))
    for t in tracer.array_set.values():
        a = _array_slot.__get__(t)
        if not _is_traced(a):
            effects.append("fn sets a tensor's .data to an array minigrad.jit does not track")
        else:
            effects.append(("array", t, a._slot))
        _array_slot.__set__(t, _plain(a))
    for t in tracer.grad_set.values():
        g = _grad_slot.__get__(t)
        if g is None:
            effects.append(("grad", t, None))
            continue
        a = _array_slot.__get__(g)
        if id(g) not in tracer.created or not _is_traced(a):
            effects.append("fn sets a .grad to a tensor it did not compute")
        elif g._node is not None or g._requires_grad:
            effects.append("fn leaves a .grad with a graph (create_graph=True)")
        else:
            effects.append(("grad", t, a._slot))
        _array_slot.__set__(g, _plain(a))
    effects.extend(("state", (st, key), slot) for st, key, slot in tracer.state_set)
    return effects


def _bindings(fn: Callable) -> list[tuple[Any, str | None, Any]]:
    """The tensors, modules and functions fn reaches through closure cells and global names, following
    the functions it finds (not minigrad's own): (cell, None, value) or (globals, name, value)."""
    found: list[tuple[Any, str | None, Any]] = []
    seen: set[int] = set()
    todo = [getattr(fn, "__func__", fn)]
    while todo and len(seen) < 200:
        f = todo.pop()
        code = getattr(f, "__code__", None)
        if id(f) in seen or code is None or getattr(f, "__module__", "").startswith("minigrad."):
            continue
        seen.add(id(f))
        reached = []
        for cell in f.__closure__ or ():
            try:
                reached.append((cell, None, cell.cell_contents))
            except ValueError:  # a cell not filled yet
                pass
        reached += [(f.__globals__, name, f.__globals__[name]) for name in code.co_names if name in f.__globals__]
        for holder, name, value in reached:
            if isinstance(value, (Tensor, patches._module_class, types.FunctionType)):
                found.append((holder, name, value))
            if isinstance(value, (types.FunctionType, types.MethodType)):
                todo.append(getattr(value, "__func__", value))
    return found


def _unwrapped(x: Any, tracer: _Tracer, template: list) -> Any:
    """fn's result with plain arrays in place of Traced ones; ``template`` gets [how to rebuild it
    on replay, the slots it returns...]."""
    slots: list[int] = []

    def walk(x: Any) -> tuple[Any, Any]:
        if isinstance(x, Tensor):
            a = _array_slot.__get__(x)
            if a.__class__ is Traced or a.__class__ is DeviceTraced:
                _array_slot.__set__(x, _plain(a))
            if id(x) not in tracer.created:
                return x, (
                    _Problem("fn returns a tensor from outside whose array it replaced")
                    if a.__class__ is Traced or a.__class__ is DeviceTraced
                    else _Const(x)
                )
            if _grad_slot.__get__(x) is not None:
                return x, _Problem(
                    "fn returns a tensor it computed that holds a .grad (retain_grad), which a replay can't give"
                )
            if x._node is not None and x._node is not RELEASED:
                return x, _Problem(
                    "fn returns a tensor with a recorded graph, which a replay can't give "
                    "(call backward() inside fn, or return loss.detach())"
                )
            if not _is_traced(a):
                return x, _Fresh(_plain(a), x._requires_grad)
            slots.append(a._slot)
            return x, _Out(a._slot, x._requires_grad, x._node is RELEASED)
        if x.__class__ is Traced or x.__class__ is DeviceTraced:
            if x._slot is None:
                return _plain(x), _Problem("fn returns an array minigrad.jit did not record")
            slots.append(x._slot)
            return _plain(x), _Out(x._slot, None, False)
        if isinstance(x, (tuple, list)):
            walked = [walk(v) for v in x]
            return type(x)(p[0] for p in walked), type(x)(p[1] for p in walked)
        if isinstance(x, dict):
            pairs = {k: walk(v) for k, v in x.items()}
            return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
        if isinstance(x, np.ndarray) or backend.is_device_array(x):
            return x, _Fresh(x, None)
        return x, _Const(x)

    plain, shape = walk(x)
    template.append(shape)
    template.extend(slots)
    return plain


def _is_traced(a: Any) -> bool:
    """Whether `a` is an array the trace recorded (a slot of the program)."""
    return (a.__class__ is Traced or a.__class__ is DeviceTraced) and a._slot is not None


def _problems(template: Any) -> list[str]:
    if isinstance(template, _Problem):
        return [template.reason]
    if isinstance(template, (tuple, list)):
        return [r for v in template for r in _problems(v)]
    if isinstance(template, dict):
        return [r for v in template.values() for r in _problems(v)]
    return []


def _check_nothing_kept(tracer: _Tracer) -> None:
    """Refuse a trace when an array it computed is still held outside what the program knows
    (a tensor kept in a Python object): a replay would not update it."""
    alive = [weakref.ref(w) for w in tracer.wrapped]
    tracer.wrapped.clear()
    tracer.keep.clear()
    gc.collect()
    for ref in alive:
        kept = ref()
        if kept is not None:
            holders = sorted({type(h).__name__ for h in gc.get_referrers(kept)} - {"list"})
            raise NotCapturable(
                f"fn keeps an array it computed (shape {kept.shape}) where minigrad.jit can't see it "
                f"(held by {', '.join(holders) or 'a list'}); a replay would not update it"
            )
