"""Activation functions (``nn.functional.relu``, ``softmax``, ...), composed from minigrad's ops.

Being compositions, they get gradients (and ``create_graph`` higher derivatives) for
free, on whatever device their inputs live.
"""

from __future__ import annotations

from ..ops import exp, log, relu, sigmoid, tanh
from ..ops.operands import as_tensor
from ..tensor import Tensor, float32

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax"]


def _floating(x) -> Tensor:
    x = as_tensor(x)
    return x if x.dtype.kind == "f" else x.astype(float32)


def _shifted(x: Tensor, dim: int) -> Tensor:
    """x minus its (detached) max along `dim`: exp of it can't overflow, and softmax is
    unchanged by the shift, so no gradient needs to flow through the max."""
    return x - x.max(dim, keepdims=True).detach()


def softmax(x, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, computed without overflow for large inputs."""
    e = exp(_shifted(_floating(x), dim))
    return e / e.sum(dim, keepdims=True)


def log_softmax(x, dim: int = -1) -> Tensor:
    """log(softmax(x)) along `dim`, as z - log(sum(exp(z))) with z = x - max(x): stable
    for large inputs (no exp overflow, no log of 0 for the winning class)."""
    z = _shifted(_floating(x), dim)
    return z - log(exp(z).sum(dim, keepdims=True))
