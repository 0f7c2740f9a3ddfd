"""minigrad: a small, readable autograd engine with numpy and cupy backends.

>>> import minigrad as mg
>>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""

import importlib

from . import cuda, metrics, nn, optim
from .autograd import backward, enable_grad, is_grad_enabled, no_grad
from .creation import arange, eye, full, ones, ones_like, zeros, zeros_like
from .functional import grad, value_and_grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (
    T,
    abs,
    add,
    all,
    any,
    argmax,
    argmin,
    astype,
    broadcast_to,
    cat,
    clamp,
    concatenate,
    div,
    eq,
    exp,
    expand,
    flatten,
    ge,
    getitem,
    gt,
    le,
    linear,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    ne,
    neg,
    permute,
    pow,
    relu,
    reshape,
    scatter_add,
    sigmoid,
    sign,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    view,
    where,
)
from .random import Generator, manual_seed, rand, randint, randn
from .serialization import load, save
from .tensor import Tensor, bool_, float16, float32, float64, int8, int16, int32, int64, tensor, uint8

__version__ = "0.1.0"

_LAZY = ("data", "learner", "testing")  # they import requests, pillow or hypothesis: load on first use


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
