"""The two array backends behind one code path: numpy on the CPU, cupy on a CUDA GPU.

Everything device-specific lives here. An op never names numpy or cupy: it works on
the array module of its inputs, found by :func:`array_module`. cupy is imported only
when a CUDA device is asked for, so the CPU path never pays for GPU support.
"""

from __future__ import annotations

import numpy as np

CUDA_EXTRA_HINT = "install cupy for your CUDA version: pip install 'minigrad[cuda12]' or 'minigrad[cuda13]'"

_cupy = None  # the cupy module once a CUDA device has been used


def cupy():
    """Import cupy on first use, with an error that says which extra to install."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError as e:
            raise RuntimeError(f"device 'cuda' needs cupy, which is not installed: {CUDA_EXTRA_HINT}") from e
        _cupy = cp
    return _cupy


def parse_device(device) -> tuple[str, int]:
    """'cpu' -> ('cpu', 0); 'cuda' -> ('cuda', 0); 'cuda:1' -> ('cuda', 1)."""
    name = str(device)
    kind, _, index = name.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def device_of(data) -> str:
    """The device an array lives on, as 'cpu' or 'cuda:N'."""
    if isinstance(data, (np.ndarray, np.generic)):
        return "cpu"
    return f"cuda:{data.device.id}"


def is_cupy_array(data) -> bool:
    """True for cupy arrays, found without importing cupy."""
    return type(data).__module__.partition(".")[0] == "cupy"


def array_module(data):
    """numpy for host arrays, cupy for device arrays (DeZero's get_array_module)."""
    return np if isinstance(data, (np.ndarray, np.generic)) else _cupy


def to_device(data, device: str):
    """Move (or keep) an array on `device`, copying only when it changes place."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return data if isinstance(data, np.ndarray) else data.get()
    cp = cupy()
    if not cuda_available():
        raise RuntimeError(f"device {device!r} was asked for, but no CUDA GPU is available")
    if index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"device {device!r} does not exist: {cp.cuda.runtime.getDeviceCount()} CUDA GPU(s) found")
    with cp.cuda.Device(index):
        return cp.asarray(data)


def cuda_available() -> bool:
    """True when cupy is installed and can see at least one CUDA GPU."""
    try:
        cp = cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no cupy, no driver, no GPU: all mean "not available"
        return False


def to_host(data) -> np.ndarray:
    """A numpy array with the same values, wherever `data` lives."""
    return data if isinstance(data, np.ndarray) else np.asarray(data.get())


def scatter_add(xp, shape, index, values, dtype):
    """zeros(shape) with `values` added at `index`; repeated indices accumulate."""
    out = xp.zeros(shape, dtype=dtype)
    if _is_basic_index(index):
        out[index] = values  # slices and ints never repeat an element
    elif xp is np:
        np.add.at(out, index, values)
    else:
        xp.add.at(out, index, values)
    return out


def _is_basic_index(index) -> bool:
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


class ArrayMath:
    """The few array functions gradient formulas need, named as minigrad names them.

    A gradient formula is written once, with operators and these functions. On raw
    arrays it gets an ``ArrayMath``; when the gradient must itself be differentiable
    (``create_graph=True``) it gets :mod:`minigrad.ops`, whose functions share these names.
    """

    def __init__(self, xp):
        self.xp = xp
        self.log = xp.log
        self.sign = xp.sign
        self.where = xp.where
        self.broadcast_to = _broadcast_view if xp is np else xp.broadcast_to
        self.permute = xp.transpose
        self.swapaxes = xp.swapaxes

    def scatter_add(self, g, shape, index):
        return scatter_add(self.xp, shape, index, g, g.dtype)


NUMPY_MATH = ArrayMath(np)
_cupy_math = None


def array_math(data) -> ArrayMath:
    """The ArrayMath for the backend `data` lives on."""
    global _cupy_math
    if isinstance(data, (np.ndarray, np.generic)):
        return NUMPY_MATH
    if _cupy_math is None:
        _cupy_math = ArrayMath(_cupy)
    return _cupy_math
