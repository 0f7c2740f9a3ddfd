"""``minigrad.jit``: capture a training step once, then replay it as a flat program over numpy arrays.

    >>> @minigrad.jit
    ... def step(xb, yb):
    ...     loss = mnist_loss(model(xb), yb)
    ...     loss.backward(); opt.step(); opt.zero_grad()
    ...     return loss

The first call with given inputs runs eagerly (optimizer state gets made). The second runs
eagerly too, while every array operation it performs is recorded: each backend array is
wrapped in a :class:`Traced` array (a numpy subclass), whose ufuncs, numpy functions and
methods are computed on the plain arrays *and* written down as one line of a Python
program. Later calls whose guards hold run that program: no Tensor, no graph, no
ordering; intermediate results are written into buffers kept from call to call.

What a replay could get wrong is guarded, and a failing guard retraces (or, past
:data:`MAX_TRACES` programs, runs eagerly with a warning saying why): the inputs'
shapes, dtypes, strides and ``requires_grad``, the grad mode, the identity of every
tensor read from outside (parameters, closures) and of its array, whether its ``.grad``
is None, the optimizers' hyperparameters, and every Python value read from an array
(``.item()``, ``float(t)``, ``bool(t)``, a NaN check). What can't be captured (random
numbers, a value kept in a Python object, a graph returned to the caller) runs eagerly,
with a warning once. See ``docs/jit.md``.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import sys
import types
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend, versions
from .random import Generator
from .tensor import RELEASED, Tensor, grad_mode, make, next_seq

if TYPE_CHECKING:  # imported when a trace starts (nn and optim come after this module)
    from .nn.module import Module
    from .optim.optimizers import Optimizer

__all__ = ["jit"]

MAX_TRACES = 8  # programs (and retraces) per input signature before running eagerly for good

_ndarray = np.ndarray
_base_of = np.ndarray.base.__get__  # the C-level .base, past Traced's own property


class NotCapturable(Exception):
    """What a trace met that a replay could not reproduce; the call's eager result stands."""


class Stale(Exception):
    """A guard of a captured program failed: this call must be traced (or run) again."""


class Traced(np.ndarray):
    """A numpy array seen by a trace: its operations compute on the plain array and are recorded.

    ``xp`` is the recording stand-in for numpy that :func:`minigrad.backend.array_module`
    hands out for it, so arrays created through it are recorded too.
    """

    _slot: int | None = None
    _raw: Any = None

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return _apply(fn, inputs, kwargs, in_place=bool(kwargs.get("out")) or method == "at")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _apply(func, args, kwargs, in_place="out" in kwargs and kwargs["out"] is not None)

    @property
    def base(self) -> Any:  # type: ignore[override]  # a fresh result is no view, as in eager code
        return None if self._raw is None else self._raw.base

    @property
    def T(self) -> Any:  # type: ignore[override]
        return _apply(np.transpose, (self,), {})

    @property
    def mT(self) -> Any:  # type: ignore[override]
        return _apply(np.swapaxes, (self, -1, -2), {})

    def __repr__(self) -> str:
        return repr(_read_value(np.array, self))

    __str__ = __repr__

    def __iter__(self) -> Any:  # each row through a recorded self[i] (numpy's own yields unseen scalars)
        return (self[i] for i in range(len(self)))


def _method(name: str, in_place: bool = False) -> Callable:
    plain = getattr(np.ndarray, name)

    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        return _apply(plain, (self, *args), kwargs, in_place=in_place)

    method.__name__ = name
    return method


def _reader(name: str) -> Callable:
    plain = getattr(np.ndarray, name)  # a descriptor, which a replay calls as a method (numpy scalars have them too)

    def reader(self: Traced, *args: Any) -> Any:
        return _read_value(plain, self, *args)

    reader.__name__ = name
    return reader


for _name in (
    "reshape", "transpose", "swapaxes", "astype", "copy", "ravel", "flatten", "squeeze", "view", "sum", "mean",
    "max", "min", "prod", "any", "all", "argmax", "argmin", "std", "var", "cumsum", "cumprod", "clip", "dot",
    "round", "repeat", "take", "nonzero", "diagonal", "conj", "argsort", "searchsorted", "compress", "__getitem__",
    "__copy__", "__deepcopy__",
):  # fmt: skip
    setattr(Traced, _name, _method(_name))
for _name in ("__setitem__", "fill", "sort", "put", "partition"):
    setattr(Traced, _name, _method(_name, in_place=True))
for _name in (
    "item",
    "tolist",
    "tobytes",
    "__float__",
    "__int__",
    "__bool__",
    "__index__",
    "__complex__",
    "__contains__",
    "__format__",
):
    setattr(Traced, _name, _reader(_name))
Traced.__hash__ = None  # type: ignore[assignment]


def _refuse(what: str) -> Callable:
    plain = getattr(np.ndarray, what)

    def refuse(self: Traced, *args: Any, **kwargs: Any) -> Any:
        _stop(f"fn uses ndarray.{what} on an array, which minigrad.jit does not record")
        return plain(_plain(self), *args, **kwargs)

    return refuse


for _name in ("resize", "tofile", "dump", "dumps", "__reduce__", "__reduce_ex__", "__setstate__"):
    setattr(Traced, _name, _refuse(_name))


# ---- the recording -------------------------------------------------------------------------------
class _Ref:
    """A slot of the program (an array value) inside the arguments of a step."""

    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k


class _Tracer:
    """What one trace has recorded so far: the slots, the steps, the guards and the effects."""

    def __init__(self, args: tuple, kwargs: dict):
        self.raws: list[Any] = []  # slot -> its plain array at trace time
        self.wrapped: list[Traced] = []  # slot -> the Traced array handed to fn
        self.root: list[int] = []  # slot -> the slot whose memory it is (itself, or what it views)
        self.by_id: dict[int, int] = {}  # id(plain array) -> slot
        self.sources: list[tuple[int, str, Any]] = []  # (slot, kind, what) for arrays fn got from outside
        self.steps: list[tuple] = []  # ("call" | "do", fn, args, kwargs, slots made | written) | ("guard", ...)
        self.keep: list[Any] = []  # arrays whose id() is in by_id, kept alive while tracing
        self.outside: set[int] = set()  # slots whose memory belongs to the caller (inputs, parameters, state)
        self.wrote_outside = False
        self.args = {id(t): i for i, t in enumerate(_tensors_in(args, kwargs))}
        self.created: set[int] = set()  # ids of tensors made during the trace
        self.restore: list[tuple[Tensor, Any]] = []  # (tensor, its plain array), put back at the end
        self.array_set: dict[int, Tensor] = {}  # tensors from outside whose .array fn replaced
        self.grad_read: dict[int, tuple[Tensor, bool, bool]] = {}  # id -> (tensor, .grad was None, requires_grad)
        self.grad_set: dict[int, Tensor] = {}
        self.grad_owner: dict[int, Tensor] = {}  # id(a .grad tensor from outside) -> the tensor it is the grad of
        self.optimizers: dict[int, tuple[Optimizer, tuple, tuple]] = {}
        self.state_set: list[tuple[dict, str, int]] = []
        self.module_reads: dict[tuple[int, str], tuple[Module, str, Any, tuple]] = {}  # (module, name, value, items)
        self.bindings: list[tuple[Any, str | None, Any]] = []  # (closure cell or globals, name, value)

    # -- slots
    def new_slot(self, raw: Any, root: int | None = None) -> Traced:
        k = len(self.raws)
        if root is None:
            root = self._root_of(raw, k)
        wrapped = raw.view(Traced)
        wrapped._slot, wrapped._raw = k, raw
        self.raws.append(raw)
        self.wrapped.append(wrapped)
        self.root.append(root)
        self.by_id[id(raw)] = k
        return wrapped

    def _root_of(self, raw: Any, k: int) -> int:
        base = _base_of(raw)
        while base is not None:
            found = self.by_id.get(id(base))
            if found is not None:
                return self.root[found]
            if isinstance(base, Traced) and base._slot is not None:
                return self.root[base._slot]
            base = _base_of(base)
        return k

    def source(self, raw: Any, kind: str, what: Any) -> Traced:
        wrapped = self.new_slot(raw, len(self.raws))
        slot = wrapped._slot
        assert slot is not None
        self.sources.append((slot, kind, what))
        if kind != "copy":
            self.outside.add(slot)
        return wrapped

    # -- arguments of a step
    def encode(self, x: Any) -> Any:
        cls = x.__class__
        if cls is Traced and x._slot is not None:
            return _Ref(x._slot)
        if cls is tuple or cls is list:
            return cls(self.encode(v) for v in x)
        if cls is dict:
            return {k: self.encode(v) for k, v in x.items()}
        if isinstance(x, np.ndarray):
            return self._untracked(x)
        if isinstance(x, slice):
            return slice(self.encode(x.start), self.encode(x.stop), self.encode(x.step))
        return x

    def _untracked(self, x: np.ndarray) -> Any:
        """An array fn did not get from a recorded step: a view made behind numpy's back
        (``np.ndarray(buffer=...)``, iteration) of a recorded one, or a constant."""
        known = self.by_id.get(id(x))
        if known is not None:
            return _Ref(known)
        base = _base_of(x)
        while base is not None:
            slot = base._slot if isinstance(base, Traced) else self.by_id.get(id(base))
            if slot is not None:
                return _Ref(self._view_of(x, slot))
            base = _base_of(base)
        return x

    def _view_of(self, x: np.ndarray, slot: int) -> int:
        raw = self.raws[slot]
        offset = x.__array_interface__["data"][0] - raw.__array_interface__["data"][0]
        try:
            view = _strided(raw, offset, x.shape, x.strides, x.dtype)
        except (TypeError, ValueError) as e:
            raise NotCapturable(f"fn made a view of an array that minigrad.jit can't rebuild ({e})") from None
        self.steps.append(("call", _strided, (_Ref(slot), offset, x.shape, x.strides, x.dtype), {}, [len(self.raws)]))
        wrapped = self.new_slot(view, self.root[slot])
        self.by_id[id(x)] = len(self.raws) - 1
        self.keep.append(x)
        return wrapped._slot  # type: ignore[return-value]

    def targets(self, args: Any, kwargs: dict) -> list[int]:
        """The slots a step writes into (its first argument, or its out=)."""
        out = kwargs.get("out")
        written = out if isinstance(out, tuple) else (out,) if out is not None else args[:1]
        slots = []
        for w in written:
            ref = self.encode(w)
            if not isinstance(ref, _Ref):
                raise NotCapturable("fn writes into an array minigrad.jit does not track (not read from a tensor)")
            slots.append(ref.k)
        return slots

    def guard(self, fn: Callable, args: tuple, kwargs: dict, value: Any, why: str) -> None:
        """Record that fn(*args, **kwargs) gave `value`, a Python value fn may branch on."""
        if self.wrote_outside:
            raise NotCapturable(
                f"fn reads a value from an array ({why}) after writing in place to an array it was given: "
                "a replay that finds the value changed could not undo the write"
            )
        self.steps.append(("guard", fn, self.encode(args), self.encode(kwargs), value, why))


_tracer: _Tracer | None = None
_failure: str | None = None  # why the running trace was given up


def _plain(x: Any) -> Any:
    """x with every Traced array (also inside tuples, lists and slices) replaced by its plain array."""
    cls = x.__class__
    if cls is Traced:
        return x._raw if x._raw is not None else _ndarray.view(x, _ndarray)
    if cls is tuple or cls is list:
        return cls(_plain(v) for v in x)
    if cls is slice:
        return slice(_plain(x.start), _plain(x.stop), _plain(x.step))
    if cls is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def _stop(reason: str) -> None:
    """Stop recording: fn runs on eagerly (its result stays right), and the trace is given up."""
    global _tracer, _failure
    if _tracer is not None:
        _tracer, _failure = None, reason


def _apply(fn: Callable, args: tuple, kwargs: dict, in_place: bool = False) -> Any:
    """fn on the plain arrays, recorded when a trace is running; its result as Traced arrays."""
    result = fn(*_plain(args), **_plain(kwargs))
    tracer = _tracer
    if tracer is None:
        return result
    try:
        return _record(tracer, fn, args, kwargs, result, in_place or result is None)
    except NotCapturable as e:
        _stop(str(e))
        return result


def _record(tracer: _Tracer, fn: Callable, args: tuple, kwargs: dict, result: Any, in_place: bool) -> Any:
    if in_place:
        targets = tracer.targets(args, kwargs)
        if any(tracer.root[k] in tracer.outside for k in targets):
            tracer.wrote_outside = True
        tracer.steps.append(("do", fn, tracer.encode(args), tracer.encode(kwargs), targets))
        out = kwargs.get("out")
        if result is None or out is None:
            return result
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if isinstance(result, (list, tuple)) and result and all(isinstance(r, np.ndarray) for r in result):
        raws = list(result)
    elif isinstance(result, (np.ndarray, np.generic)):
        raws = [np.asarray(result)]
    else:  # a Python value (np.array_equal, np.shares_memory, ...): fn may branch on it
        tracer.guard(fn, args, kwargs, result, f"{getattr(fn, '__name__', fn)}()")
        return result
    encoded = (tracer.encode(args), tracer.encode(kwargs))
    outs = []
    wrapped = []
    for r in raws:
        known = tracer.by_id.get(id(r))  # np.asarray(x), ascontiguousarray(x): x itself
        if known is not None:
            wrapped.append(tracer.wrapped[known])
            continue
        w = tracer.new_slot(r)
        outs.append(w._slot)
        wrapped.append(w)
    if outs:
        if len(outs) != len(raws):
            raise NotCapturable(f"{getattr(fn, '__name__', fn)}() returned some of its inputs among new arrays")
        tracer.steps.append(("call", fn, *encoded, outs, isinstance(result, (list, tuple))))
    if isinstance(result, (list, tuple)):
        return type(result)(wrapped)
    return wrapped[0]


def _read_value(plain: Callable, array: Traced, *args: Any) -> Any:
    """A Python value read from an array (``item()``, ``float()``, ...): computed, and guarded."""
    value = plain(_plain(array), *_plain(args))
    tracer = _tracer
    if tracer is not None:
        try:
            tracer.guard(plain, (array, *args), {}, value, f"a value read by {plain.__name__}")
        except NotCapturable as e:
            _stop(str(e))
    return value


def _broadcast(x: Any, shape: tuple, strides: tuple) -> Any:
    """np.broadcast_to(x, shape) as the trace found it (a view with these strides), without its checks."""
    if x.__class__ is _ndarray and x.flags.c_contiguous:
        return np.ndarray(shape, x.dtype, x, 0, strides)
    return np.broadcast_to(x, shape)


def _strided(raw: np.ndarray, offset: int, shape: tuple, strides: tuple, dtype: np.dtype) -> np.ndarray:
    """The view of `raw`'s memory at byte `offset` with `shape` and `strides`."""
    return np.ndarray(shape, dtype, raw, offset, strides)


class _RecordingNumpy:
    """numpy as :func:`minigrad.backend.array_module` gives it for a Traced array: creation
    functions (``zeros``, ``ones``, ``full``, ...) are recorded, so a replay makes fresh arrays
    as eager code does; everything else is numpy's own (its ufuncs and functions dispatch
    to Traced by themselves)."""

    _CREATE = ("zeros", "ones", "empty", "full", "arange", "eye", "array", "asarray", "linspace", "identity", "tri")

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if name in self._CREATE:
            value = functools.partial(_create, value)
        setattr(self, name, value)
        return value


def _create(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    if fn is np.asarray and args and args[0].__class__ is Traced and not kwargs and len(args) == 1:
        return args[0]
    return _apply(fn, args, kwargs)


Traced.xp = _RecordingNumpy()  # type: ignore[attr-defined]
Traced.math = backend.BackendMath(Traced.xp)  # type: ignore[attr-defined]
backend.traced_class = Traced


# ---- what the trace changes on Tensor and friends while it runs -----------------------------------
_array_slot = Tensor.__dict__["array"]
_grad_slot = Tensor.__dict__["grad"]


def _get_array(t: Tensor) -> Any:
    a = _array_slot.__get__(t)
    tracer = _tracer
    if tracer is None or a.__class__ is Traced:
        return a
    if a.__class__ is not _ndarray:
        _stop(f"fn reads a {type(a).__module__}.{type(a).__name__} array: minigrad.jit captures numpy arrays only")
        return a
    key = id(t)
    what: Any
    if key in tracer.args:
        kind, what = "arg", tracer.args[key]
    elif key in tracer.grad_owner:
        kind, what = "grad", tracer.grad_owner[key]
    elif key in tracer.created:
        kind, what = "copy", a  # a constant fn made (mg.zeros(3)): a replay makes it afresh
    else:
        kind, what = "tensor", (t, t._requires_grad, a)
    if kind != "copy":
        if t._node is not None:
            _stop(f"fn reads a tensor of shape {t.shape} with a graph recorded outside it")
            return a
        tracer.restore.append((t, a))
    wrapped = tracer.source(a, kind, what)
    _array_slot.__set__(t, wrapped)
    return wrapped


def _set_array(t: Tensor, value: Any) -> None:
    tracer = _tracer
    if tracer is not None:
        try:
            _array_slot.__get__(t)
        except AttributeError:
            tracer.created.add(id(t))  # being made now
        else:
            if id(t) not in tracer.created:
                tracer.array_set[id(t)] = t
    _array_slot.__set__(t, value)


def _get_grad(t: Tensor) -> Any:
    g = _grad_slot.__get__(t)
    tracer = _tracer
    if tracer is not None and id(t) not in tracer.grad_set and id(t) not in tracer.created:
        if id(t) in tracer.args:
            _stop("fn uses the .grad of a tensor passed as an argument (only parameters' grads are captured)")
            return g
        if id(t) not in tracer.grad_read:
            tracer.grad_read[id(t)] = (t, g is None, t._requires_grad)
        if g is not None and id(g) not in tracer.created:
            if g._node is not None or g._requires_grad:
                _stop("fn reads a .grad that has a graph (made with create_graph=True)")
            tracer.grad_owner[id(g)] = t
    return g


def _set_grad(t: Tensor, value: Any) -> None:
    tracer = _tracer
    if tracer is not None and id(t) not in tracer.created:
        if id(t) in tracer.args:
            _stop("fn sets the .grad of a tensor passed as an argument (only parameters' grads are captured)")
        tracer.grad_set[id(t)] = t
    _grad_slot.__set__(t, value)


def _traced_step(original: Callable) -> Callable:
    """Optimizer.step while tracing: guards its hyperparameters and state, and hands it its state's
    arrays as Traced arrays (an entry it replaces becomes an effect of the program)."""

    @functools.wraps(original)
    def step(self: Optimizer) -> None:
        tracer = _tracer
        if tracer is None:
            return original(self)
        states = tuple(self.state.items())
        tracer.optimizers[id(self)] = (self, _hyper(self), tuple((p, st, tuple(st)) for p, st in states))
        before = {(id(st), key): value for _, st in states for key, value in st.items()}
        handed: list[tuple[dict, str, Any, Traced]] = []
        for _, st in states:
            for key, value in st.items():
                if value.__class__ is _ndarray:
                    wrapped = tracer.source(value, "state", (st, key))
                    st[key] = wrapped
                    handed.append((st, key, value, wrapped))
        try:
            original(self)
        finally:
            for st, key, value, wrapped in handed:
                if st[key] is wrapped:
                    st[key] = value
            _settle_state(tracer, self, states, before)

    return step


def _settle_state(tracer: _Tracer, opt: Optimizer, states: tuple, before: dict) -> None:
    """After a traced step: each state entry replaced by a computed array is an effect, put back plain."""
    if len(opt.state) != len(states) or any(len(st) != len(keys) for _, st, keys in tracer.optimizers[id(opt)][2]):
        _stop("the optimizer made new state in this call")
    for _, st in states:
        for key, value in st.items():
            if value.__class__ is Traced:
                if value._slot is not None and _tracer is tracer:
                    tracer.state_set.append((st, key, value._slot))
                st[key] = _plain(value)
            elif value is not before[(id(st), key)] and value.__class__ is not _ndarray:
                _stop(
                    f"the optimizer's state {key!r} is a Python value that changes each step ({value!r}); "
                    "keep it in an array"
                )


def _module_attribute(self: Module, name: str) -> Any:
    """Module.__getattribute__ while tracing: the tensors, sub-modules and registries read are guarded
    (a parameter or layer replaced later makes the program stale)."""
    value: Any = object.__getattribute__(self, name)
    tracer = _tracer
    if tracer is not None and (isinstance(value, (Tensor, _module_class)) or name in _REGISTRIES):
        items = tuple(value.items()) if name in _REGISTRIES else ()
        if self.__dict__.get(name) is value:  # an instance attribute (not a property)
            tracer.module_reads.setdefault((id(self), name), (self, name, value, items))
    return value


_REGISTRIES = ("_parameters", "_modules")
_module_class: Any = None  # minigrad.nn.Module, once a trace has started
_all_finite: Any = None  # minigrad.optim.optimizers._all_finite, once a trace has started


def _hyper(opt: Optimizer) -> tuple:
    return tuple(getattr(opt, k) for k in opt.defaults)


def _traced_all_finite(grad: Any) -> bool:
    finite = _all_finite(_plain(grad))
    tracer = _tracer
    if tracer is not None:
        try:
            tracer.guard(_all_finite, (grad,), {}, finite, "the optimizer's check for NaN and inf gradients")
        except NotCapturable as e:
            _stop(str(e))
    return finite


def _host_copy(array: Any) -> np.ndarray:
    """to_host for values leaving for Python (``Tensor.numpy()``, ``repr``): read, and guarded."""
    if array.__class__ is Traced:
        return _read_value(np.array, array)
    return _to_host(array)


def _host_keep(array: Any) -> Any:
    """backend.to_host while tracing: a Traced array stays one (``tensor(x)`` then copies it, as eagerly)."""
    return array if array.__class__ is Traced else _to_host(array)


def _random(self: Generator) -> Any:
    _stop("fn draws random numbers, which a replay would repeat (draw them outside and pass them in)")
    return self.__dict__["numpy"]


def _set_random(self: Generator, value: Any) -> None:
    self.__dict__["numpy"] = value


def _owner(array: Any) -> Any:
    return _plain_owner(_plain(array))


def _traced_written(array: Any) -> None:
    tracer = _tracer
    if tracer is not None and array.__class__ is Traced:
        tracer.steps.append(("do", _written, (tracer.encode(array),), {}, []))
    _written(_plain(array))


_to_host = backend.to_host
_plain_owner = versions.owner
_written = versions.written


def _patches() -> list[tuple[Any, str, Any]]:
    """(object, attribute, value while tracing) for everything a trace swaps in."""
    global _module_class, _all_finite
    from .nn.module import Module
    from .optim import optimizers
    from .optim.optimizers import Optimizer

    _module_class, _all_finite = Module, optimizers._all_finite
    found: list[tuple[Any, str, Any]] = [
        (Tensor, "array", property(_get_array, _set_array)),
        (Tensor, "grad", property(_get_grad, _set_grad)),
        (Optimizer, "step", _traced_step(Optimizer.step)),
        (Module, "__getattribute__", _module_attribute),
        (optimizers, "_all_finite", _traced_all_finite),
        (backend, "to_host", _host_keep),
        (versions, "owner", _owner),
        (versions, "written", _traced_written),
        (Generator, "numpy", property(_random, _set_random)),
    ]
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("minigrad.") and module is not backend:
            if getattr(module, "to_host", None) is _to_host:
                found.append((module, "to_host", _host_copy))
    return found


# ---- jit ---------------------------------------------------------------------------------------
def _tensors_in(args: tuple, kwargs: dict) -> list[Tensor]:
    return [a for a in (*args, *(kwargs[k] for k in sorted(kwargs))) if isinstance(a, Tensor)]


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What a program is keyed on: each tensor's shape, dtype, strides and autograd status, other
    arguments by value, and the grad mode."""
    parts: list[Any] = [grad_mode.enabled]
    for name, a in itertools.chain(enumerate(args), sorted(kwargs.items())):
        if isinstance(a, Tensor):
            x = _array_slot.__get__(a)
            if x.__class__ is not _ndarray:
                raise NotCapturable(f"a {type(x).__module__} array: minigrad.jit captures numpy arrays only")
            parts.append((name, x.shape, x.dtype, x.strides, a._requires_grad, a._node is None))
        else:
            hash(a)
            parts.append((name, a))
    return tuple(parts)


class Program:
    """One captured call: the generated Python source (``str(program)``) and the function it defines."""

    def __init__(self, source: str, names: dict[str, Any]):
        self.source = source
        exec(compile(source, "<minigrad.jit program>", "exec"), names)  # noqa: S102  # code generated here
        self.run: Callable = names["program"]

    def __str__(self) -> str:
        return self.source


class _Entry:
    """The programs for one input signature, and how often it was called and traced."""

    def __init__(self) -> None:
        self.calls = 0
        self.traces = 0
        self.programs: list[Program] = []
        self.eager_reason: str | None = None


class Jitted:
    """``jit(fn)``: call it as fn. ``program`` is the latest captured :class:`Program` (None before one)."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.program: Program | None = None
        self._entries: dict[tuple, _Entry] = {}
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracer is not None:  # called by a function being traced: its operations are part of that trace
            return self.fn(*args, **kwargs)
        try:
            key = _signature(args, kwargs)
        except NotCapturable as e:
            return self._eager(str(e), args, kwargs)
        except TypeError:
            return self._eager("an argument other than a tensor is not hashable", args, kwargs)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.eager_reason is not None:
            return self._eager(entry.eager_reason, args, kwargs)
        stale = None
        for program in entry.programs:
            try:
                return program.run(*args, **kwargs)
            except Stale as e:
                stale = str(e)
        entry.calls += 1
        if entry.calls == 1:
            return self.fn(*args, **kwargs)  # the first call makes state (optimizer moments) as eager code does
        if entry.traces >= MAX_TRACES:
            entry.eager_reason = f"traced {MAX_TRACES} times and the guards keep failing (last: {stale})"
            return self._eager(entry.eager_reason, args, kwargs)
        entry.traces += 1
        captured, reason, result = _trace(self.fn, args, kwargs)
        if captured is None:
            entry.eager_reason = reason
            self._warn(str(reason))
        else:
            entry.programs.insert(0, captured)
            self.program = captured
        return result

    def _eager(self, reason: str, args: tuple, kwargs: dict) -> Any:
        self._warn(reason)
        return self.fn(*args, **kwargs)

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
            warnings.warn(f"minigrad.jit runs {name} eagerly: {reason}", RuntimeWarning, stacklevel=3)


def jit(fn: Callable) -> Jitted:
    """Capture `fn` (a training step: forward, ``backward()``, an optimizer's ``step()``) and replay it.

    The first call with given inputs runs eagerly, the second is traced, later ones replay
    the captured program while its guards hold: bit-identical to eager execution, without
    the per-op bookkeeping. Tensors passed as arguments are the program's inputs; tensors
    read from elsewhere (parameters) are read by identity and updated in place by the
    optimizer. What can't be captured runs eagerly, with a warning. See ``docs/jit.md``.
    """
    if not callable(fn):
        raise TypeError(f"jit() takes a function, got {type(fn).__name__}")
    return Jitted(fn)


# ---- tracing ----------------------------------------------------------------------------------------
_MISSING = object()


def _trace(fn: Callable, args: tuple, kwargs: dict) -> tuple[Program | None, str | None, Any]:
    """Run fn eagerly while recording it: (the program or None, why not, fn's result)."""
    global _tracer, _failure
    tracer = _tracer = _Tracer(args, kwargs)
    _failure = None
    patches = _patches()
    tracer.bindings = _bindings(fn)
    saved = [(obj, name, obj.__dict__.get(name, _MISSING)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        result = fn(*args, **kwargs)
    finally:
        _tracer = None
        for obj, name, value in reversed(saved):
            if value is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, value)
        effects = _settle(tracer)
    template: list[Any] = []
    result = _unwrapped(result, tracer, template)
    if _failure is not None:
        return None, _failure, result
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
    for t, a in reversed(tracer.restore):
        if id(t) not in tracer.array_set:
            _array_slot.__set__(t, a)
    for t in tracer.array_set.values():
        a = _array_slot.__get__(t)
        if a.__class__ is not Traced or a._slot is None:
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
        if id(g) not in tracer.created or a.__class__ is not Traced or a._slot is None:
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
            if isinstance(value, (Tensor, _module_class, types.FunctionType)):
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
            if a.__class__ is Traced:
                _array_slot.__set__(x, _plain(a))
            if id(x) not in tracer.created:
                return x, (
                    _Problem("fn returns a tensor from outside whose array it replaced")
                    if a.__class__ is Traced
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
            if a.__class__ is not Traced or a._slot is None:
                return x, _Fresh(_plain(a), x._requires_grad)
            slots.append(a._slot)
            return x, _Out(a._slot, x._requires_grad, x._node is RELEASED)
        if x.__class__ is Traced:
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
        if isinstance(x, np.ndarray):
            return x, _Fresh(x, None)
        return x, _Const(x)

    plain, shape = walk(x)
    template.append(shape)
    template.extend(slots)
    return plain


def _problems(template: Any) -> list[str]:
    if isinstance(template, _Problem):
        return [template.reason]
    if isinstance(template, (tuple, list)):
        return [r for v in template for r in _problems(v)]
    if isinstance(template, dict):
        return [r for v in template.values() for r in _problems(v)]
    return []


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


# ---- the program as Python source ---------------------------------------------------------------------
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
            "_optimizer_holds": _optimizer_holds, "_tensors_in": _tensors_in,
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
        if x.__class__ is dict:
            return "{" + ", ".join(f"{k!r}: {self.render(v)}" for k, v in x.items()) + "}"
        return self.const(x)


def _generate(tracer: _Tracer, effects: list, template: Any, escaping: set[int]) -> Program:
    """The program: guards, the arrays it reads, one line per recorded step, the effects, the result."""
    n = _Names()
    n.folded = {k: tracer.raws[k] for k in _constants(tracer, escaping)}
    lines = ["def program(*args, **kwargs):"]
    if tracer.args:
        lines.append("    " + "".join(f"a{i}, " for i in range(len(tracer.args))) + "= _tensors_in(args, kwargs)")
    lines += _guard_lines(tracer, n.const)
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
    return Program("\n".join(lines) + "\n", n.names)


def _guard_lines(tracer: _Tracer, const: Callable[[Any], str]) -> list[str]:
    """The checks a replay starts with: .grad None or not, module attributes, optimizers."""
    lines = []
    for t, was_none, requires_grad in tracer.grad_read.values():
        lines.append(f"    if not _grad_is({const(t)}, {was_none}, {requires_grad}):")
        lines.append("        raise Stale('a .grad (None or not) or requires_grad changed')")
    for module, name, value, items in tracer.module_reads.values():
        tests = [f"{const(module)}.__dict__.get({name!r}) is not {const(value)}"]
        if name in _REGISTRIES:
            tests.append(f"len({const(value)}) != {len(items)}")
            tests += [f"{const(value)}.get({k!r}) is not {const(v)}" for k, v in items]
        lines.append(f"    if {' or '.join(tests)}:")
        lines.append("        raise Stale('a parameter or sub-module of a module was replaced')")
    for holder, key, value in tracer.bindings:
        now = f"{const(holder)}.cell_contents" if key is None else f"{const(holder)}.get({key!r})"
        lines.append(f"    if {now} is not {const(value)}:")
        lines.append(
            "        raise Stale('a tensor, module or function fn reaches through a closure or global was rebound')"
        )
    for opt, hyper, states in tracer.optimizers.values():
        lines.append(f"    if not _optimizer_holds({const(opt)}, {const(hyper)}, {const(states)}):")
        lines.append("        raise Stale('the optimizer\\'s hyperparameters (lr, ...) or state changed')")
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
    if kind == "call" and len(outs) == 1 and _reusable(fn, kwargs, outs[0], escaping, tracer):
        kwargs = {**kwargs, "out": tracer.raws[outs[0]]}
    call = n.call(fn, args, kwargs)
    if kind == "do":
        return [f"    {call}"]
    if listed and listed[0]:
        return [f"    {''.join(f'v{k}, ' for k in outs)}= {call}"]
    return [f"    v{outs[0]} = {call}"]


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
        if _refs((args[1:] if fn in _SHAPE_ONLY else args, kwargs)) <= found:
            found.update(outs)
    return found


_SHAPE_ONLY = (np.ones_like, np.zeros_like, np.full_like)  # their first argument gives only a shape and dtype


def _refs(x: Any) -> set[int]:
    """The slots an encoded argument structure refers to."""
    if x.__class__ is _Ref:
        return {x.k}
    if x.__class__ in (tuple, list):
        return set().union(*(_refs(v) for v in x)) if x else set()
    if x.__class__ is dict:
        return _refs(tuple(x.values()))
    if x.__class__ is slice:
        return _refs((x.start, x.stop, x.step))
    return set()


def _read_source(slot: int, kind: str, what: Any, raw: np.ndarray, const: Callable[[Any], str]) -> list[str]:
    """The lines reading an array the program gets from outside, with the guards it needs."""
    v = f"v{slot}"
    layout = f"{v}.shape != {raw.shape!r} or {v}.dtype != {const(raw.dtype)} or {v}.strides != {raw.strides!r}"
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
    a ufunc's fresh result that never leaves the program."""
    raw = tracer.raws[slot]
    return (
        isinstance(fn, np.ufunc)
        and "out" not in kwargs
        and raw.__class__ is _ndarray
        and _base_of(raw) is None
        and slot not in escaping
        and tracer.root[slot] == slot
    )


def _short(value: Any) -> str:
    if isinstance(value, Tensor):
        return "t"
    if isinstance(value, np.ndarray):
        return "c"
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and name.isidentifier():
        return name.strip("_") + "_"
    return "k"


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


def _grad_is(t: Tensor, was_none: bool, requires_grad: bool) -> bool:
    return (t.grad is None) is was_none and t._requires_grad is requires_grad


def _optimizer_holds(opt: Optimizer, hyper: tuple, states: tuple) -> bool:
    if _hyper(opt) != hyper or len(opt.state) != len(states):
        return False
    return all(opt.state.get(p) is st and len(opt.state[p]) == len(keys) for p, st, keys in states)
