"""Module and Parameter: the containers that hold a model's weights, as in PyTorch.

A *parameter* is a plain leaf :class:`~minigrad.Tensor`, not a subclass: the ops' fast
paths test ``x.__class__ is Tensor``, so a subclass would be slower everywhere. What
makes a tensor a parameter is where it is put: assigning a tensor to an attribute of a
module registers it (in assignment order) when it is

* a leaf tensor with ``requires_grad=True``, or
* made by :func:`Parameter` (even with ``requires_grad=False``: a frozen parameter
  still belongs to ``parameters()`` and ``state_dict()``).

Any other tensor (one without gradient, or the result of an op) stays a plain attribute,
unless :meth:`Module.register_buffer` made its name a *buffer*: state that is not trained
but is saved and loaded with the model (batch norm's running statistics). Sub-modules
assigned as attributes are registered the same way. As in PyTorch, ``named_parameters()``
and ``named_buffers()`` walk the tree depth first: a module's own tensors (in assignment
order) come before those of its sub-modules.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..backend import copied, device_context, is_array, parse_device, to_device
from ..tensor import Tensor, tensor

__all__ = ["Module", "Parameter", "is_parameter", "IncompatibleKeys"]

# id -> weak reference of each tensor made by Parameter(). Not a WeakSet: that compares
# tensors with ==, which is elementwise for tensors.
_made_by_parameter: dict[int, weakref.ref] = {}


def _mark(t: Tensor) -> None:
    key = id(t)
    _made_by_parameter[key] = weakref.ref(t, lambda _: _made_by_parameter.pop(key, None))


def _marked(t: Tensor) -> bool:
    ref = _made_by_parameter.get(id(t))
    return ref is not None and ref() is t


def Parameter(data, requires_grad: bool = True) -> Tensor:
    """A new leaf tensor holding a copy of `data`, marked as a module parameter.

    `data` may be a tensor (its device and dtype are kept), a numpy/cupy array or
    nested Python numbers (floats become float32). It must be a float: only float
    tensors can require gradients.
    """
    if isinstance(data, Tensor):
        array = copied(data.array)
    elif is_array(data):
        array = np.array(data) if isinstance(data, np.generic) else copied(data)
    else:
        array = tensor(data).array
    if array.dtype.kind != "f":
        raise TypeError(f"Parameter needs float data (only floats can be trained), got dtype {array.dtype}")
    t = Tensor(array, requires_grad=requires_grad)
    _mark(t)
    return t


def is_parameter(value) -> bool:
    """Whether assigning `value` to a module attribute registers it as a parameter."""
    return isinstance(value, Tensor) and value.is_leaf and (value.requires_grad or _marked(value))


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclass it, assign parameters and sub-modules
    in ``__init__`` (after ``super().__init__()``), and define ``forward``.

        >>> class Net(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
    """

    _parameters: OrderedDict[str, Tensor | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent: set[str]
    _modules: OrderedDict[str, Module]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registering attributes -------------------------------------------------------
    def _registries(self) -> tuple[OrderedDict, OrderedDict]:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign parameters or modules before {type(self).__name__}.__init__() "
                "has called super().__init__()"
            )
        return d["_parameters"], d["_modules"]

    def __setattr__(self, name: str, value: Any) -> None:
        # parameters and sub-modules live in their registry (for order and walking the tree)
        # and, for plain fast attribute reads, in the instance dict too
        if isinstance(value, Module) or is_parameter(value):
            params, modules = self._registries()
            self.__dict__["_buffers"].pop(name, None)
            (modules if isinstance(value, Module) else params)[name] = value
            (params if isinstance(value, Module) else modules).pop(name, None)
            object.__setattr__(self, name, value)
            return
        d = self.__dict__
        params, modules = d.get("_parameters", {}), d.get("_modules", {})
        buffers = d.get("_buffers", {})
        if name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} to buffer {name!r} of {type(self).__name__}: "
                    "expected a Tensor or None"
                )
            buffers[name] = value
        elif name in params or name in modules:
            kind = "parameter" if name in params else "sub-module"
            if value is not None:
                expected = (
                    "a leaf tensor requiring grad (see minigrad.nn.Parameter)" if kind == "parameter" else "a Module"
                )
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {kind} {name!r} of {type(self).__name__}: "
                    f"expected {expected} or None (to load values, use load_state_dict)"
                )
            params.pop(name, None)
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            d.get(registry, {}).pop(name, None)
        d.get("_non_persistent", set()).discard(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, value: Tensor | None) -> None:
        """Register `value` (a leaf float tensor, requiring grad or not) as parameter `name`."""
        if value is not None:
            if not isinstance(value, Tensor) or not value.is_leaf or value.dtype.kind != "f":
                raise TypeError(f"parameter {name!r} must be a leaf float tensor, got {value!r:.80}")
            _mark(value)
        setattr(self, name, value)

    def register_buffer(self, name: str, value: Tensor | None, persistent: bool = True) -> None:
        """Register `value` as buffer `name`: a tensor the module keeps (``self.<name>``) and moves
        with ``to()``, but does not train; with `persistent` it is in ``state_dict()`` too."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got {type(value).__name__}")
        d = self.__dict__
        if "_buffers" not in d:
            raise AttributeError(
                f"cannot register buffers before {type(self).__name__}.__init__() has called super().__init__()"
            )
        if name in d["_parameters"] or name in d["_modules"] or (name in d and name not in d["_buffers"]):
            raise KeyError(f"attribute {name!r} already exists in {type(self).__name__}")
        d["_buffers"][name] = value
        (d["_non_persistent"].discard if persistent else d["_non_persistent"].add)(name)
        object.__setattr__(self, name, value)

    # ---- running ---------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- walking the tree ----------------------------------------------------------------
    def named_modules(self, prefix: str = "", _seen: set | None = None) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (name `prefix`) and every descendant, each once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once, depth first in registration order."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct sub-modules, each module once."""
        seen = set()
        for name, child in self._modules.items():
            if id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter), e.g. ``("0.weight", ...)``; a shared parameter comes once
        (under its first name) unless `remove_duplicate` is False."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        if not remove_duplicate:
            modules = _all_paths(self, prefix) if recurse else modules
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if p is None:
                    continue
                if remove_duplicate:
                    if id(p) in seen:
                        continue
                    seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every parameter, once each, in registration order (a generator)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer), e.g. ``("1.running_mean", ...)``, each buffer once."""
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix) if recurse else [(prefix, self)]:
            for name, b in module._buffers.items():
                if b is not None and id(b) not in seen:
                    seen.add(id(b))
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, once each, in registration order (a generator)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients -----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all its descendants; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``)."""
        for p in self.parameters():
            p.grad = None

    def to(self, device: str | None = None, dtype=None) -> Module:
        """Move (and/or cast to a float `dtype`) every parameter and its gradient, and every buffer
        (only float buffers are cast), in place: the tensor objects are kept, so an optimizer
        holding them keeps working (its state follows at its next step)."""
        if device is not None:
            device = "cpu" if parse_device(device)[0] == "cpu" else str(device)
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise TypeError(f"Module.to: parameters must stay float, got dtype {np.dtype(dtype)}")
        tensors = [t for p in self.parameters() for t in (p, p.grad) if t is not None]
        for t in [*tensors, *self.buffers()]:
            data = t.array
            if device is not None:
                data = to_device(data, device)
            if dtype is not None and data.dtype.kind == "f":  # integer buffers (counts) keep their dtype
                with device_context(data):
                    data = data.astype(dtype, copy=False)
            t.array = data
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: int | str = 0) -> Module:
        """``to("cuda:N")``: every parameter, gradient and buffer moved to GPU `device`."""
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """name -> a detached copy of each parameter and persistent buffer (a snapshot: later
        training does not change it), module by module, parameters before buffers as in
        PyTorch. A tensor shared by two sub-modules appears under both names."""
        return OrderedDict((name, Tensor(copied(t.array))) for name, t in self._state_tensors())

    def _state_tensors(self) -> Iterator[tuple[str, Tensor]]:
        """(name, tensor) of what ``state_dict`` holds, the tensors themselves."""
        for mod_name, module in _all_paths(self, ""):
            buffers = ((k, b) for k, b in module._buffers.items() if k not in module._non_persistent)
            for name, t in (*module._parameters.items(), *buffers):
                if t is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), t

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy the values of `state` (name -> tensor or array) into the parameters and buffers.

        The tensor objects are kept (an optimizer holding them keeps working); values
        are cast to each one's dtype and moved to its device. Everything is checked
        before anything is copied: a shape mismatch is always an error, and with `strict`
        so are missing and unexpected keys. Returns the missing and unexpected keys.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of name -> tensor, got {type(state).__name__}")
        own = OrderedDict(self._state_tensors())
        buffers = {id(b) for b in self.buffers()}
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected key(s) in state_dict: " + ", ".join(map(repr, unexpected)))
        arrays = {}
        for name, p in own.items():
            if name in state:
                array = _loadable(name, state[name], p, "buffer" if id(p) in buffers else "parameter")
                if isinstance(array, str):
                    problems.append(array)
                else:
                    arrays[name] = array
        if problems:
            raise RuntimeError(f"error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems))
        for name, array in arrays.items():
            p = own[name]
            with device_context(array):  # cast where the value is, then copy onto the parameter's device
                cast = array.astype(p.dtype, copy=False)
            p.array = to_device(cast, p.device, copy=cast is array)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its parentheses in the repr."""
        return ""

    def __repr__(self) -> str:
        """The layer's settings and, indented, its sub-modules; one already being printed (a module
        that contains itself) is shown as ``Name(<cycle>)``."""
        key = (id(self), threading.get_ident())
        name = type(self).__name__
        if key in _being_printed:
            return f"{name}(<cycle: printed above>)"
        _being_printed.add(key)
        try:
            lines = [line for line in self.extra_repr().split("\n") if line]
            for child_name, child in self._modules.items():
                lines.append(f"({child_name}): " + repr(child).replace("\n", "\n  "))
        finally:
            _being_printed.discard(key)
        if not lines:
            return f"{name}()"
        if len(lines) == 1 and not self._modules:
            return f"{name}({lines[0]})"
        return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


def _loadable(name: str, value: Any, target: Tensor, kind: str) -> Any:
    """The array of `value` to load into `target` (a `kind`, named `name`), or the reason it can't be."""
    if isinstance(value, Tensor):
        array = value.array
    elif is_array(value):
        array = value
    else:
        return f"{name!r}: expected a tensor or an array, got {type(value).__name__}"
    if tuple(array.shape) != target.shape:
        return (
            f"size mismatch for {name!r}: the state has shape {tuple(array.shape)}, "
            f"the {kind} in the model has shape {target.shape}"
        )
    if array.dtype.kind not in "biuf":
        return f"{name!r}: can't load dtype {array.dtype} into a {target.dtype} {kind}"
    return array


_being_printed: set[tuple[int, int]] = set()  # (module id, thread id) of the reprs under way


def _all_paths(module: Module, prefix: str, ancestors: tuple = ()) -> Iterator[tuple[str, Module]]:
    """(dotted name, module) for every path to every module: a shared module once per path."""
    if any(a is module for a in ancestors):
        raise RuntimeError(f"module {prefix!r} contains itself: a module tree can't have cycles")
    yield prefix, module
    for name, child in module._modules.items():
        yield from _all_paths(child, f"{prefix}.{name}" if prefix else name, ancestors + (module,))
