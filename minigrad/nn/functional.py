"""Activations and losses, composed from minigrad's differentiable ops.

Being compositions, they get gradients (and ``create_graph`` higher derivatives) for
free, on whatever device their inputs live.

Every loss takes ``reduction="mean" | "sum" | "none"`` and checks its arguments'
shapes instead of broadcasting them: predictions of shape (n, 1) against targets of
shape (n,) would broadcast to (n, n) and train on the wrong thing without a word.
Targets of another dtype (bool, int, float64, ...) are cast to the input's float dtype.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..ops import abs, exp, linear, log, maximum, relu, sigmoid, tanh, where
from ..ops.common import as_tensor, same_device
from ..tensor import Tensor, float32

__all__ = [
    "linear",
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

_REDUCTIONS = ("mean", "sum", "none")


# ---- activations ------------------------------------------------------------------------
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


# ---- checks shared by the losses ----------------------------------------------------------
def _check_reduction(name: str, reduction) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def shape_hint(input_shape, target_shape) -> str:
    """A suggestion for the usual shape mistakes, or ''."""
    a, b = tuple(input_shape), tuple(target_shape)
    if a[:-1] == b and a[-1:] == (1,):
        return f" Hint: reshape the input with .reshape({_shape_str(b)}) (or .squeeze(-1))."
    if b[:-1] == a and b[-1:] == (1,):
        return f" Hint: reshape the target with .reshape({_shape_str(a)}) (or .squeeze(-1))."
    if np.prod(a, dtype=np.int64) == np.prod(b, dtype=np.int64):
        return " Hint: they have as many elements: reshape one to the other's shape if they line up."
    return ""


def _shape_str(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def check_same_shape(name: str, input: Tensor, target: Tensor, what=("input", "target")) -> None:
    """Raise a ValueError naming both shapes unless they are equal (no broadcasting)."""
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: {what[0]} shape {input.shape} and {what[1]} shape {target.shape} differ; "
            f"they must be equal (broadcasting them would silently compare the wrong elements)."
            + shape_hint(input.shape, target.shape)
        )


def _pair(name: str, input, target, reduction) -> tuple[Tensor, Tensor]:
    """(input, target) as tensors, checked: same shape, float input, target cast to its dtype."""
    _check_reduction(name, reduction)
    input, target = as_tensor(input), as_tensor(target)
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {input.dtype}")
    check_same_shape(name, input, target)
    same_device([input, target])
    if target.dtype != input.dtype:
        target = target.astype(input.dtype)
    return input, target


# ---- regression losses -------------------------------------------------------------------
def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """(input - target)**2, reduced."""
    input, target = _pair("mse_loss", input, target, reduction)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced (gradient 0 where they are equal)."""
    input, target = _pair("l1_loss", input, target, reduction)
    return _reduce(abs(input - target), reduction)


# ---- binary classification ---------------------------------------------------------------------
def bce_eps(dtype) -> float:
    """The default clamp of binary_cross_entropy: 1e-7, or the dtype's machine epsilon when
    that is larger (float32: 1.19e-7, float16: 9.8e-4), so that 1 - eps < 1 stays representable."""
    return max(1e-7, float(np.finfo(dtype).eps))


def binary_cross_entropy(input, target, reduction: str = "mean", eps: float | None = None) -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities `input`.

    p is clamped to [eps, 1 - eps] (eps from :func:`bce_eps` unless given) so the loss
    stays finite at p = 0 or 1: it is at most -log(eps) (about 16 for float32) per
    element, and the gradient is 0 where p was clamped. Inputs or targets outside [0, 1]
    (or NaN) are a ValueError, as in PyTorch. Prefer :func:`binary_cross_entropy_with_logits`
    on logits: it needs no clamp.
    """
    input, target = _pair("binary_cross_entropy", input, target, reduction)
    hint = " (logits? binary_cross_entropy_with_logits takes them and applies the sigmoid itself)"
    _check_unit_interval("binary_cross_entropy", "input", input, hint)
    _check_unit_interval("binary_cross_entropy", "target", target, "")
    eps = bce_eps(input.dtype) if eps is None else float(eps)
    if not 0 <= eps < 0.5:
        raise ValueError(f"binary_cross_entropy: eps must be in [0, 0.5), got {eps}")
    p = input.clamp(eps, 1 - eps)
    return _reduce(-(target * log(p) + (1 - target) * log(1 - p)), reduction)


def _check_unit_interval(name: str, what: str, t: Tensor, hint: str) -> None:
    """A ValueError naming a value of `t` outside [0, 1] (NaN included), if it has one."""
    a = t.array
    if not a.size:
        return
    low, high = a.min(), a.max()
    if not (low >= 0 and high <= 1):  # False for NaN too
        found = low if not low >= 0 else high
        raise ValueError(f"{name}: the {what} must be in [0, 1], found {float(found):g}{hint}")


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits as
    ``max(x, 0) - x t + log(1 + exp(-|x|))``: exp never overflows, so loss and gradient
    are finite at any logit (at x = 0 the gradient is sigmoid(0) - t = 0.5 - t)."""
    x, t = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    return _reduce(maximum(x, 0) - x * t + log(1 + exp(-abs(x))), reduction)


def mnist_loss(predictions, targets, reduction: str = "mean") -> Tensor:
    """The chapter's loss: mean of ``where(targets == 1, 1 - sigmoid(p), sigmoid(p))``:
    the distance of sigmoid(p) from the right answer (1 for targets equal to 1, else 0)."""
    p, t = _pair("mnist_loss", predictions, targets, reduction)
    s = sigmoid(p)
    return _reduce(where(t == 1, 1 - s, s), reduction)


# ---- multi-class classification ---------------------------------------------------------------
def _check_class_target(name: str, input: Tensor, target: Tensor) -> None:
    """input (N, C) of floats; target (N,) of integer class indices in [0, C)."""
    if input.ndim != 2:
        raise ValueError(
            f"{name}: the input must have shape (N, C) (a row of C class scores per sample), got shape {input.shape}"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {input.dtype}")
    n, c = input.shape
    if target.shape != (n,):
        hint = ""
        if target.shape == input.shape:
            hint = " Hint: for one-hot targets pass target.argmax(-1)."
        elif target.shape == (n, 1):
            hint = f" Hint: use target.reshape({n},)."
        raise ValueError(
            f"{name}: the target must be class indices of shape (N,) = ({n},) for an input of "
            f"shape {input.shape}, got target shape {target.shape}.{hint}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: the target must hold integer class indices, got dtype {target.dtype} (convert with .long())"
        )
    same_device([input, target])
    if n:
        td = target.array
        bad = (td < 0) | (td >= c)
        if bool(bad.any()):
            value = td[array_module(td).argmax(bad)].item()
            raise ValueError(
                f"{name}: target values must be class indices in [0, {c}) for an input of "
                f"shape {input.shape}, found {value}"
            )


def nll_loss(input, target, reduction: str = "mean") -> Tensor:
    """-input[i, target[i]] for log-probabilities `input` (N, C) and class indices `target` (N,)."""
    _check_reduction("nll_loss", reduction)
    input, target = as_tensor(input), as_tensor(target)
    _check_class_target("nll_loss", input, target)
    return _nll(input, target, reduction)


def _nll(log_probs: Tensor, target: Tensor, reduction: str) -> Tensor:
    rows = array_module(target.array).arange(log_probs.shape[0])
    return _reduce(-log_probs[rows, target.array], reduction)


def cross_entropy(input, target, reduction: str = "mean") -> Tensor:
    """nll_loss(log_softmax(input, -1), target): logits `input` (N, C), class indices `target` (N,).

    Stable for large logits (see :func:`log_softmax`).
    """
    _check_reduction("cross_entropy", reduction)
    input, target = as_tensor(input), as_tensor(target)
    _check_class_target("cross_entropy", input, target)
    return _nll(log_softmax(input, dim=-1), target, reduction)
