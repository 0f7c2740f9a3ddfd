"""The two array backends behind one code path: numpy on the CPU, cupy on a CUDA GPU.

Only this module tells numpy from cupy. Everything else asks it: :func:`array_module`
for the functions that work on an array, :func:`is_host` for "is this a numpy array",
:func:`to_device` / :func:`to_host` to move arrays. cupy is imported only when a CUDA
device is asked for, so the CPU path never pays for GPU support.

Gradient formulas compute with an :class:`ArrayMath`: :class:`BackendMath` on raw arrays,
or :mod:`minigrad.ops` itself when the gradient must be differentiable (``create_graph``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from . import arraymath

CUDA_EXTRA_HINT = "install cupy for your CUDA version: pip install 'minigrad[cuda12]' or 'minigrad[cuda13]'"

_ndarray = np.ndarray
_HOST_TYPES = (np.ndarray, np.generic)
_cupy: Any = None  # the cupy module once a CUDA device has been used
_on_first_cupy: list[Callable[[], None]] = []  # run once, when cupy is first imported
traced_class: Any = None  # minigrad.jit's Traced arrays, which bring their own (recording) numpy
device_traced_class: Any = None  # minigrad.jit's DeviceTraced: a cupy array seen by a trace, with a recording cupy


def cupy() -> Any:
    """Import cupy on first use, with an error that says which extra to install."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError as e:
            raise RuntimeError(f"device 'cuda' needs cupy, which is not installed: {CUDA_EXTRA_HINT}") from e
        _cupy = cp
        for hook in _on_first_cupy:
            hook()
    return _cupy


def when_cupy_loads(hook: Callable[[], None]) -> None:
    """Run `hook` once cupy is imported (at once if it already is): how the op table puts every op
    under its tensors' device only in a process that uses a GPU, so the CPU path pays nothing."""
    if _cupy is None:
        _on_first_cupy.append(hook)
    else:
        hook()


# ---- host memory ------------------------------------------------------------------------------
_KEEP_FREED = 1 << 30  # bytes of freed memory malloc may keep at the top of its heap
_MMAP_FROM = 32 << 20  # allocations from this size on still come straight from (and go back to) the system


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep memory freed by numpy for the next allocation, instead of handing
    it back to the system; True if it could (Linux with glibc), else False, changing nothing.

    A training step allocates and frees the same large arrays (activations, gradients, im2col's
    columns) every batch. By default glibc returns most of them to the system and the next batch
    gets fresh memory, which costs a page fault per 4 KiB on first touch: about 5,000 per step
    of a small CNN on batches of 256, more time than its forward pass's arithmetic. Keeping up
    to 1 GiB of freed memory (arrays of 32 MiB and more still go back) brings that to about
    one. Called once, when minigrad is imported, unless ``MINIGRAD_KEEP_FREED_MEMORY=0`` or the
    user tuned malloc already (``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_`` set).
    """
    if not _glibc():
        return False
    mallopt = ctypes.CDLL(None).mallopt
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_trim_threshold, _KEEP_FREED) and mallopt(m_mmap_threshold, _MMAP_FROM))


def _glibc() -> bool:
    """Whether this process runs on Linux's GNU C library (musl, macOS and Windows have no mallopt to call)."""
    names = getattr(os, "confstr_names", {})
    return sys.platform.startswith("linux") and (
        "CS_GNU_LIBC_VERSION" in names and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    )


def _malloc_left_alone() -> bool:
    """Whether the user asked minigrad not to tune malloc, or tuned it themselves."""
    env = os.environ
    return env.get("MINIGRAD_KEEP_FREED_MEMORY") == "0" or any(
        name in env for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
    )


if not _malloc_left_alone():
    keep_freed_memory()


# ---- which backend an array belongs to ---------------------------------------------------
def is_host(array: Any) -> bool:
    """True for numpy arrays and scalars (the CPU backend)."""
    return array.__class__ is _ndarray or isinstance(array, _HOST_TYPES)


def is_device_array(array: Any) -> bool:
    """True for cupy arrays (and minigrad.jit's traced ones), found without importing cupy."""
    return type(array).__module__.partition(".")[0] == "cupy" or array.__class__ is device_traced_class


def is_array(array: Any) -> bool:
    """True for arrays of either backend."""
    return is_host(array) or is_device_array(array)


def array_module(array: Any) -> Any:
    """numpy for host arrays, cupy for device arrays (DeZero's get_array_module)."""
    if array.__class__ is _ndarray:
        return np
    if array.__class__ is traced_class or array.__class__ is device_traced_class:
        return array.xp
    return np if isinstance(array, _HOST_TYPES) else _cupy


# ---- devices ----------------------------------------------------------------------------------
def parse_device(device: object) -> tuple[str, int]:
    """'cpu' -> ('cpu', 0); 'cuda' -> ('cuda', 0); 'cuda:1' -> ('cuda', 1)."""
    name = str(device)
    kind, _, index = name.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def device_of(array: Any) -> str:
    """The device an array lives on, as 'cpu' or 'cuda:N'."""
    if is_host(array):
        return "cpu"
    return f"cuda:{array.device.id}"


_HOST_CONTEXT = contextlib.nullcontext()


def device_context(array: Any) -> contextlib.AbstractContextManager[Any, None]:
    """``with device_context(array):`` runs cupy's allocations and kernels on `array`'s GPU (cupy
    uses the *current* device, device 0 unless switched). For host arrays, numbers and None it is
    one shared do-nothing context: the CPU path pays a type test."""
    if array.__class__ is _ndarray or _cupy is None:
        return _HOST_CONTEXT
    if isinstance(array, _cupy.ndarray) or array.__class__ is device_traced_class:
        return _cupy.cuda.Device(array.device.id)
    return _HOST_CONTEXT


def gpu_in_use() -> bool:
    """Whether cupy has been imported: until then no array can be on a GPU."""
    return _cupy is not None


def current_device() -> int:
    """The index of the current GPU (cupy must be loaded), to make current again with :func:`use_device`."""
    return _cupy.cuda.runtime.getDevice()


def use_device(index: int) -> None:
    """Make GPU `index` current."""
    _cupy.cuda.runtime.setDevice(index)


def use_device_of(array: Any) -> None:
    """Make a GPU array's device current (for a loop over arrays of several GPUs, as backward's, which
    then makes the :func:`current_device` it started with current again); nothing for host arrays."""
    if _cupy is not None and (isinstance(array, _cupy.ndarray) or array.__class__ is device_traced_class):
        use_device(array.device.id)


def to_device(array: Any, device: str, copy: bool = False) -> Any:
    """Move (or keep) an array on `device`, copying only when it changes place (always with `copy`);
    a copy on a GPU is made there, whatever the current device."""
    kind, index = parse_device(device)
    if kind == "cpu":
        host = to_host(array)
        return host.copy() if copy and host is array else host
    cp = cupy()
    if not cuda_available():
        raise RuntimeError(f"device {device!r} was asked for, but no CUDA GPU is available")
    if index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"device {device!r} does not exist: {cp.cuda.runtime.getDeviceCount()} CUDA GPU(s) found")
    with cp.cuda.Device(index):
        moved = (array_module(array) if is_device_array(array) else cp).asarray(array)
        return moved.copy() if copy and moved is array else moved


def copied(array: Any, dtype: Any = None) -> Any:
    """A copy of `array` (cast to `dtype`) on its own device (a copy on a GPU goes to the current one)."""
    with device_context(array):
        return array.copy() if dtype is None else array.astype(dtype, copy=True)


def ones_like(array: Any) -> Any:
    """Ones of `array`'s shape and dtype, on its device."""
    if array.__class__ is _ndarray:
        return np.ones_like(array)
    with device_context(array):
        return array_module(array).ones_like(array)


def cuda_available() -> bool:
    """True when cupy is installed and can see at least one CUDA GPU."""
    try:
        cp = cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no cupy, no driver, no GPU: all mean "not available"
        return False


def to_host(array: Any) -> np.ndarray:
    """A numpy array with the same values, wherever `array` lives."""
    if array.__class__ is _ndarray:
        return array
    return np.asarray(array) if is_host(array) else np.asarray(array.get())


# ---- array math for gradient formulas ---------------------------------------------------------
class ArrayMath(Protocol):
    """The functions a gradient formula may call on its first argument, ``ops``.

    A formula ``formula(ops, g, out, *inputs)`` is written once, with operators, array
    methods (``reshape``, ``sum``, ``astype``, indexing) and these functions. On raw arrays
    `ops` is a :class:`BackendMath`; under ``create_graph=True`` it is :mod:`minigrad.ops`,
    whose functions share these names, so the gradient is itself recorded.
    """

    def log(self, x: Any, /) -> Any: ...
    def sign(self, x: Any, /) -> Any: ...
    def exp(self, x: Any, /) -> Any: ...
    def expm1(self, x: Any, /) -> Any: ...
    def sqrt(self, x: Any, /) -> Any: ...
    def sin(self, x: Any, /) -> Any: ...
    def cos(self, x: Any, /) -> Any: ...
    def sinh(self, x: Any, /) -> Any: ...
    def cosh(self, x: Any, /) -> Any: ...
    def tanh(self, x: Any, /) -> Any: ...
    def sigmoid(self, x: Any, /) -> Any: ...
    def erf(self, x: Any, /) -> Any: ...
    def floor(self, x: Any, /) -> Any: ...
    def zeros_like(self, x: Any, /) -> Any: ...
    def where(self, condition: Any, a: Any, b: Any, /) -> Any: ...
    def broadcast_to(self, x: Any, shape: tuple[int, ...], /) -> Any: ...
    def permute(self, x: Any, dims: tuple[int, ...], /) -> Any: ...
    def swapaxes(self, x: Any, axis0: int, axis1: int, /) -> Any: ...
    def add_at(self, g: Any, shape: tuple[int, ...], index: Any, /) -> Any: ...
    def einsum(self, equation: str, /, *operands: Any) -> Any: ...
    def flip(self, x: Any, dims: Any, /) -> Any: ...
    def cumsum(self, x: Any, dim: int, /) -> Any: ...
    def cumprod(self, x: Any, dim: int, /) -> Any: ...
    def logcumsumexp(self, x: Any, dim: int, /) -> Any: ...
    def im2col(self, x: Any, window: arraymath.Window, /) -> Any: ...
    def col2im(self, cols: Any, window: arraymath.Window, /) -> Any: ...


class BackendMath:
    """:class:`ArrayMath` on the raw arrays of one backend (numpy or cupy)."""

    _SAME = (
        "log", "sign", "exp", "expm1", "sqrt", "sin", "cos", "sinh", "cosh", "tanh", "floor", "zeros_like", "where",
        "swapaxes", "einsum", "flip", "cumsum", "cumprod",
    )  # fmt: skip

    def __init__(self, xp: Any):
        self.xp = xp
        for name in self._SAME:  # the backend's own function of that name
            setattr(self, name, getattr(xp, name))
        self.broadcast_to = _broadcast_view if xp is np else xp.broadcast_to
        self.permute = xp.transpose

    def sigmoid(self, x: Any) -> Any:
        return arraymath.sigmoid(self.xp, x)

    def erf(self, x: Any) -> Any:
        return arraymath.erf(self.xp, x)

    def add_at(self, g: Any, shape: tuple[int, ...], index: Any) -> Any:
        return add_at(self.xp, shape, index, g, g.dtype)

    def logcumsumexp(self, x: Any, dim: int) -> Any:
        return accumulate(self.xp.logaddexp, x, dim)

    def im2col(self, x: Any, window: arraymath.Window) -> Any:
        return arraymath.im2col(self.xp, x, window)

    def col2im(self, cols: Any, window: arraymath.Window) -> Any:
        return arraymath.col2im(self.xp, cols, window)


def add_at(xp: Any, shape: tuple[int, ...], index: Any, values: Any, dtype: Any) -> Any:
    """zeros(shape) with `values` added at `index`; repeated indices accumulate."""
    out = xp.zeros(shape, dtype=dtype)
    if _is_basic_index(index):
        out[index] = values  # slices and ints never repeat an element
    else:
        ufunc_at(xp.add, out, index, values)
    return out


def ufunc_at(ufunc: Any, out: Any, index: Any, values: Any) -> None:
    """``ufunc.at(out, index, values)``: out[index] = ufunc(out[index], values), repeated indices
    applying one after another. cupy has it for a few ufuncs and dtypes only; elsewhere (for an
    index of integer arrays) it is done in rounds, each applying one value to every position it reaches."""
    try:
        ufunc.at(out, index, values)
        return
    except (NotImplementedError, TypeError):
        pass
    xp = array_module(out)
    index = index if isinstance(index, tuple) else (index,)
    arrays = xp.broadcast_arrays(*index, values)
    flat = out.reshape(-1)  # out is contiguous: a view
    where, values = xp.ravel_multi_index(arrays[:-1], out.shape).reshape(-1), arrays[-1].reshape(-1)
    while where.size:
        first_at, first = xp.unique(where, return_index=True)
        flat[first_at] = ufunc(flat[first_at], values[first])
        rest = xp.ones(where.size, dtype=bool)
        rest[first] = False
        where, values = where[rest], values[rest]


def accumulate(ufunc: Any, x: Any, axis: int) -> Any:
    """``ufunc.accumulate(x, axis)``: the running ufunc along `axis`. cupy has it for add and
    multiply only; elsewhere it is a log-step scan (each step combines elements `step` apart)."""
    try:
        return ufunc.accumulate(x, axis=axis)
    except NotImplementedError:
        pass
    xp, n, step = array_module(x), x.shape[axis], 1
    lead = (slice(None),) * axis
    while step < n:
        combined = ufunc(x[lead + (slice(step, None),)], x[lead + (slice(0, n - step),)])
        x = xp.concatenate([x[lead + (slice(0, step),)], combined], axis)
        step *= 2
    return x


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _broadcast_view(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """np.broadcast_to for shapes known to fit, without its checks (it costs more than the math
    in small backward passes): a view repeating x along new and size-1 axes, never written to."""
    if x.shape == shape:
        return x
    x = np.ascontiguousarray(x)
    lead = len(shape) - x.ndim
    strides = (0,) * lead + tuple(0 if n == 1 else s for n, s in zip(x.shape, x.strides))
    return np.ndarray(shape, x.dtype, x, 0, strides)


NUMPY_MATH = BackendMath(np)
_cupy_math: BackendMath | None = None


def backend_math(array: Any) -> BackendMath:
    """The BackendMath for the backend `array` lives on."""
    global _cupy_math
    if array.__class__ is _ndarray:
        return NUMPY_MATH
    if array.__class__ is traced_class or array.__class__ is device_traced_class:
        return array.math
    if isinstance(array, _HOST_TYPES):
        return NUMPY_MATH
    if _cupy_math is None:
        _cupy_math = BackendMath(_cupy)
    return _cupy_math
