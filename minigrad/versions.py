"""Version counters: knowing that memory an op saved for backward was written in place since.

As in PyTorch, an in-place op bumps the version of the memory it writes to, shared by
every tensor viewing that memory. Here the memory is the array that owns it (numpy's and
cupy's ``.base``), so every view shares its base's counter, whichever op made the view.
Each write is also stamped with the time it happened, on the clock that numbers the
graph's nodes (``Tensor._seq``): an array saved by a node was modified after the op ran
exactly when its stamp is later than the node's number. :mod:`minigrad.autograd` checks
that, for the arrays each gradient formula reads, before using them.
"""

from __future__ import annotations

import dis
import weakref
from collections.abc import Callable
from typing import Any

from .tensor import next_seq

last_write = -1  # the stamp of the latest in-place write anywhere: backward checks nothing older
_stamps: dict[int, tuple[Any, int, int]] = {}  # id(owner) -> (reference to it, version, stamp)


def owner(array: Any) -> Any:
    """The object that owns `array`'s memory (the array itself, or the base it is a view of)."""
    while True:
        base = getattr(array, "base", None)
        if base is None:
            return array
        array = base


def written(array: Any) -> None:
    """Record an in-place write to `array`'s memory: bump its version, stamp it now."""
    global last_write
    memory = owner(array)
    key = id(memory)
    entry = _stamps.get(key)
    if entry is not None and _alive(entry[0]) is memory:
        version = entry[1] + 1
        reference = entry[0]
    else:
        version = 1
        reference = _reference(memory, key)
    last_write = next_seq()
    _stamps[key] = (reference, version, last_write)


def version(array: Any) -> int:
    """How many in-place writes `array`'s memory has had (PyTorch's ``Tensor._version``)."""
    entry = _lookup(array)
    return 0 if entry is None else entry[1]


def written_since(array: Any, seq: int) -> bool:
    """Whether `array`'s memory was written in place after the node numbered `seq` was made."""
    entry = _lookup(array)
    return entry is not None and entry[2] > seq


def _lookup(array: Any) -> tuple[Any, int, int] | None:
    memory = owner(array)
    entry = _stamps.get(id(memory))
    return entry if entry is not None and _alive(entry[0]) is memory else None


def _reference(memory: Any, key: int) -> Any:
    """A weak reference that forgets the entry when the memory is freed (a plain one if the
    owner can't be weakly referenced; it then lives as long as the entry)."""
    try:
        return weakref.ref(memory, lambda _: _stamps.pop(key, None))
    except TypeError:
        return memory


def _alive(reference: Any) -> Any:
    return reference() if isinstance(reference, weakref.ref) else reference


# ---- what a gradient formula reads --------------------------------------------------------
_READS: dict[Any, tuple[bool, frozenset[int] | None]] = {}


def reads(formula: Callable) -> tuple[bool, frozenset[int] | None]:
    """(whether `formula` reads `out`, the indices of the inputs it reads, None for all).

    Found once per formula's code from the names it loads: ``formula(ops, g, out, *inputs)``
    uses a saved value only if it reads that parameter. Anything that is not a plain
    function is taken to read everything.
    """
    code = getattr(formula, "__code__", None)
    if code is None:
        return True, None
    found = _READS.get(code)
    if found is None:
        found = _READS[code] = _parameters_read(code)
    return found


def _parameters_read(code: Any) -> tuple[bool, frozenset[int] | None]:
    loaded = set(code.co_cellvars)  # parameters an inner function captures are read there
    for instruction in dis.get_instructions(code):
        if instruction.opname.startswith("LOAD_"):
            names = instruction.argval
            loaded.update(names if isinstance(names, tuple) else (names,))
    params = code.co_varnames[: code.co_argcount]
    if code.co_flags & 0x04 and code.co_varnames[code.co_argcount] in loaded:  # *inputs, read
        return len(params) > 2 and params[2] in loaded, None
    inputs = frozenset(i for i, name in enumerate(params[3:]) if name in loaded)
    return len(params) > 2 and params[2] in loaded, inputs
