"""``jit(fn)``: calls keyed on their inputs' signature; the first runs eagerly, the second is traced, later
ones replay the captured program while its guards hold (a failing guard retraces, :data:`MAX_TRACES`
times at most, then fn runs eagerly with a warning saying why).
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable
from typing import Any

from ..backend import is_device_array
from ..tensor import Tensor, grad_mode
from . import traced
from .capture import _trace
from .patches import _array_slot
from .program import Program, Stale
from .traced import NotCapturable, _ndarray

MAX_TRACES = 8  # programs (and retraces) per input signature before running eagerly for good


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What a program is keyed on: each tensor's shape, dtype, strides, autograd status and GPU (if on
    one), other arguments by value, and the grad mode."""
    parts: list[Any] = [grad_mode.enabled]
    for name, a in itertools.chain(enumerate(args), sorted(kwargs.items())) if kwargs else enumerate(args):
        if isinstance(a, Tensor):
            x = _array_slot.__get__(a)
            if x.__class__ is not _ndarray:
                if not is_device_array(x):
                    raise NotCapturable(f"a {type(x).__module__} array: minigrad.jit captures numpy and cupy arrays")
                parts.append(x.device.id)  # a program runs on its inputs' GPU
            parts.append((name, x.shape, x.dtype, x.strides, a._requires_grad, a._node is None))
        else:
            hash(a)
            parts.append((name, a))
    return tuple(parts)


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
        if traced._tracer is not None:  # called by a function being traced: its operations are part of that trace
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
