"""Neural-network building blocks, as in ``torch.nn``.

    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 10))
    >>> loss = nn.functional.cross_entropy(model(x), y)

Parameters are plain leaf tensors (see :mod:`minigrad.nn.module`).
"""

from . import functional
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    log_softmax,
    mnist_loss,
    mse_loss,
    nll_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .layers import Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import IncompatibleKeys, Module, Parameter, is_parameter

__all__ = [
    "functional",
    "Module",
    "Parameter",
    "is_parameter",
    "IncompatibleKeys",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Sequential",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "mnist_loss",
]
