"""Losses (and the similarities and distances of ``nn.functional``), from minigrad's differentiable ops.

Every loss takes ``reduction="mean" | "sum" | "none"`` and checks its arguments'
shapes instead of broadcasting them: predictions of shape (n, 1) against targets of
shape (n,) would broadcast to (n, n) and train on the wrong thing without a word.
Targets of another dtype (bool, int, float64, ...) are cast to the input's float dtype.
Weights (``weight``, ``pos_weight``) rescale the loss; they are constants, not differentiated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import array_module
from ..ops import abs, log, sigmoid, where
from ..ops.activation import pointwise
from ..ops.distance import cosine_similarity, normalize, pairwise_distance
from ..ops.operands import as_tensor, broadcasts_to, same_device
from ..ops.registry import guard_functions
from ..tensor import Tensor, TensorLike
from .activations import log_softmax, softplus

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "kl_div", "mnist_loss", "cosine_similarity", "pairwise_distance", "normalize",
]  # fmt: skip

_REDUCTIONS = ("mean", "sum", "none")


# ---- checks shared by the losses ----------------------------------------------------------
def _check_reduction(name: str, reduction, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if not isinstance(reduction, str) or reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{name}: reduction must be {names}, got {reduction!r}")


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


def _pair(name: str, input, target, reduction, reductions: tuple[str, ...] = _REDUCTIONS) -> tuple[Tensor, Tensor]:
    """(input, target) as tensors, checked: same shape, float input, target cast to its dtype."""
    _check_reduction(name, reduction, reductions)
    input, target = as_tensor(input), as_tensor(target)
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {input.dtype}")
    check_same_shape(name, input, target)
    same_device(name, [input, target])
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


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """d²/(2 beta) where |d| < beta, else |d| - beta/2, for d = input - target (l1_loss when beta = 0)."""
    input, target = _pair("smooth_l1_loss", input, target, reduction)
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return _reduce(abs(input - target), reduction)
    return _reduce(_huber("smooth_l1_loss", input - target, beta, 1 / beta), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """d²/2 where |d| < delta, else delta (|d| - delta/2), for d = input - target: delta * smooth_l1_loss."""
    input, target = _pair("huber_loss", input, target, reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _reduce(_huber("huber_loss", input - target, delta, 1.0), reduction)


def _huber(name: str, d: Tensor, delta: float, scale: float) -> Tensor:
    """scale * (d²/2 where |d| < delta, else delta (|d| - delta/2)); gradient scale * clamp(d, -delta, delta)."""
    return pointwise(
        name,
        d,
        lambda xp, d: xp.where(xp.abs(d) < delta, d * d * (scale / 2), (xp.abs(d) - delta / 2) * (delta * scale)),
        lambda ops, g, out, d: ops.where((d > -delta) & (d < delta), d, ops.sign(d) * delta) * (g * scale),
    )


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log(target) - input): the KL divergence of `input` (log-probabilities) from
    `target` (probabilities, or log-probabilities with `log_target`), 0 where target is 0.

    ``reduction="batchmean"`` divides the sum by the batch size (the true KL divergence per
    sample); ``"mean"``, PyTorch's default, by the number of elements.
    """
    input, t = _pair("kl_div", input, target, reduction, (*_REDUCTIONS, "batchmean"))
    if log_target:
        loss = t.exp() * (t - input)
    else:
        loss = t * log(where(t > 0, t, 1)) - t * input  # t log t is 0 at t = 0
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


# ---- binary classification ---------------------------------------------------------------------
def bce_eps(dtype) -> float:
    """The default clamp of binary_cross_entropy: 1e-7, or the dtype's machine epsilon when
    that is larger (float32: 1.19e-7, float16: 9.8e-4), so that 1 - eps < 1 stays representable."""
    return max(1e-7, float(np.finfo(dtype).eps))


def binary_cross_entropy(
    input, target, weight: TensorLike | None = None, *, reduction: str = "mean", eps: float | None = None
) -> Tensor:
    """-weight * (t log p + (1 - t) log(1 - p)) for probabilities `input`.

    p is clamped to [eps, 1 - eps] (eps from :func:`bce_eps` unless given) so the loss
    stays finite at p = 0 or 1: it is at most -log(eps) (about 16 for float32) per
    element, and the gradient is 0 where p was clamped. Inputs or targets outside [0, 1]
    (or NaN) are a ValueError, as in PyTorch. Prefer :func:`binary_cross_entropy_with_logits`
    on logits: it needs no clamp. `weight` (broadcasting to the input's shape) rescales each
    element's loss.
    """
    input, target = _pair("binary_cross_entropy", input, target, reduction)
    hint = " (logits? binary_cross_entropy_with_logits takes them and applies the sigmoid itself)"
    _check_unit_interval("binary_cross_entropy", "input", input, hint)
    _check_unit_interval("binary_cross_entropy", "target", target, "")
    eps = bce_eps(input.dtype) if eps is None else float(eps)
    if not 0 <= eps < 0.5:
        raise ValueError(f"binary_cross_entropy: eps must be in [0, 0.5), got {eps}")
    p = input.clamp(eps, 1 - eps)
    loss = -(target * log(p) + (1 - target) * log(1 - p))
    return _reduce(_weighted("binary_cross_entropy", loss, weight), reduction)


def _check_unit_interval(name: str, what: str, t: Tensor, hint: str) -> None:
    """A ValueError naming a value of `t` outside [0, 1] (NaN included), if it has one."""
    a = t.array
    if not a.size:
        return
    low, high = a.min(), a.max()
    if not (low >= 0 and high <= 1):  # False for NaN too
        found = low if not low >= 0 else high
        raise ValueError(f"{name}: the {what} must be in [0, 1], found {float(found):g}{hint}")


def binary_cross_entropy_with_logits(
    input, target, weight: TensorLike | None = None, *, reduction: str = "mean", pos_weight: TensorLike | None = None
) -> Tensor:
    """binary_cross_entropy(sigmoid(x), t), computed stably from the logits x as
    softplus(x) - x t (softplus(x) = log(1 + e^x), without overflow): loss and gradient
    sigmoid(x) - t are finite at any logit.

    `pos_weight` (broadcasting along the last dim: one per class) weighs the positive term:
    (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x). `weight` rescales each element's loss.
    """
    x, t = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    if pos_weight is None:
        loss = softplus(x, threshold=math.inf) - x * t
    else:
        pw = _constant("binary_cross_entropy_with_logits", "pos_weight", pos_weight, x)
        loss = (1 - t) * x + ((pw - 1) * t + 1) * softplus(-x, threshold=math.inf)
    return _reduce(_weighted("binary_cross_entropy_with_logits", loss, weight), reduction)


def _constant(name: str, what: str, value: TensorLike, input: Tensor) -> Tensor:
    """A weight as a constant tensor of the input's dtype, checked to broadcast to its shape."""
    w = as_tensor(value).detach()
    same_device(name, [input, w])
    if not broadcasts_to(w.shape, input.shape):
        raise ValueError(f"{name}: {what} of shape {w.shape} does not broadcast to the input's shape {input.shape}")
    return w if w.dtype == input.dtype else w.astype(input.dtype)


def _weighted(name: str, loss: Tensor, weight: TensorLike | None) -> Tensor:
    return loss if weight is None else loss * _constant(name, "weight", weight, loss)


def mnist_loss(predictions, targets, reduction: str = "mean") -> Tensor:
    """The chapter's loss: mean of ``where(targets == 1, 1 - sigmoid(p), sigmoid(p))``:
    the distance of sigmoid(p) from the right answer (1 for targets equal to 1, else 0)."""
    p, t = _pair("mnist_loss", predictions, targets, reduction)
    s = sigmoid(p)
    return _reduce(where(t == 1, 1 - s, s), reduction)


# ---- multi-class classification ---------------------------------------------------------------
# The input holds a score per class along dim 1: (N, C) or (N, C, d1, ..., dk), or (C,) for one
# sample; the target holds a class index per sample and position, (N, d1, ..., dk) or (), or,
# for cross_entropy, class probabilities of the input's own shape.
def _class_axis(name: str, input: Tensor) -> int:
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {input.dtype}")
    if input.ndim == 0:
        raise ValueError(
            f"{name}: the input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...) "
            f"(a row of C class scores per sample), got shape ()"
        )
    return 1 if input.ndim >= 2 else 0


def _is_probabilities(name: str, input: Tensor, target: Tensor) -> bool:
    """True for a float target of the input's shape (class probabilities); raises for an integer one."""
    if target.shape != input.shape:
        return False
    if target.dtype.kind != "f":
        raise ValueError(
            f"{name}: the target has the input's shape {input.shape}, so it must hold class probabilities "
            f"(floats), got dtype {target.dtype}. Hint: for one-hot targets pass target.argmax(1) "
            "(class indices), or target.float() (probabilities)."
        )
    return True


def _class_indices(name: str, input: Tensor, target: Tensor, axis: int, ignore_index: int) -> tuple[Any, Any]:
    """(the target's class indices, 0 where ignored; a bool array of the kept ones, or None when
    all are kept), checked: shape, integer dtype, values in [0, C) or equal to ignore_index."""
    expected = input.shape[:axis] + input.shape[axis + 1 :]
    if target.shape != expected:
        n = input.shape[0]
        hint = f" Hint: use target.reshape({n},)." if target.shape == (n, 1) and axis == 1 else ""
        if target.shape == input.shape:
            hint = f" Hint: for one-hot targets pass target.argmax({axis})."
        wanted = "()" if axis == 0 else "(N,) = " if len(expected) == 1 else "(N, d1, ...) = "
        raise ValueError(
            f"{name}: the target must be class indices of shape {wanted}{expected if axis else ''} for an input "
            f"of shape {input.shape}, got target shape {target.shape}.{hint}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: the target must hold integer class indices, got dtype {target.dtype} (convert with .long())"
        )
    same_device(name, [input, target])
    y, c = target.array, input.shape[axis]
    outside = (y < 0) | (y >= c)
    if not 0 <= ignore_index < c and not bool(outside.any()):  # the usual case: one check (one GPU sync)
        return y, None
    ignored = y == ignore_index
    bad = outside & ~ignored
    if bool(bad.any()):
        value = y.reshape(-1)[array_module(y).argmax(bad.reshape(-1))].item()
        raise ValueError(
            f"{name}: target values must be class indices in [0, {c}) (or ignore_index={ignore_index}) for an "
            f"input of shape {input.shape}, found {value}"
        )
    if not bool(ignored.any()):
        return y, None
    return array_module(y).where(ignored, 0, y), ~ignored


def _class_weight(name: str, weight: TensorLike | None, input: Tensor, axis: int) -> Tensor | None:
    """The per-class weight as a constant of the input's dtype, shaped to broadcast along the
    class dim, or None."""
    if weight is None:
        return None
    w = as_tensor(weight)
    c = input.shape[axis]
    if w.shape != (c,):
        raise ValueError(f"{name}: weight must have one value per class, shape ({c},), got shape {w.shape}")
    same_device(name, [input, w])
    return Tensor(w.array.astype(input.dtype).reshape((c,) + (1,) * (input.ndim - axis - 1)))  # a copy


def _picked(log_probs: Tensor, y: Any, axis: int) -> Tensor:
    """log_probs at each sample's (and position's) class y: log_probs[n, y[n, d...], d...]."""
    if axis == 0:
        return log_probs[y]
    xp = array_module(y)
    grids = [xp.arange(n).reshape((-1,) + (1,) * (y.ndim - i - 1)) for i, n in enumerate(y.shape)]
    index = (grids[0], y, *grids[1:])
    return log_probs[index]


def _nll(
    log_probs: Tensor, y: Any, kept: Any, weight: Tensor | None, axis: int, reduction: str, smoothing: float = 0.0
) -> Tensor:
    """-weight[y] * log_probs[..., y, ...] per sample (0 where ignored), mixed with the
    label-smoothing term; "mean" divides by the summed weights of the kept targets, as PyTorch."""
    kept = None if kept is None else Tensor(kept.astype(log_probs.dtype))
    scale = None if weight is None else weight.reshape(-1)[y]
    if kept is not None:
        scale = kept if scale is None else kept * scale
    loss = -_picked(log_probs, y, axis)
    if scale is not None:
        loss = loss * scale
    if smoothing:
        spread = -(log_probs if weight is None else log_probs * weight).sum(axis)
        if kept is not None:
            spread = spread * kept
        loss = loss * (1 - smoothing) + spread * (smoothing / log_probs.shape[axis])
    if reduction == "mean" and scale is not None:
        return loss.sum() / scale.sum()
    return _reduce(loss, reduction)


def nll_loss(
    input, target, weight: TensorLike | None = None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """-weight[c] * input[n, c] for log-probabilities `input` (N, C) (or (N, C, d1, ...), or (C,))
    and class indices c = target[n] (N,) (or (N, d1, ...), or ()).

    Targets equal to `ignore_index` count for nothing; "mean" divides by the summed weights
    of the others (their number without `weight`), as PyTorch does.
    """
    _check_reduction("nll_loss", reduction)
    input, target = as_tensor(input), as_tensor(target)
    axis = _class_axis("nll_loss", input)
    y, kept = _class_indices("nll_loss", input, target, axis, ignore_index)
    return _nll(input, y, kept, _class_weight("nll_loss", weight, input, axis), axis, reduction)


def cross_entropy(
    input,
    target,
    weight: TensorLike | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """nll_loss(log_softmax(input, class dim), target): logits `input` (N, C) (or (N, C, d1, ...),
    or (C,)) against class indices, or against class probabilities of the input's shape.

    `label_smoothing` ε mixes the target with the uniform distribution: (1 - ε) of the loss
    against the target, ε/C against each class. Stable for large logits (see :func:`log_softmax`).
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target = as_tensor(input), as_tensor(target)
    axis = _class_axis("cross_entropy", input)
    weight = _class_weight("cross_entropy", weight, input, axis)
    if _is_probabilities("cross_entropy", input, target):
        same_device("cross_entropy", [input, target])
        return _soft_cross_entropy(log_softmax(input, axis), target, weight, axis, reduction, label_smoothing)
    y, kept = _class_indices("cross_entropy", input, target, axis, ignore_index)
    return _nll(log_softmax(input, axis), y, kept, weight, axis, reduction, label_smoothing)


def _soft_cross_entropy(
    log_probs: Tensor, target: Tensor, weight: Tensor | None, axis: int, reduction: str, smoothing: float
) -> Tensor:
    """-Σ_c weight[c] * t[c] * log_probs[c] per sample; "mean" divides by the number of samples."""
    t = target if target.dtype == log_probs.dtype else target.astype(log_probs.dtype)
    if smoothing:
        t = t * (1 - smoothing) + smoothing / log_probs.shape[axis]
    products = log_probs * t if weight is None else log_probs * t * weight
    return _reduce(-products.sum(axis), reduction)


guard_functions(globals())  # computed on their tensors' device (minigrad/ops/registry.py)
