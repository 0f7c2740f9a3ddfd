"""Checking analytic gradients against central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import autograd
from .ops import cat
from .tensor import Tensor, tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def _float64_inputs(inputs) -> list[Tensor]:
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    out = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or t.dtype.kind != "f":
            raise TypeError(f"gradcheck: input {i} must be a float tensor")
        out.append(Tensor(t.array.astype(np.float64), requires_grad=True))
    return out


def _check(fn, inputs: list[Tensor], eps: float, atol: float, rtol: float, what: str) -> bool:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: fn must return a tensor, got {type(out).__name__}")
    weights = np.random.default_rng(0).standard_normal(out.shape)  # checks every output element at once

    def projected(*xs) -> float:
        return float((fn(*xs).numpy().astype(np.float64) * weights).sum())

    if out.requires_grad:
        analytic = autograd.grad((out * tensor(weights, device=out.device)).sum(), inputs, allow_unused=True)
    else:  # fn does not depend on its inputs through differentiable ops
        analytic = [None] * len(inputs)
    for i, (x, a) in enumerate(zip(inputs, analytic)):
        a = np.zeros(x.shape) if a is None else a.numpy()
        base = x.array
        for idx in np.ndindex(*x.shape):
            numeric = 0.0
            for sign in (1, -1):
                moved = base.copy()
                moved[idx] += sign * eps
                x.array = moved
                numeric += sign * projected(*inputs)
            x.array = base
            numeric /= 2 * eps
            if not abs(a[idx] - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"{what}: gradient mismatch for input {i} at element {idx}: "
                    f"analytic {a[idx]:.8g}, numeric {numeric:.8g} "
                    "(derivatives of a random weighted sum of the output)"
                )
    return True


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare fn's gradients with central finite differences in float64 over every input element.

    Raises :class:`GradcheckError` naming the input, the element, the analytic and the
    numeric value on a mismatch; returns True otherwise. Inputs are copied to float64.
    """
    return _check(fn, _float64_inputs(inputs), eps, atol, rtol, "gradcheck")


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """gradcheck of fn's gradients themselves: checks second derivatives (create_graph)."""
    inputs = _float64_inputs(inputs)

    def first_derivatives(*xs):
        out = fn(*xs)
        weights = tensor(np.random.default_rng(1).standard_normal(out.shape), device=out.device)
        grads = autograd.grad((out * weights).sum(), list(xs), create_graph=True, allow_unused=True)
        return cat([g.reshape(-1) for g in grads if g is not None])

    return _check(first_derivatives, inputs, eps, atol, rtol, "gradgradcheck")
