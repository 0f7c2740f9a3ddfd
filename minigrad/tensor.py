"""The Tensor: an array (numpy or cupy) plus what is needed to differentiate through it.

A tensor made by an op that needs a gradient carries a *node*: the op's inputs, the
arrays they held when the op ran, and one gradient formula per input. That is the
whole recorded graph; :mod:`minigrad.autograd` walks it backwards.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from .backend import device_of, is_cupy_array, parse_device, to_device, to_host

DType = Any  # anything np.dtype() accepts: np.float32, "float32", minigrad.float32, ...

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, int16, int32, int64 = np.dtype("int8"), np.dtype("int16"), np.dtype("int32"), np.dtype("int64")
uint8, bool_ = np.dtype("uint8"), np.dtype("bool")
DEFAULT_FLOAT = float32


class GradMode:
    """Whether ops record the graph; switched by ``no_grad`` / ``enable_grad``."""

    enabled = True


grad_mode = GradMode()

# The node of a tensor whose graph was freed by backward(retain_graph=False).
RELEASED = ("released",)


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them.

    Make one with :func:`minigrad.tensor`. ``array`` is the backend array (numpy or cupy);
    ``data`` is a tensor sharing it that records nothing, as in PyTorch.
    """

    __slots__ = ("array", "requires_grad", "grad", "_node", "_seq", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy defers `ndarray * tensor` to Tensor.__rmul__
    __hash__ = object.__hash__  # __eq__ is elementwise, identity is the hash

    def __init__(self, data, requires_grad: bool = False):
        self.array = data
        self.grad = None
        self._node = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # ---- what it is ---------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """This tensor's values as a new tensor sharing its memory, cut from the graph (as PyTorch's ``.data``)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"a tensor's .data can only be set to a tensor, got {type(value).__name__}")
        if value.shape != self.shape or value.dtype != self.dtype or value.device != self.device:
            raise ValueError(
                f".data = a tensor of shape {value.shape}, dtype {value.dtype} on {value.device}: "
                f"expected shape {self.shape}, dtype {self.dtype} on {self.device}"
            )
        self.array = value.array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> str:
        return device_of(self.array)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than recorded from an op."""
        return self._node is None

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(to_host(self.array), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype != DEFAULT_FLOAT and self.dtype != int64 and self.dtype != bool_:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append("grad_fn")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ---- leaving minigrad ------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a host numpy array (copied from the GPU if need be)."""
        return to_host(self.array)

    def __array__(self, dtype=None, copy=None):
        if not isinstance(self.array, np.ndarray):
            raise TypeError(
                f"can't convert a tensor on {self.device} to numpy implicitly: use .numpy() or .cpu() first"
            )
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self):
        """The single value of a one-element tensor, as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous: use .any() or .all()"
            )
        return bool(self.item())

    # ---- moving and converting (differentiable where the math allows) ----------------------
    def to(self, device: str | None = None, dtype: DType | None = None) -> Tensor:
        """This tensor on `device` and/or with `dtype`; itself when nothing changes."""
        out = self
        if device is not None and parse_device(device) != parse_device(self.device):
            from .ops import move

            out = move(out, device)
        return out if dtype is None else out.astype(dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str = 0) -> Tensor:
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Tensor:
        return self.astype(float32)

    def double(self) -> Tensor:
        return self.astype(float64)

    def long(self) -> Tensor:
        return self.astype(int64)

    def int(self) -> Tensor:
        return self.astype(np.dtype("int32"))

    def bool(self) -> Tensor:
        return self.astype(bool_)

    # ---- autograd ---------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording gradients for this leaf tensor, in place."""
        if requires_grad and self.array.dtype.kind != "f":
            raise TypeError(f"only float tensors can require gradients, got dtype {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors: use detach()")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor(self.array)

    # backward() is minigrad.autograd.backward; the ops are bound as operators and methods in minigrad.ops


def make(data, node=None) -> Tensor:
    """A tensor around `data` without checks: the fast path for op results.

    `node` is ``(edges, inputs, arrays)``: the op's operands (tensors or Python numbers),
    the arrays they held when it ran, and an edge ``(formula, input)`` for each input
    that needs a gradient. ``formula(F, g, out, *inputs)`` is that input's gradient: F is
    the array math to use, g the gradient of the output, out the output.
    """
    if data.__class__ is not _ndarray and isinstance(data, np.generic):
        data = np.asarray(data)  # numpy turns 0-d results into scalars; keep arrays
    t = _new(Tensor)
    t.array = data
    t.grad = None
    t._retains_grad = False
    t._node = node
    if node is None:
        t.requires_grad = False
    else:
        t.requires_grad = True
        t._seq = _next_seq()  # creation order: a node always comes after its inputs
    return t


def record(data, inputs: tuple, arrays: tuple, grads: tuple) -> Tensor:
    """The result of an op, recording `grads` (one formula or None per input) when needed."""
    if grad_mode.enabled:
        edges = ()
        for f, x in zip(grads, inputs):
            if f is not None and x.__class__ is Tensor and x.requires_grad:
                edges += ((f, x),)
        if edges:
            return make(data, (edges, inputs, arrays))
    return make(data)


_next_seq = itertools.count().__next__
_new = object.__new__
_ndarray = np.ndarray


def tensor(data, dtype: DType | None = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A new leaf tensor from Python numbers, nested lists, numpy or cupy arrays, or a tensor.

    Python floats become float32, ints int64, bools bool; arrays keep their dtype.
    """
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, np.ndarray) or is_cupy_array(data):
        array = data
    elif isinstance(data, np.generic):
        array = np.asarray(data)
    else:
        array = _from_python(data)
    if dtype is not None:
        array = array.astype(np.dtype(dtype), copy=False)
    array = to_device(array, device)
    if array is data:  # a new tensor never shares a caller's array (as torch.tensor copies)
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def _from_python(data) -> np.ndarray:
    if isinstance(data, (str, bytes)):
        raise TypeError(f"can't make a tensor from {type(data).__name__} {data!r}")
    try:
        array = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"can't make a tensor from ragged nested sequences: {e}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"can't make a tensor from {type(data).__name__}: values must be numbers or bools")
    if array.dtype.kind == "f":
        return array.astype(DEFAULT_FLOAT)
    if array.dtype.kind in "iu" and array.dtype != int64:
        return array.astype(int64)
    return array


def is_number(x) -> bool:
    """Python and numpy scalars that ops take as plain constants."""
    return isinstance(x, numbers.Number)
