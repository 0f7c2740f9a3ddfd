"""Metrics: the fraction of right answers, as a 0-d float32 tensor without gradient.

Like the losses they check shapes instead of broadcasting: predictions of shape (n, 1)
against targets of shape (n,) would compare every prediction with every target.
"""

from __future__ import annotations

from .autograd import no_grad
from .nn.losses import check_same_shape
from .ops import sigmoid as _sigmoid
from .ops.operands import as_tensor, same_device
from .tensor import Tensor, float32

__all__ = ["accuracy", "binary_accuracy", "batch_accuracy"]


def _fraction(name: str, correct: Tensor) -> Tensor:
    if correct.array.size == 0:
        raise ValueError(f"{name}: no predictions to score (empty tensors)")
    return correct.astype(float32).mean()


@no_grad()
def accuracy(input, target) -> Tensor:
    """Fraction of predictions equal to `target` (integer class indices).

    `input` is either class indices of the same shape as `target`, or scores/logits with
    one more (last) axis, of shape target.shape + (C,), whose argmax is the prediction.
    """
    input, target = as_tensor(input), as_tensor(target)
    if target.dtype.kind not in "biu":
        raise TypeError(f"accuracy: the target must hold integer class indices, got dtype {target.dtype}")
    same_device("accuracy", [input, target])
    if input.ndim == target.ndim + 1 and input.shape[:-1] == target.shape and input.shape[-1] != 1:
        if input.shape[-1] == 0:
            raise ValueError(f"accuracy: the input of shape {input.shape} has no classes on its last axis")
        input = input.argmax(-1)
    elif input.shape == target.shape:
        if input.dtype.kind == "f":
            raise TypeError(
                f"accuracy: got float predictions of the same shape {input.shape} as the targets: pass class "
                "indices (ints), logits of shape target.shape + (C,), or use binary_accuracy for binary outputs"
            )
    elif input.shape == target.shape + (1,):
        raise ValueError(
            f"accuracy: input shape {input.shape} and target shape {target.shape} differ: one score per sample "
            f"is not class logits. Hint: reshape the input with .reshape({target.shape}) if it holds class "
            "indices, or use binary_accuracy for binary outputs."
        )
    else:
        check_same_shape("accuracy", input, target)  # raises, naming both shapes
    return _fraction("accuracy", input == target)


@no_grad()
def binary_accuracy(predictions, targets, threshold: float = 0.5, sigmoid: bool = True) -> Tensor:
    """The chapter's ``batch_accuracy``: mean of ``(sigmoid(p) > threshold) == targets``.

    With ``sigmoid=False`` the predictions are taken as probabilities already. Targets
    are 0/1 (bools, ints or floats) of the same shape as the predictions.
    """
    p, t = as_tensor(predictions), as_tensor(targets)
    check_same_shape("binary_accuracy", p, t, ("predictions", "targets"))
    same_device("binary_accuracy", [p, t])
    if sigmoid:
        p = _sigmoid(p)
    return _fraction("binary_accuracy", (p > threshold) == t)


def batch_accuracy(xb, yb) -> Tensor:
    """The chapter's name for :func:`binary_accuracy` with its defaults (so tables show ``batch_accuracy``)."""
    return binary_accuracy(xb, yb)
