"""Layers: Linear, the activations as modules, Flatten, Unflatten, Identity, Dropout, Embedding, and the
containers Sequential, ModuleList and ModuleDict."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from ..backend import to_device
from ..creation import zeros
from ..ops import flatten, linear, unflatten
from ..ops.operands import as_tensor
from ..random import Generator, randn
from ..tensor import DType, Tensor, float32
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "ReLU", "Sigmoid", "Tanh", "Flatten", "Sequential"]


def default_init(
    shape: tuple[int, ...], bias_size: int | None, generator: Generator | None, device: str, dtype: DType, owner: str
) -> tuple[Tensor, Tensor | None]:
    """PyTorch's default weight and bias of Linear and the convs: the weight (of `shape`) by
    kaiming-uniform with a=sqrt(5), then the bias (of `bias_size`, None for none) uniform in
    +-1/sqrt(fan_in): both in +-1/sqrt(fan_in), fan_in = shape[1] * the kernel's size."""
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{owner} needs a float dtype, got {np.dtype(dtype)}")
    weight = init.kaiming_uniform_(
        Parameter(zeros(*shape, dtype=dtype, device=device)), math.sqrt(5), generator=generator
    )
    if bias_size is None:
        return weight, None
    n = init.fan_in(weight)
    bound = 1 / math.sqrt(n) if n else 0.0
    return weight, init.uniform_(Parameter(zeros(bias_size, dtype=dtype, device=device)), -bound, bound, generator)


def _count(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features) as in PyTorch.

    Weight and bias start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's
    default: :func:`~minigrad.nn.init.kaiming_uniform_` with ``a=sqrt(5)``), drawn from
    `generator` (or minigrad's default generator, see :func:`minigrad.manual_seed`) on the
    host, weight first, so a seed gives the same values on every device.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        generator: Generator | None = None,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        self.in_features = _count("in_features", in_features)
        self.out_features = _count("out_features", out_features)
        shape = (self.out_features, self.in_features)
        self.weight, self.bias = default_init(
            shape, self.out_features if bias else None, generator, device, dtype, "Linear"
        )

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.dtype.kind != "f":  # integer pixels, bools: compute in the layer's dtype (int64 @ float32 is float64)
            x = x.astype(self.weight.dtype)
        try:
            return linear(x, self.weight, self.bias)
        except ValueError:
            if x.ndim and x.shape[-1] == self.in_features:
                raise  # not a shape problem: the backend's own reason
            raise self._shape_error(x) from None

    def _shape_error(self, x: Tensor) -> ValueError:
        last = x.shape[-1] if x.ndim else "none (a 0-d tensor)"
        hint = " (flatten the input first, e.g. with nn.Flatten())" if x.ndim > 2 else ""
        return ValueError(
            f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
            f"the input's last dimension must be in_features={self.in_features}, got input "
            f"of shape {x.shape} (last dimension {last}){hint}"
        )

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x) -> Tensor:
        return F.tanh(x)


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x) -> Tensor:
        return flatten(as_tensor(x), self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after the other; registered as "0", "1", ... (or by the keys of
    a single OrderedDict argument). Indexable (a slice gives a new Sequential of the same
    module objects), sized and iterable. The same module may appear twice (shared weights)."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            self._add(name, m)

    def _add(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__} at position {name!r}")
        setattr(self, name, module)

    def append(self, module: Module) -> Sequential:
        self._add(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a Sequential of {len(modules)} modules") from None


# ---- the other activations as modules (nn.functional's functions, with their arguments) ----------
__all__ += [
    "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "Softsign", "ReLU6", "Hardtanh",
    "Hardsigmoid", "Hardswish", "LogSigmoid", "Softmin", "Softmax", "LogSoftmax",
]  # fmt: skip


class Functional(Module):
    """A module applying `function` (from nn.functional) to its inputs, with the options it was made
    with: attributes named as the function's keyword arguments (`options`), as in PyTorch's modules."""

    function: Callable[..., Tensor]
    options: tuple[str, ...] = ()

    def forward(self, *inputs) -> Tensor:
        return type(self).function(*inputs, **{name: getattr(self, name) for name in self.options})

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.options)


class LeakyReLU(Functional):
    """x where x > 0, else negative_slope * x."""

    function = F.leaky_relu
    options = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope


class ELU(Functional):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    function = F.elu
    options = ("alpha",)

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha


class SELU(Functional):
    """1.0507 * elu(x, alpha=1.6733)."""

    function = F.selu


class CELU(Functional):
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""

    function = F.celu
    options = ("alpha",)

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha


class GELU(Functional):
    """x * Φ(x) (exact, by erf), or its tanh approximation with ``approximate="tanh"``."""

    function = F.gelu
    options = ("approximate",)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate


class SiLU(Functional):
    """x * sigmoid(x)."""

    function = F.silu


class Mish(Functional):
    """x * tanh(softplus(x))."""

    function = F.mish


class Softplus(Functional):
    """log(1 + exp(beta * x)) / beta, and x where beta * x > threshold."""

    function = F.softplus
    options = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold


class Softsign(Functional):
    """x / (1 + |x|)."""

    function = F.softsign


class Hardtanh(Functional):
    """x clamped to [min_val, max_val] (gradient 0 at the bounds)."""

    function = F.hardtanh
    options = ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val


class ReLU6(Functional):
    """min(max(x, 0), 6)."""

    function = F.relu6


class Hardsigmoid(Functional):
    """relu6(x + 3) / 6."""

    function = F.hardsigmoid


class Hardswish(Functional):
    """x * relu6(x + 3) / 6."""

    function = F.hardswish


class LogSigmoid(Functional):
    """log(sigmoid(x)), stable."""

    function = F.logsigmoid


class _AlongDim(Functional):
    """An activation along one dim (-1 by default: PyTorch's implicit choice is deprecated)."""

    options = ("dim",)

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along `dim`."""

    function = F.softmax


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along `dim`, stable."""

    function = F.log_softmax


class Softmin(_AlongDim):
    """softmax(-x) along `dim`."""

    function = F.softmin


# ---- issue 12: containers, and the layers of convolutional nets that hold no conv --------------------------
__all__ += ["Identity", "Unflatten", "Dropout", "Embedding", "ModuleList", "ModuleDict"]


class Identity(Module):
    """Returns its input (a placeholder, e.g. for a layer switched off); ignores any arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size`: (N, 784) -> (N, 1, 28, 28) with ``Unflatten(1, (1, 28, 28))``."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x) -> Tensor:
        return unflatten(as_tensor(x), self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """In training mode, zero each element with probability `p` and scale the others by 1 / (1 - p);
    in eval mode, the identity (see :meth:`Module.train`)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim) for index i. The weight
    starts standard normal (from `generator`), with row `padding_idx` zero (and never trained)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        generator: Generator | None = None,
        device: str = "cpu",
        dtype: DType = float32,
    ):
        super().__init__()
        self.num_embeddings = _count("num_embeddings", num_embeddings)
        self.embedding_dim = _count("embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"padding_idx must be within num_embeddings={num_embeddings}, got {padding_idx}")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        weight = randn(self.num_embeddings, self.embedding_dim, generator=generator, dtype=dtype).array
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Parameter(to_device(weight, device))

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class ModuleList(Module):
    """A list of modules, registered as "0", "1", ...: indexable (a slice gives a new ModuleList),
    sized and iterable, with append, extend and insert. It has no forward: the owner calls its items."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"ModuleList holds Modules, got {type(m).__name__} at index {i}")
            setattr(self, str(i), m)

    def append(self, module: Module) -> ModuleList:
        self._renumber([*self, module])
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        self._renumber([*self, *modules])
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self)
        modules.insert(index, module)
        self._renumber(modules)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        try:
            return modules[index]
        except (IndexError, TypeError):
            raise IndexError(f"index {index!r} is out of range for a ModuleList of {len(modules)} modules") from None

    def __setitem__(self, index: int, module: Module) -> None:
        modules = list(self)
        modules[index] = module
        self._renumber(modules)

    def __delitem__(self, index) -> None:
        modules = list(self)
        del modules[index]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class ModuleDict(Module):
    """Modules by name, in insertion order: ``d["conv"]``, ``"conv" in d``, keys, values, items,
    update and pop. It has no forward: the owner calls its items."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, name: str, module: Module) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if hasattr(type(self), name):
            raise KeyError(f"module name {name!r} would hide ModuleDict.{name}: choose another name")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__} for {name!r}")
        setattr(self, name, module)

    def __getitem__(self, name: str) -> Module:
        return self._modules[name]

    def __delitem__(self, name: str) -> None:
        if name not in self._modules:
            raise KeyError(name)
        delattr(self, name)

    def pop(self, name: str) -> Module:
        module = self[name]
        del self[name]
        return module

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        for name, module in modules.items() if isinstance(modules, Mapping) else modules:
            self[name] = module

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def __contains__(self, name) -> bool:
        return name in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))
