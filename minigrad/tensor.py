"""The Tensor: an array (numpy or cupy) plus what is needed to differentiate through it.

A tensor made by an op that needs a gradient carries a *node*: the op's name, its
inputs, the arrays they held when the op ran, and one gradient formula per input that
needs one. That is the whole recorded graph; :mod:`minigrad.autograd` walks it backwards.

The ops are functions in :mod:`minigrad.ops`; its table (:mod:`minigrad.ops.registry`)
attaches them to Tensor as methods and operators when minigrad is imported. The block
under ``TYPE_CHECKING`` below declares the same methods for type checkers and IDEs;
``tests/test_op_table.py`` keeps the two in step.
"""

from __future__ import annotations

import builtins
import itertools
import numbers
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .backend import device_context, device_of, is_array, is_host, parse_device, to_device, to_host

if TYPE_CHECKING:
    from . import autograd, ops
    from .autograd import RemovableHandle
    from .ops import inplace

__all__ = [
    "Tensor", "tensor", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
]  # fmt: skip

DType: TypeAlias = Any  # anything np.dtype() accepts: np.float32, "float32", minigrad.float32, ...
TensorLike: TypeAlias = (
    "Tensor | builtins.int | builtins.float | builtins.bool | np.ndarray | np.generic | Sequence[Any]"
)
Axis: TypeAlias = "builtins.int | tuple[builtins.int, ...] | None"

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, int16, int32, int64 = np.dtype("int8"), np.dtype("int16"), np.dtype("int32"), np.dtype("int64")
uint8, bool_ = np.dtype("uint8"), np.dtype("bool")
DEFAULT_FLOAT = float32
_TYPE_NAMES = {
    "float16": "HalfTensor", "float32": "FloatTensor", "float64": "DoubleTensor", "uint8": "ByteTensor",
    "int8": "CharTensor", "int16": "ShortTensor", "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor",
}  # fmt: skip
_TYPE_DTYPES = {name: np.dtype(dtype) for dtype, name in _TYPE_NAMES.items()}


class _ThreadGradMode(threading.local):
    enabled = True


class GradMode:
    """Whether ops record the graph, per thread as in PyTorch; switched by ``no_grad`` / ``enable_grad``.

    Reading a thread-local costs more than an op can afford, so ops test ``all_on`` first:
    it is True while no thread has switched recording off, and only otherwise do they ask
    their own thread (``enabled``).
    """

    def __init__(self) -> None:
        self.all_on = True
        self.here = _ThreadGradMode()
        self._threads_off = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> builtins.bool:
        """Whether this thread records."""
        return self.all_on or self.here.enabled

    def set(self, enabled: builtins.bool) -> builtins.bool:
        """Switch recording for this thread; returns what it was."""
        previous = self.here.enabled
        if enabled != previous:
            with self._lock:
                self.here.enabled = enabled
                self._threads_off += -1 if enabled else 1
                self.all_on = self._threads_off == 0
        return previous


grad_mode = GradMode()

# The node of a tensor whose graph was freed by backward(retain_graph=False).
RELEASED = ("released",)


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them.

    Make one with :func:`minigrad.tensor`. ``array`` is the backend array (numpy or cupy);
    ``data`` is a tensor sharing it that records nothing, as in PyTorch.
    """

    __slots__ = ("array", "_requires_grad", "grad", "_node", "_seq", "_retains_grad", "__weakref__")
    _seq: builtins.int  # creation order, set on op results that record a node
    __array_priority__ = 1000  # numpy defers `ndarray * tensor` to Tensor.__rmul__
    __hash__ = object.__hash__  # __eq__ is elementwise, identity is the hash

    array: Any
    grad: Tensor | None

    def __init__(self, array: Any, requires_grad: builtins.bool = False):
        self.array = array
        self.grad = None
        self._node: tuple | None = None
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # ---- what it is ---------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """This tensor's values as a new tensor sharing its memory, cut from the graph (as PyTorch's ``.data``)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: Tensor | Any) -> None:
        """``t.data = other``: t now holds other's values (sharing its memory), whatever its shape,
        as in PyTorch; `other` is a tensor or a backend array."""
        array = value.array if isinstance(value, Tensor) else value
        if not is_array(array) or isinstance(array, np.generic):
            raise TypeError(f"a tensor's .data can only be set to a tensor or an array, got {type(value).__name__}")
        if self._requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f".data = an array of dtype {array.dtype}: this tensor requires grad, so it must stay float"
            )
        self.array = array

    @property
    def requires_grad(self) -> builtins.bool:
        """Whether gradients are recorded for this tensor (set it on a leaf, as ``requires_grad_()`` does)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: builtins.bool) -> None:
        self.requires_grad_(value)

    @property
    def _version(self) -> builtins.int:
        """How many in-place writes this tensor's memory has had (shared with its views), as in PyTorch."""
        from .versions import version

        return version(self.array)

    @property
    def shape(self) -> tuple[builtins.int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> builtins.int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> str:
        return device_of(self.array)

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors made by the user rather than recorded from an op."""
        return self._node is None

    def size(self, dim: builtins.int | None = None) -> Any:
        """The shape, or the size of axis `dim`."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> builtins.int:
        return builtins.int(self.array.size)

    def __len__(self) -> builtins.int:
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
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ---- leaving minigrad ------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a host numpy array (copied from the GPU if need be; on the CPU it shares memory)."""
        return to_host(self.array)

    def __array__(self, dtype: DType = None, copy: builtins.bool | None = None) -> np.ndarray:
        if not is_host(self.array):
            raise TypeError(
                f"can't convert a tensor on {self.device} to numpy implicitly: use .numpy() or .cpu() first"
            )
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self) -> Any:
        """The single value of a one-element tensor, as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, got {self!r:.60}")
        return builtins.int(self.item())

    def __bool__(self) -> builtins.bool:
        if self.array.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous: use .any() or .all()"
            )
        return builtins.bool(self.item())

    def __pos__(self) -> Tensor:
        return self

    # ---- moving and converting (differentiable where the math allows) ----------------------
    def to(self, device: str | None = None, dtype: DType | None = None) -> Tensor:
        """This tensor on `device` and/or with `dtype`; itself when nothing changes."""
        out = self
        if device is not None and parse_device(device) != parse_device(self.device):
            from .ops.conversion import move

            out = move(out, device)
        return out if dtype is None else out.astype(dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: builtins.int | str = 0) -> Tensor:
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Tensor:
        return self.astype(float32)

    def double(self) -> Tensor:
        return self.astype(float64)

    def long(self) -> Tensor:
        return self.astype(int64)

    def int(self) -> Tensor:
        return self.astype(int32)

    def bool(self) -> Tensor:
        return self.astype(bool_)

    # ---- autograd ---------------------------------------------------------------
    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Start (or stop) recording gradients for this leaf tensor, in place."""
        if requires_grad and self.array.dtype.kind != "f":
            raise TypeError(f"only float tensors can require gradients, got dtype {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors: use detach()")
        self._requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor(self.array)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when the gradient for this tensor is computed; a tensor it returns
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        from .autograd import add_hook

        return add_hook(self, hook)

    def type(self, dtype: DType | str | None = None) -> Any:
        """Without an argument, the type's name (``'minigrad.FloatTensor'``, ``'minigrad.LongTensor'``,
        as PyTorch's); with a dtype (or such a name), this tensor cast to it."""
        if dtype is None:
            return f"minigrad.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
        if isinstance(dtype, str) and dtype.rpartition(".")[2] in _TYPE_DTYPES:
            dtype = _TYPE_DTYPES[dtype.rpartition(".")[2]]
        return self.astype(dtype)

    if TYPE_CHECKING:  # attached at import from the op table (minigrad/ops/registry.py)
        backward = autograd.backward

        # operators
        __add__ = ops.add
        __sub__ = ops.sub
        __mul__ = ops.mul
        __truediv__ = ops.div
        __pow__ = ops.pow
        __matmul__ = ops.matmul
        __neg__ = ops.neg
        __abs__ = ops.abs
        __lt__ = ops.lt
        __le__ = ops.le
        __gt__ = ops.gt
        __ge__ = ops.ge
        __eq__ = ops.eq  # type: ignore[assignment]
        __ne__ = ops.ne  # type: ignore[assignment]
        __and__ = ops.bitwise_and
        __or__ = ops.bitwise_or
        __xor__ = ops.bitwise_xor
        __invert__ = ops.bitwise_not
        __getitem__ = ops.getitem

        def __radd__(self, other: TensorLike) -> Tensor: ...
        def __rsub__(self, other: TensorLike) -> Tensor: ...
        def __rmul__(self, other: TensorLike) -> Tensor: ...
        def __rtruediv__(self, other: TensorLike) -> Tensor: ...
        def __rpow__(self, other: TensorLike) -> Tensor: ...
        def __rmatmul__(self, other: TensorLike) -> Tensor: ...

        # methods, as in PyTorch
        add = ops.add
        sub = ops.sub
        mul = ops.mul
        div = ops.div
        pow = ops.pow
        matmul = ops.matmul
        neg = ops.neg
        exp = ops.exp
        log = ops.log
        sqrt = ops.sqrt
        abs = ops.abs
        sign = ops.sign
        sigmoid = ops.sigmoid
        relu = ops.relu
        tanh = ops.tanh
        clamp = ops.clamp
        clip = ops.clamp
        maximum = ops.maximum
        minimum = ops.minimum
        lt = ops.lt
        le = ops.le
        gt = ops.gt
        ge = ops.ge
        eq = ops.eq
        ne = ops.ne
        logical_and = ops.logical_and
        logical_or = ops.logical_or
        logical_xor = ops.logical_xor
        logical_not = ops.logical_not
        sum = ops.sum
        mean = ops.mean
        max = ops.max
        min = ops.min
        var = ops.var
        std = ops.std
        argmax = ops.argmax
        argmin = ops.argmin
        any = ops.any
        all = ops.all
        reshape = ops.reshape
        view = ops.reshape
        flatten = ops.flatten
        squeeze = ops.squeeze
        unsqueeze = ops.unsqueeze
        permute = ops.permute
        transpose = ops.transpose
        swapaxes = ops.transpose
        expand = ops.expand
        broadcast_to = ops.broadcast_to
        astype = ops.astype

        clone = ops.clone

        # in place (minigrad/ops/inplace.py)
        add_ = inplace.add_
        sub_ = inplace.sub_
        mul_ = inplace.mul_
        div_ = inplace.div_
        __iadd__ = inplace.add_
        __isub__ = inplace.sub_
        __imul__ = inplace.mul_
        __itruediv__ = inplace.div_
        clamp_ = inplace.clamp_
        clip_ = inplace.clamp_
        copy_ = inplace.copy_
        fill_ = inplace.fill_
        zero_ = inplace.zero_
        normal_ = inplace.normal_
        uniform_ = inplace.uniform_
        __setitem__ = inplace.setitem

        # elementwise math, logic and bitwise ops, softmax
        __floordiv__ = ops.floor_divide
        __mod__ = ops.remainder
        __lshift__ = ops.bitwise_left_shift
        __rshift__ = ops.bitwise_right_shift

        def __rfloordiv__(self, other: TensorLike) -> Tensor: ...
        def __rmod__(self, other: TensorLike) -> Tensor: ...
        def __rand__(self, other: TensorLike) -> Tensor: ...
        def __ror__(self, other: TensorLike) -> Tensor: ...
        def __rxor__(self, other: TensorLike) -> Tensor: ...
        def __rlshift__(self, other: TensorLike) -> Tensor: ...
        def __rrshift__(self, other: TensorLike) -> Tensor: ...

        floor_divide = ops.floor_divide
        remainder = ops.remainder
        floor = ops.floor
        ceil = ops.ceil
        trunc = ops.trunc
        round = ops.round
        frac = ops.frac
        reciprocal = ops.reciprocal
        rsqrt = ops.rsqrt
        square = ops.square
        log2 = ops.log2
        log10 = ops.log10
        log1p = ops.log1p
        exp2 = ops.exp2
        expm1 = ops.expm1
        erf = ops.erf
        sin = ops.sin
        cos = ops.cos
        tan = ops.tan
        asin = ops.asin
        acos = ops.acos
        atan = ops.atan
        sinh = ops.sinh
        cosh = ops.cosh
        asinh = ops.asinh
        acosh = ops.acosh
        atanh = ops.atanh
        atan2 = ops.atan2
        hypot = ops.hypot
        copysign = ops.copysign
        logaddexp = ops.logaddexp
        lerp = ops.lerp
        isnan = ops.isnan
        isinf = ops.isinf
        isfinite = ops.isfinite
        isclose = ops.isclose
        bitwise_and = ops.bitwise_and
        bitwise_or = ops.bitwise_or
        bitwise_xor = ops.bitwise_xor
        bitwise_not = ops.bitwise_not
        bitwise_left_shift = ops.bitwise_left_shift
        bitwise_right_shift = ops.bitwise_right_shift
        softmax = ops.softmax
        log_softmax = ops.log_softmax

        # reductions, scans, shape and indexing ops, creation
        prod = ops.prod
        amax = ops.amax
        amin = ops.amin
        logsumexp = ops.logsumexp
        norm = ops.norm
        count_nonzero = ops.count_nonzero
        cumsum = ops.cumsum
        cumprod = ops.cumprod
        logcumsumexp = ops.logcumsumexp
        cummax = ops.cummax
        cummin = ops.cummin
        movedim = ops.movedim
        moveaxis = ops.movedim
        unflatten = ops.unflatten
        narrow = ops.narrow
        split = ops.split
        chunk = ops.chunk
        unbind = ops.unbind
        flip = ops.flip
        roll = ops.roll
        repeat = ops.repeat
        tile = ops.tile
        repeat_interleave = ops.repeat_interleave
        tril = ops.tril
        triu = ops.triu
        diag = ops.diag
        diagonal = ops.diagonal
        diag_embed = ops.diag_embed
        gather = ops.gather
        take_along_dim = ops.take_along_dim
        index_select = ops.index_select
        masked_select = ops.masked_select
        masked_fill = ops.masked_fill
        nonzero = ops.nonzero
        scatter = ops.scatter
        scatter_add = ops.scatter_add
        scatter_reduce = ops.scatter_reduce
        sort = ops.sort
        argsort = ops.argsort
        topk = ops.topk
        kthvalue = ops.kthvalue
        dot = ops.dot
        mv = ops.mv
        bmm = ops.bmm
        outer = ops.outer
        new_zeros = ops.new_zeros
        new_ones = ops.new_ones
        new_full = ops.new_full
        new_tensor = ops.new_tensor

        @property
        def T(self) -> Tensor: ...
        @property
        def mT(self) -> Tensor: ...


Node: TypeAlias = tuple  # (name, edges, inputs, arrays): see make()


def make(array: Any, node: Node | None = None) -> Tensor:
    """A tensor around `array` without checks: the fast path for op results.

    `node` is ``(name, edges, inputs, arrays)``: the op's name, its operands (tensors or
    Python numbers), the arrays they held when it ran, and an edge ``(formula, input)``
    for each input that needs a gradient. ``formula(ops, g, out, *inputs)`` is that
    input's gradient: `ops` the array math to compute with (see
    :class:`minigrad.backend.ArrayMath`), g the gradient of the output, out the output.
    """
    if array.__class__ is not _ndarray and isinstance(array, np.generic):
        array = np.asarray(array)  # numpy turns 0-d results into scalars; keep arrays
    t = _new(Tensor)
    t.array = array
    t.grad = None
    t._retains_grad = False
    t._node = node
    if node is None:
        t._requires_grad = False
    else:
        t._requires_grad = True
        t._seq = next_seq()  # creation order: a node always comes after its inputs
    return t


def record(name: str, array: Any, inputs: tuple, arrays: tuple, grads: tuple) -> Tensor:
    """The result `array` of op `name`, recording `grads` (one formula or None per input) when needed."""
    if grad_mode.all_on or grad_mode.here.enabled:
        edges: tuple = ()
        for f, x in zip(grads, inputs):
            if f is not None and x.__class__ is Tensor and x._requires_grad:
                edges += ((f, x),)
        if edges:
            return make(array, (name, edges, inputs, arrays))
    return make(array)


next_seq = itertools.count().__next__  # the clock numbering nodes (and in-place writes, see versions.py)
_new = object.__new__
_ndarray = np.ndarray
_INT64 = np.iinfo(np.int64)


def tensor(data: Any, dtype: DType | None = None, device: str = "cpu", requires_grad: builtins.bool = False) -> Tensor:
    """A new leaf tensor from Python numbers, nested lists, numpy or cupy arrays, or a tensor.

    Python floats become float32, ints int64, bools bool; arrays (and images) keep their
    dtype. The data is always copied, as ``torch.tensor`` does.
    """
    if isinstance(data, Tensor):
        data = data.array
    if is_array(data):
        array = np.asarray(data) if isinstance(data, np.generic) else data
        _check_dtype(array.dtype, f"a {type(data).__name__}")
    elif hasattr(data, "__array_interface__"):  # a PIL image, a memoryview-like buffer
        array = np.asarray(data)
        _check_dtype(array.dtype, f"a {type(data).__name__}")
    else:
        array = _from_python(data, dtype is None)
    if dtype is not None:
        with device_context(array):
            array = array.astype(np.dtype(dtype), copy=False)
    # a new tensor never shares a caller's array (as torch.tensor copies)
    return Tensor(to_device(array, device, copy=array is data), requires_grad=requires_grad)


_KIND_NAMES = {"U": "string", "S": "bytes", "c": "complex", "M": "datetime", "m": "timedelta", "O": "object"}


def _check_dtype(dtype: np.dtype, what: str) -> None:
    if dtype.kind not in "biuf":
        raise TypeError(
            f"can't make a tensor from {what} of dtype {dtype} ({_KIND_NAMES.get(dtype.kind, dtype.kind)} values): "
            "values must be numbers or bools"
        )


def _from_python(data: Any, default_dtypes: builtins.bool = True) -> np.ndarray:
    """An array of Python numbers (or nested sequences of them), in the default dtypes above
    (float32, int64) unless the caller casts it itself (to keep float64 values exact)."""
    if isinstance(data, (str, bytes)):
        raise TypeError(f"can't make a tensor from {type(data).__name__} {data!r}")
    try:
        array = np.asarray(data)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"can't make a tensor from ragged nested sequences: {e}") from None
    if array.dtype == object or array.dtype == np.uint64:
        _check_python_values(array)
    elif array.dtype.kind == "f" and array.size and np.abs(array).max() >= 2.0**63:  # from a huge int?
        _check_python_values(np.asarray(data, dtype=object))
    _check_dtype(array.dtype, f"a {type(data).__name__}")
    if not default_dtypes:
        return array
    if array.dtype.kind == "f":
        return array.astype(DEFAULT_FLOAT)
    if array.dtype.kind in "iu" and array.dtype != int64:
        return array.astype(int64)
    return array


def _check_python_values(array: np.ndarray) -> None:
    """Raise for the first value that is not a number, or an integer beyond int64."""
    for value in array.flat:
        if isinstance(value, numbers.Integral) and not _INT64.min <= builtins.int(value) <= _INT64.max:
            raise OverflowError(
                f"can't make a tensor from the integer {value}: it does not fit in int64 "
                f"[{_INT64.min}, {_INT64.max}] (pass floats, e.g. float({value}), for large values)"
            )
        if not isinstance(value, (numbers.Integral, numbers.Real)):
            raise TypeError(
                f"can't make a tensor from a {type(value).__name__} ({value!r:.40}): values must be numbers or bools"
            )


def is_number(x: object) -> builtins.bool:
    """Python and numpy scalars that ops take as plain constants."""
    return isinstance(x, numbers.Number)
