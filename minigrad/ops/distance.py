"""Similarities and distances between vectors along a dim: cosine_similarity, pairwise_distance
(``torch.<name>`` both), and normalize (``nn.functional.normalize``), on a p-norm whose gradient
is PyTorch's (0 at a zero vector, not nan)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .activation import floating
from .operands import normalize_axis
from .registry import guard_functions, register

__all__ = ["cosine_similarity", "pairwise_distance"]


def vector_norm(x: TensorLike, p: float, dim: int, keepdim: bool = False) -> Tensor:
    """(Σ |x|^p)^(1/p) along `dim`: max |x| for p = inf, the count of non-zeros for p = 0.

    Gradient: g * sign(x) * |x|^(p-1) / out^(p-1) (x / out for p = 2), 0 where out = 0; for
    p = inf, g shared equally between the elements of largest |x|; none for p = 0.
    """
    x = floating(x)
    xd = x.array
    (axis,) = normalize_axis(dim, x.ndim, allow_none=False)  # type: ignore[misc]
    xp = array_module(xd)
    a = xp.abs(xd)
    if p == math.inf:
        out = a.max(axis, keepdims=True)
    elif p == 0:
        out = (a != 0).sum(axis, keepdims=True).astype(xd.dtype)
    elif p == 2:
        out = xp.sqrt((xd * xd).sum(axis, keepdims=True))
    else:
        out = (a**p).sum(axis, keepdims=True) ** (1 / p)
    kept = out.shape
    if not keepdim:
        out = out.squeeze(axis)

    def grad(ops: Any, g: Any, out: Any, x: Any) -> Any:
        g, out = g.reshape(kept), out.reshape(kept)
        if p == math.inf:
            hits = (abs(x) == out).astype(g.dtype)
            return ops.sign(x) * hits * (g / hits.sum(axis, keepdims=True))
        if p == 1:
            return g * ops.sign(x)
        scale = ops.where(out == 0, 0, g / ops.where(out == 0, 1, out if p == 2 else out ** (p - 1)))
        return x * scale if p == 2 else ops.sign(x) * abs(x) ** (p - 1) * scale

    return record("vector_norm", out, (x,), (xd,), (_no_slope if p == 0 else grad,))


def _no_slope(ops: Any, g: Any, out: Any, x: Any) -> Any:
    """The gradient of the count of non-zeros: zero, in x's shape."""
    return ops.zeros_like(x)


def _check_p(name: str, p: float) -> None:
    if not p >= 0:
        raise ValueError(f"{name}: p must be a non-negative number, got {p}")


def cosine_similarity(x1: TensorLike, x2: TensorLike, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along `dim`, x1 and x2 broadcasting.

    As in PyTorch, the clamp to eps changes the value only: the gradient flows through the norms
    as if unclamped (so a zero vector gets a finite gradient, not nan)."""
    x1, x2 = floating(x1), floating(x2)
    shape = _broadcast_shape("cosine_similarity", x1, x2)
    x1, x2 = x1.broadcast_to(shape), x2.broadcast_to(shape)
    n1, n2 = vector_norm(x1, 2, dim, keepdim=True), vector_norm(x2, 2, dim, keepdim=True)
    return ((x1 / _at_least(n1, eps)) * (x2 / _at_least(n2, eps))).sum(dim)


register(cosine_similarity)


def _broadcast_shape(name: str, a: Tensor, b: Tensor) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} can't be broadcast together") from None


def _at_least(n: Tensor, eps: float) -> Tensor:
    """max(n, eps) in value, with n's gradient (PyTorch clamps the norms under no_grad)."""
    return n + (n.clamp(min=eps) - n).detach()


def pairwise_distance(
    x1: TensorLike, x2: TensorLike, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last dim, x1 and x2 broadcasting (eps keeps the norm off 0)."""
    _check_p("pairwise_distance", p)
    d = floating(x1) - floating(x2) + eps
    return vector_norm(d, p, -1, keepdim)


register(pairwise_distance)


def normalize(input: TensorLike, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along `dim`: unit vectors, and zero vectors left as zeros."""
    _check_p("normalize", p)
    x = floating(input)
    return x / vector_norm(x, p, dim, keepdim=True).clamp(min=eps)


guard_functions(globals(), "normalize")  # not ops: on their tensors' device (registry.py)
