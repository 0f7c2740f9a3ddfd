"""Traced arrays and the tracer that records them.

A trace hands fn its tensors' arrays as :class:`Traced` arrays (a numpy subclass): their ufuncs, numpy
functions and methods compute on the plain arrays and are written down by the running :class:`_Tracer`
as steps of the program, and each Python value read from one as a guard.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend
from ..tensor import Tensor

if TYPE_CHECKING:  # imported when a trace starts (nn and optim come after this package)
    from ..nn.module import Module
    from ..optim.optimizers import Optimizer

_ndarray = np.ndarray
_base_of = np.ndarray.base.__get__  # the C-level .base, past Traced's own property
DeviceTraced: Any = None  # a cupy array seen by a trace (minigrad.jit.device sets it)


class NotCapturable(Exception):
    """What a trace met that a replay could not reproduce; the call's eager result stands."""


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
        self.wrapped: list[Any] = []  # slot -> the Traced (or DeviceTraced) array handed to fn
        self.device: int | None = None  # the GPU of the cupy arrays traced (a program runs on one)
        self.root: list[int] = []  # slot -> the slot whose memory it is (itself, or what it views)
        self.by_id: dict[int, int] = {}  # id(plain array) -> slot
        self.sources: list[tuple[int, str, Any]] = []  # (slot, kind, what) for arrays fn got from outside
        self.steps: list[tuple] = []  # ("call" | "do", fn, args, kwargs, slots made | written) | ("guard", ...)
        self.keep: list[Any] = []  # arrays whose id() is in by_id, kept alive while tracing
        self.outside: set[int] = set()  # slots whose memory belongs to the caller (inputs, parameters, state)
        self.first_write: int | None = None  # the step that first writes into memory fn was given
        self.args = {id(t): i for i, t in enumerate(_tensors_in(args, kwargs))}
        self.only_tensors = not kwargs and len(self.args) == len(args)  # fn(t0, t1, ...): args are the inputs
        self.created: set[int] = set()  # ids of tensors made during the trace
        self.restore: list[Tensor] = []  # tensors from outside whose arrays fn got traced: made plain at the end
        self.array_set: dict[int, Tensor] = {}  # tensors from outside whose .array fn replaced
        self.grad_read: dict[int, tuple[Tensor, bool, bool]] = {}  # id -> (tensor, .grad was None, requires_grad)
        self.grad_set: dict[int, Tensor] = {}
        self.grad_owner: dict[int, Tensor] = {}  # id(a .grad tensor from outside) -> the tensor it is the grad of
        self.optimizers: dict[
            int, tuple[Optimizer, tuple[str, ...], tuple, tuple]
        ] = {}  # (opt, fixed names, values, state)
        self.state_set: list[tuple[dict, str, int]] = []
        self.module_reads: dict[
            tuple[int, str], tuple[Module, str, Any, tuple | None]
        ] = {}  # (module, name, value, items)
        self.bindings: list[tuple[Any, str | None, Any]] = []  # (closure cell or globals, name, value)
        self.scalar_guards: list[tuple[str, tuple, Any]] = []  # (kind, source, value) of hyperparameters read
        self.hooks: dict[int, tuple] = {}  # the gradient hooks registered when the trace began

    # -- slots
    def new_slot(self, raw: Any, root: int | None = None) -> Any:
        k = len(self.raws)
        if root is None:
            root = self._root_of(raw, k)
        if raw.__class__ is _ndarray or not backend.is_device_array(raw):
            wrapped = raw.view(Traced)
            wrapped._slot, wrapped._raw = k, raw
        else:
            wrapped = DeviceTraced(k, raw)
            self._on_device(raw.device.id)
        self.raws.append(raw)
        self.wrapped.append(wrapped)
        self.root.append(root)
        self.by_id[id(raw)] = k
        return wrapped

    def _root_of(self, raw: Any, k: int) -> int:
        if raw.__class__ is not _ndarray and backend.is_device_array(raw):  # a cupy view's base is what owns it
            found = self.by_id.get(id(raw.base))
            return k if found is None else self.root[found]
        base = _base_of(raw)
        while base is not None:
            found = self.by_id.get(id(base))
            if found is not None:
                return self.root[found]
            if isinstance(base, Traced) and base._slot is not None:
                return self.root[base._slot]
            base = _base_of(base)
        return k

    def _on_device(self, device: int) -> None:
        if self.device is None:
            self.device = device
        elif device != self.device:
            _stop(f"fn uses arrays on cuda:{self.device} and cuda:{device}: a program runs on one GPU")

    def source(self, raw: Any, kind: str, what: Any) -> Any:
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
        if (cls is Traced or cls is DeviceTraced) and x._slot is not None:
            return _Ref(x._slot)
        if cls is DeviceTraced:
            return self._device_constant(x._raw)
        if cls is tuple or cls is list:
            return cls(self.encode(v) for v in x)
        if cls is dict:
            return {k: self.encode(v) for k, v in x.items()}
        if isinstance(x, np.ndarray):
            return self._untracked(x)
        if backend.is_device_array(x):
            return self._device_constant(x)
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
            base = _base_of(base) if isinstance(base, np.ndarray) else getattr(base, "base", None)  # as_strided's
        for slot, raw in enumerate(self.raws):  # memory of a recorded array, reached another way: never a constant
            if self.root[slot] == slot and raw.__class__ is _ndarray and np.may_share_memory(x, raw):
                return _Ref(self._view_of(x, slot))
        return x

    def _device_constant(self, x: Any) -> Any:
        """A cupy array fn did not get from a recorded step: a constant, unless it shares memory
        with a recorded one (which a replay could not rebuild)."""
        known = self.by_id.get(id(x))
        if known is not None:
            return _Ref(known)
        if x.base is not None and id(x.base) in self.by_id:
            raise NotCapturable("fn computes on a view of a cupy array made where minigrad.jit can't see it")
        return x

    def _view_of(self, x: np.ndarray, slot: int) -> int:
        root = self.root[slot]  # the array owning the memory (a view's own buffer may not be contiguous)
        raw = self.raws[root]
        offset = x.__array_interface__["data"][0] - _memory(raw).__array_interface__["data"][0]
        try:
            view = _strided(raw, offset, x.shape, x.strides, x.dtype)
        except (TypeError, ValueError) as e:
            raise NotCapturable(f"fn made a view of an array that minigrad.jit can't rebuild ({e})") from None
        self.steps.append(("call", _strided, (_Ref(root), offset, x.shape, x.strides, x.dtype), {}, [len(self.raws)]))
        wrapped = self.new_slot(view, root)
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
        step = ("guard", fn, self.encode(args), self.encode(kwargs), value, why)
        if self.first_write is None:
            self.steps.append(step)
        elif not self._hoisted(step):
            raise NotCapturable(
                f"fn reads a value from an array ({why}) that depends on its in-place writes to arrays it was "
                "given: a replay that finds the value changed could not undo the writes"
            )

    def _hoisted(self, guard: tuple) -> bool:
        """Move the writes into memory fn was given (a batch norm's running mean, say), and the steps
        that must stay after them, to after `guard`, so that a failing guard leaves everything as it
        was; False when the guard reads what they wrote."""
        assert self.first_write is not None
        later: list[tuple] = []  # the writes, and the steps reading what they wrote or writing what they touch
        written: set[int] = set()
        touched: set[int] = set()
        kept: list[tuple] = []
        for step in self.steps[self.first_write :]:
            reads, writes = self._memory_of(step)
            if not later or reads & written or writes & touched:
                later.append(step)
                written |= writes
                touched |= reads | writes
            else:
                kept.append(step)
        if self._memory_of(guard)[0] & written:
            return False
        self.steps[self.first_write :] = [*kept, guard, *later]
        self.first_write += len(kept) + 1
        return True

    def _memory_of(self, step: tuple) -> tuple[set[int], set[int]]:
        """(the memory a step reads, the memory it writes), each as the slots owning it; a call's
        fresh results are written memory, the views it makes are not."""
        reads = {self.root[k] for k in slots_in(step[2:4]) if k != LIVE}
        if step[0] == "guard":
            return reads, set()
        outs = step[4]
        return reads, ({self.root[k] for k in outs} if step[0] == "do" else {k for k in outs if self.root[k] == k})


LIVE = -1  # the slot slots_in gives a hyperparameter read on each replay: never a constant, never hoisted


def slots_in(x: Any) -> set[int]:
    """The slots an encoded argument structure refers to (:data:`LIVE` for a hyperparameter)."""
    cls = x.__class__
    if cls is _Ref:
        return {x.k}
    if cls is scalar_class:
        return {LIVE}
    if cls is tuple or cls is list:
        return set().union(*(slots_in(v) for v in x)) if x else set()
    if cls is dict:
        return slots_in(tuple(x.values()))
    if cls is slice:
        return slots_in((x.start, x.stop, x.step))
    return set()


def _tensors_in(args: tuple, kwargs: dict) -> list[Tensor]:
    return [a for a in (*args, *(kwargs[k] for k in sorted(kwargs))) if isinstance(a, Tensor)]


_tracer: _Tracer | None = None  # the running trace (capture._trace starts and ends it)
scalar_class: Any = None  # .scalars.Scalar, a hyperparameter read during a trace
_failure: str | None = None  # why the running trace was given up


def _plain(x: Any) -> Any:
    """x with every Traced array (also inside tuples, lists and slices) replaced by its plain array."""
    cls = x.__class__
    if cls is Traced:
        return x._raw if x._raw is not None else _ndarray.view(x, _ndarray)
    if cls is DeviceTraced:
        return x._raw
    if cls is tuple or cls is list:
        return cls(_plain(v) for v in x)
    if cls is slice:
        return slice(_plain(x.start), _plain(x.stop), _plain(x.step))
    if cls is dict:
        return {k: _plain(v) for k, v in x.items()}
    if cls is scalar_class:
        return x.value
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
    if tracer is None:  # a trace given up (or an array left from one) runs on eagerly
        if result.__class__ is _ndarray or not backend.is_device_array(result):
            return result
        return DeviceTraced(None, result)  # cupy's own functions would refuse a mix of plain and traced arrays
    try:
        return _record(tracer, fn, args, kwargs, result, in_place or result is None)
    except NotCapturable as e:
        _stop(str(e))
        return result


def _record(tracer: _Tracer, fn: Callable, args: tuple, kwargs: dict, result: Any, in_place: bool) -> Any:
    if in_place:
        targets = tracer.targets(args, kwargs)
        if tracer.first_write is None and any(tracer.root[k] in tracer.outside for k in targets):
            tracer.first_write = len(tracer.steps)
        tracer.steps.append(("do", fn, tracer.encode(args), tracer.encode(kwargs), targets))
        out = kwargs.get("out")
        if result is None or out is None:
            return result
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if isinstance(result, (list, tuple)) and result and all(_is_array(r) for r in result):
        raws = list(result)
    elif isinstance(result, (np.ndarray, np.generic)):
        raws = [np.asarray(result)]
    elif backend.is_device_array(result):
        raws = [result]
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


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or backend.is_device_array(x)


def _read_value(plain: Callable, array: Any, *args: Any) -> Any:
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
    """The view of `raw`'s memory at byte `offset` (from where it starts) with `shape` and `strides`."""
    return np.ndarray(shape, dtype, _memory(raw), offset, strides)


def _memory(raw: np.ndarray) -> np.ndarray:
    """The memory of an array that owns it, as one contiguous run of it (a ufunc's result keeps its
    inputs' layout, batch-last say, which numpy can't take as a buffer)."""
    return raw if raw.flags.c_contiguous else raw.ravel(order="K")


class _RecordingNumpy:
    """numpy as :func:`minigrad.backend.array_module` gives it for a Traced array: creation
    functions (``zeros``, ``ones``, ``full``, ...) are recorded, so a replay makes fresh arrays
    as eager code does, and so are the conversions that ignore ``__array_function__``
    (``ascontiguousarray`` would copy a Traced array into a plain one the program never sees);
    everything else is numpy's own (its ufuncs and functions dispatch to Traced by themselves)."""

    _CREATE = (
        "zeros", "ones", "empty", "full", "arange", "eye", "linspace", "identity", "tri",
        "array", "asarray", "ascontiguousarray", "asfortranarray", "require",  # these take no __array_function__
    )  # fmt: skip

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
