"""Checking analytic gradients against central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import autograd
from .ops import cat
from .ops.registry import guard_functions
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
    """Check every input element's column of the Jacobian, projected on a random weighting of the
    output (one backward pass in all); on a mismatch, find and report the Jacobian entry itself."""
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: fn must return a tensor, got {type(out).__name__}")
    weights = np.random.default_rng(0).standard_normal(out.shape)  # checks every output element at once
    analytic: Sequence[Tensor | None] = [None] * len(inputs)  # when fn doesn't depend on its inputs
    if out.requires_grad:
        analytic = autograd.grad((out * tensor(weights, device=out.device)).sum(), inputs, allow_unused=True)
    for i, (x, g) in enumerate(zip(inputs, analytic)):
        a = np.zeros(x.shape) if g is None else g.numpy()
        for idx in np.ndindex(*x.shape):
            column = _numeric_column(fn, inputs, x, idx, eps)
            numeric = float((column * weights).sum())
            if not _close(a[idx], numeric, atol, rtol):
                entry, within = _worst_entry(fn, inputs, i, idx, column, atol, rtol)
                if within:  # each entry is, but not their weighted sum: say so
                    entry += (
                        f" (each entry is within tolerance; a random weighted sum of the output is not: "
                        f"analytic {_number(a[idx])}, numeric {_number(numeric)})"
                    )
                raise GradcheckError(f"{what}: gradient mismatch: {entry}")
    return True


def _close(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    return bool(abs(analytic - numeric) <= atol + rtol * abs(numeric))


def _numeric_column(fn, inputs: list[Tensor], x: Tensor, idx: tuple[int, ...], eps: float) -> np.ndarray:
    """d output / d x[idx] for every output element, by central differences."""
    base = x.array
    outputs = []
    for sign in (1, -1):
        moved = base.copy()
        moved[idx] += sign * eps
        x.array = moved
        outputs.append(fn(*inputs).numpy().astype(np.float64))
    x.array = base
    return (outputs[0] - outputs[1]) / (2 * eps)


def _worst_entry(fn, inputs: list[Tensor], i: int, idx: tuple, numeric: np.ndarray, atol, rtol) -> tuple[str, bool]:
    """'d output[j] / d input i [idx]: analytic a, numeric n' for the entry j of the column farthest
    out of tolerance, and whether it is within tolerance after all (one backward pass per output
    element: run only on a mismatch)."""
    out = fn(*inputs)
    analytic = np.zeros(out.shape)
    if out.requires_grad:
        for j in np.ndindex(*out.shape):
            seed = np.zeros(out.shape)
            seed[j] = 1.0
            (g,) = autograd.grad(
                out, [inputs[i]], tensor(seed, device=out.device), retain_graph=True, allow_unused=True
            )
            analytic[j] = 0.0 if g is None else g.numpy()[idx]
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    j = np.unravel_index(np.argmax(excess), excess.shape)
    entry = (
        f"d output{_index(j)} / d input {i}{' ' + _index(idx) if idx else ''}: "
        f"analytic {_number(analytic[j])}, numeric {_number(numeric[j])}"
    )
    return entry, bool(excess[j] <= 0)


def _number(value: float) -> str:
    """8 significant digits, always looking like a float: 3.0, 0.18859533, 1e-09."""
    text = f"{value:.8g}"
    return text if any(c in text for c in ".eninf") else text + ".0"


def _index(idx: tuple) -> str:
    """[1, 2] for the index (1, 2); '' for a 0-d tensor's ()."""
    return f"[{', '.join(str(int(k)) for k in idx)}]" if idx else ""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare fn's gradients with central finite differences in float64 over every input element.

    A first pass checks each input element's derivative of a random weighted sum of the output;
    on a mismatch, :class:`GradcheckError` names the Jacobian entry itself, ``d output[j] / d input
    k [i]``, with its analytic and numeric value (the entry of that column farthest out of
    tolerance). Returns True otherwise. Inputs are copied to float64.
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


guard_functions(globals())  # computed on the inputs' device (minigrad/ops/registry.py)
