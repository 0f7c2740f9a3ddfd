"""What a trace swaps in while fn runs: Tensor's ``array`` and ``grad``, ``Optimizer.step``, the attributes a
Module reads, the optimizers' NaN check, ``to_host``, version counters, and random numbers (refused).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend, versions
from ..random import Generator
from ..tensor import Tensor
from . import traced
from .scalars import read_live
from .traced import NotCapturable, Traced, _ndarray, _plain, _read_value, _stop, _Tracer

if TYPE_CHECKING:  # imported when a trace starts (nn and optim come after this package)
    from ..nn.module import Module
    from ..optim.optimizers import Optimizer

_array_slot = Tensor.__dict__["array"]
_grad_slot = Tensor.__dict__["grad"]


def _get_array(t: Tensor) -> Any:
    a = _array_slot.__get__(t)
    tracer = traced._tracer
    if tracer is None or a.__class__ is Traced:
        return a
    if a.__class__ is traced.DeviceTraced:
        if a._slot is not None:
            return a
        a = a._raw  # left by a trace given up: its array is read afresh
    if a.__class__ is not _ndarray and not backend.is_device_array(a):
        _stop(f"fn reads a {type(a).__module__}.{type(a).__name__} array: minigrad.jit captures numpy and cupy arrays")
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
        tracer.restore.append(t)
    wrapped = tracer.source(a, kind, what)
    _array_slot.__set__(t, wrapped)
    return wrapped


def _set_array(t: Tensor, value: Any) -> None:
    tracer = traced._tracer
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
    tracer = traced._tracer
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
    tracer = traced._tracer
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
        tracer = traced._tracer
        if tracer is None:  # a trace given up: fn runs on, its state left plain
            original(self)
            for st in self.state.values():
                st.update({key: _plain(value) for key, value in st.items() if value.__class__ is traced.DeviceTraced})
            return None
        states = tuple(self.state.items())
        live = read_live(self)
        fixed = tuple(k for k in self.defaults if k not in live)
        tracer.optimizers[id(self)] = (self, fixed, _hyper(self, fixed), tuple((p, st, tuple(st)) for p, st in states))
        before = {(id(st), key): value for _, st in states for key, value in st.items()}
        handed: list[tuple[dict, str, Any, Traced]] = []
        for _, st in states:
            for key, value in st.items():
                if value.__class__ is _ndarray or backend.is_device_array(value):
                    wrapped = tracer.source(value, "state", (st, key))
                    st[key] = wrapped
                    handed.append((st, key, value, wrapped))
        try:
            original(self)
        finally:
            for name, value in live.items():
                object.__setattr__(self, name, value)
            for st, key, value, wrapped in handed:
                if st[key] is wrapped:
                    st[key] = value
            _settle_state(tracer, self, states, before)

    return step


def _settle_state(tracer: _Tracer, opt: Optimizer, states: tuple, before: dict) -> None:
    """After a traced step: each state entry replaced by a computed array is an effect, put back plain."""
    if len(opt.state) != len(states) or any(len(st) != len(keys) for _, st, keys in tracer.optimizers[id(opt)][3]):
        _stop("the optimizer made new state in this call")
    for _, st in states:
        for key, value in st.items():
            if value.__class__ is Traced or value.__class__ is traced.DeviceTraced:
                if value._slot is not None and traced._tracer is tracer:
                    tracer.state_set.append((st, key, value._slot))
                st[key] = _plain(value)
            elif value is not before[(id(st), key)] and not backend.is_array(value):
                _stop(
                    f"the optimizer's state {key!r} is a Python value that changes each step ({value!r}); "
                    "keep it in an array"
                )


def _optimizer_setattr(self: Optimizer, name: str, value: Any) -> None:
    """Optimizer.__setattr__ while tracing: a hyperparameter set by fn itself (a scheduler's ``step()``
    inside the step) would be set by eager calls only, never by a replay, which runs no Python."""
    if traced._tracer is not None and name in self.__dict__.get("defaults", ()):
        _stop(
            f"fn sets the optimizer's {name} (a learning-rate scheduler's step() inside it?), which a replay "
            "would not do: set it outside the jitted function, before calling it"
        )
    object.__setattr__(self, name, value)


def _module_attribute(self: Module, name: str) -> Any:
    """Module.__getattribute__ while tracing: the tensors, sub-modules and registries read are guarded
    by identity (a parameter or layer replaced later makes the program stale), the settings read
    (``training``, ``eps``, ``stride``: numbers, strings, tuples of them) by value (items None)."""
    value: Any = object.__getattribute__(self, name)
    tracer = traced._tracer
    if tracer is not None and _instance_dict(self).get(name, _MISSING) is value:  # an instance attribute
        if isinstance(value, (Tensor, _module_class)) or name in _REGISTRIES:
            items = tuple(value.items()) if name in _REGISTRIES else ()
            tracer.module_reads.setdefault((id(self), name), (self, name, value, items))
        elif _setting(value):
            tracer.module_reads.setdefault((id(self), name), (self, name, value, None))
    return value


_MISSING = object()


def _instance_dict(module: Module) -> dict:
    return object.__getattribute__(module, "__dict__")


def _setting(value: Any) -> bool:
    """Whether a module's attribute is a plain setting: None, a number, a string, or a tuple of them."""
    if value.__class__ is tuple:
        return all(_setting(v) for v in value)
    return value is None or value.__class__ in (bool, int, float, str)


_REGISTRIES = ("_parameters", "_modules")
_module_class: Any = None  # minigrad.nn.Module, once a trace has started
_all_finite: Any = None  # minigrad.optim.optimizers._all_finite, once a trace has started


def _hyper(opt: Optimizer, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(opt, k) for k in names)


def _traced_all_finite(grad: Any) -> bool:
    finite = _all_finite(_plain(grad))
    tracer = traced._tracer
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
    tracer = traced._tracer
    if tracer is not None and (array.__class__ is Traced or array.__class__ is traced.DeviceTraced):
        tracer.steps.append(("do", _written, (tracer.encode(array),), {}, []))
    _written(_plain(array))


_to_host = backend.to_host
_plain_owner = versions.owner
_written = versions.written


def _patches() -> list[tuple[Any, str, Any]]:
    """(object, attribute, value while tracing) for everything a trace swaps in."""
    global _module_class, _all_finite
    from ..nn.module import Module
    from ..optim import optimizers
    from ..optim.optimizers import Optimizer

    _module_class, _all_finite = Module, optimizers._all_finite
    found: list[tuple[Any, str, Any]] = [
        (Tensor, "array", property(_get_array, _set_array)),
        (Tensor, "grad", property(_get_grad, _set_grad)),
        (Optimizer, "step", _traced_step(Optimizer.step)),
        (Optimizer, "__setattr__", _optimizer_setattr),
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
