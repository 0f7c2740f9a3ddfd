"""Traced arrays on a GPU: :class:`DeviceTraced`, a proxy holding a cupy array while a trace runs.

cupy's ndarray is no numpy subclass, so the trick of :class:`~.traced.Traced` (a subclass viewing the
same memory) doesn't carry over. A DeviceTraced forwards what describes the array (shape, dtype,
device, ...) and sends everything that computes through :func:`~.traced._apply`, which runs cupy's
own operator, method or function on the plain array and records it: operators as cupy's ufuncs (a
replay can then write into a kept buffer with ``out=``), methods and array-valued properties as
cupy's, values read (``item()``, ``get()``, ``bool()``, ...) as guards. cupy's functions don't
dispatch on a proxy, so its ``xp`` records *every* cupy function called through it. The methods are
made when cupy is first imported (:func:`minigrad.backend.when_cupy_loads`): the CPU path pays nothing.
"""

from __future__ import annotations

import functools
import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from . import traced
from .traced import _apply, _ndarray, _read_value, _stop


class DeviceTraced:
    """A cupy array seen by a trace (slot `_slot` of the program, None once the trace was given up;
    plain array `_raw`).

    ``xp`` is the recording stand-in for cupy that :func:`minigrad.backend.array_module` hands out for it.
    """

    __slots__ = ("_slot", "_raw", "__weakref__")
    __array_priority__ = 1000  # above cupy's 100: a cupy array's operators leave a DeviceTraced operand to it
    __hash__ = None  # type: ignore[assignment]
    xp: Any = None
    math: Any = None

    def __init__(self, slot: int | None, raw: Any):
        self._slot, self._raw = slot, raw

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """A numpy ufunc given a DeviceTraced runs cupy's of the same name, as numpy's does on a cupy array."""
        fn = getattr(backend.cupy(), ufunc.__name__, None)
        if fn is None:
            return NotImplemented
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = out[0] if len(out) == 1 else out
        if method != "__call__":
            fn = getattr(fn, method)
        return _apply(fn, inputs, kwargs, in_place=out is not None or method == "at")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """A numpy function given a DeviceTraced runs cupy's of the same name (recorded), as cupy's arrays do."""
        try:
            fn = functools.reduce(getattr, [*func.__module__.split(".")[1:], func.__name__], DeviceTraced.xp)
        except AttributeError:
            return NotImplemented
        return fn(*args, **kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._raw.__array__(*args, **kwargs)  # cupy refuses an implicit copy to the host

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Any:  # each row through a recorded self[i]
        return (self[i] for i in range(len(self)))  # type: ignore[index]  # __getitem__ is made with cupy

    @property
    def base(self) -> Any:
        return self._raw.base

    def __getattr__(self, name: str) -> Any:
        """Attributes cupy arrays have that a trace does not record: the trace is given up, fn runs on."""
        if name.startswith("__"):  # protocols probed with hasattr (__cuda_array_interface__, ...)
            raise AttributeError(name)
        value = getattr(self._raw, name)
        _stop(f"fn uses cupy.ndarray.{name} on an array, which minigrad.jit does not record")
        return value


_METADATA = ("shape", "dtype", "ndim", "size", "strides", "device", "itemsize", "nbytes", "flags")
_METHODS = (
    "reshape", "transpose", "swapaxes", "astype", "copy", "ravel", "flatten", "squeeze", "view", "sum", "mean",
    "max", "min", "prod", "any", "all", "argmax", "argmin", "std", "var", "cumsum", "cumprod", "clip", "dot",
    "round", "repeat", "take", "nonzero", "diagonal", "conj", "conjugate", "argsort", "argpartition", "searchsorted",
    "compress", "ptp", "trace", "__getitem__", "__copy__", "__deepcopy__",
)  # fmt: skip
_IN_PLACE = ("__setitem__", "fill", "sort", "partition", "put", "scatter_add")
_READERS = (
    "item", "get", "tolist", "tobytes", "__float__", "__int__", "__bool__", "__index__", "__complex__",
    "__contains__", "__format__", "__repr__", "__str__",
)  # fmt: skip
_VIEWS = ("T", "mT", "real", "imag")  # array-valued properties
_BINARY = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide", "floordiv": "floor_divide",
    "mod": "remainder", "pow": "power", "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
    "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift",
}  # fmt: skip
_COMPARE = {"lt": "less", "le": "less_equal", "eq": "equal", "ne": "not_equal", "gt": "greater", "ge": "greater_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}
# cupy functions that describe arrays or dtypes without reading their values: called on the plain arrays, unrecorded
_DESCRIBE = ("result_type", "can_cast", "min_scalar_type", "promote_types", "ndim", "shape", "size", "isscalar")


def _operand(x: Any) -> bool:
    """Whether a cupy operator takes x (else the other operand's reflected method gets its turn)."""
    return x.__class__ is DeviceTraced or isinstance(x, (numbers.Number, np.generic, _ndarray, backend.cupy().ndarray))


def _operator(ufunc: Any, reflected: bool = False, in_place: bool = False) -> Callable:
    def op(self: DeviceTraced, other: Any) -> Any:
        if not _operand(other):
            return NotImplemented
        if in_place:
            return _apply(ufunc, (self, other), {"out": self}, in_place=True)
        return _apply(ufunc, (other, self) if reflected else (self, other), {})

    return op


def _unary(ufunc: Any) -> Callable:
    return lambda self: _apply(ufunc, (self,), {})


def _method(plain: Any, in_place: bool = False) -> Callable:
    def method(self: DeviceTraced, *args: Any, **kwargs: Any) -> Any:
        return _apply(plain, (self, *args), kwargs, in_place=in_place or kwargs.get("out") is not None)

    return method


def _view(name: str) -> property:
    def get(array: Any) -> Any:
        return getattr(array, name)

    get.__name__ = name
    return property(lambda self: _apply(get, (self,), {}))


def _reader(plain: Any) -> Callable:
    return lambda self, *args: _read_value(plain, self, *args)


class _RecordingUfunc:
    """A cupy ufunc as the recording cupy gives it: calls (and ``at``, ``reduce``, ...) recorded with the
    ufunc itself, so a replay can pass it ``out=``."""

    def __init__(self, ufunc: Any):
        self.ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _apply(self.ufunc, args, kwargs, in_place=kwargs.get("out") is not None)

    def at(self, *args: Any) -> Any:
        return _apply(self.ufunc.at, args, {}, in_place=True)

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return _apply(self.ufunc.reduce, args, kwargs, in_place=kwargs.get("out") is not None)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return _apply(self.ufunc.accumulate, args, kwargs, in_place=kwargs.get("out") is not None)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return _apply(self.ufunc.outer, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ufunc, name)


class _RecordingCupy:
    """cupy (or its ``linalg`` and ``fft``) as :func:`minigrad.backend.array_module` gives it for a
    DeviceTraced array: every function is recorded (cupy's functions don't dispatch on a proxy), its
    ufuncs as :class:`_RecordingUfunc`; dtypes, classes and other submodules are cupy's own."""

    def __init__(self, module: Any):
        self._module = module

    def __getattr__(self, name: str) -> Any:
        cp = backend.cupy()
        value = getattr(self._module, name)
        if isinstance(value, cp.ufunc):
            value = _RecordingUfunc(value)
        elif self._module is cp and name in ("linalg", "fft"):
            value = _RecordingCupy(value)
        elif name == "asnumpy":
            value = _asnumpy
        elif name in _DESCRIBE:
            value = functools.partial(_described, value)
        elif callable(value) and not isinstance(value, type):
            value = functools.partial(_call, value)
        setattr(self, name, value)
        return value


def _call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    return _apply(fn, args, kwargs, in_place=kwargs.get("out") is not None)


def _described(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    return fn(*traced._plain(args), **traced._plain(kwargs))


def _asnumpy(array: Any, *args: Any, **kwargs: Any) -> Any:
    """cupy.asnumpy: a copy on the host, a value read (guarded) from a traced array."""
    asnumpy = backend.cupy().asnumpy
    if array.__class__ is DeviceTraced:
        return _read_value(asnumpy, array, *args)
    return asnumpy(array, *args, **kwargs)


def _install() -> None:
    """DeviceTraced's methods, operators and recording cupy, from the cupy just imported."""
    cp = backend.cupy()
    nd = cp.ndarray
    for name in _METADATA:
        setattr(DeviceTraced, name, property(operator.attrgetter(f"_raw.{name}")))
    for name in _VIEWS:
        setattr(DeviceTraced, name, _view(name))
    for names, in_place in ((_METHODS, False), (_IN_PLACE, True)):
        for name in names:
            if hasattr(nd, name):
                setattr(DeviceTraced, name, _method(getattr(nd, name), in_place))
    for name in _READERS:
        if hasattr(nd, name):
            setattr(DeviceTraced, name, _reader(getattr(nd, name)))
    for table in (_BINARY, _COMPARE):
        for op, ufunc_name in table.items():
            ufunc = getattr(cp, ufunc_name)
            setattr(DeviceTraced, f"__{op}__", _operator(ufunc))
            if table is _BINARY:
                setattr(DeviceTraced, f"__r{op}__", _operator(ufunc, reflected=True))
            if table is _BINARY and op != "matmul":  # cupy's arrays have no @=
                setattr(DeviceTraced, f"__i{op}__", _operator(ufunc, in_place=True))
    for op, ufunc_name in _UNARY.items():
        setattr(DeviceTraced, f"__{op}__", _unary(getattr(cp, ufunc_name)))
    DeviceTraced.xp = _RecordingCupy(cp)
    DeviceTraced.math = backend.BackendMath(DeviceTraced.xp)


backend.device_traced_class = traced.DeviceTraced = DeviceTraced
backend.when_cupy_loads(_install)
