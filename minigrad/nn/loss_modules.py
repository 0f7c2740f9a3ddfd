"""The losses as modules (``nn.MSELoss()``, ``nn.CrossEntropyLoss(weight=...)``, ...), and the
distance modules, as in ``torch.nn``: each holds its options and calls its function in
:mod:`minigrad.nn.functional` with them (:class:`~minigrad.nn.layers.Functional`).

A ``weight`` given to a loss module is kept as a plain attribute (minigrad modules have no
buffers): it is neither in ``state_dict()`` nor moved by ``.to()``; put it on the input's device.
"""

from __future__ import annotations

from ..tensor import TensorLike
from . import functional as F
from .layers import Functional

__all__ = [
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "NLLLoss", "KLDivLoss", "CosineSimilarity", "PairwiseDistance",
]  # fmt: skip


class _Loss(Functional):
    """A loss module: `reduction` ("mean", "sum" or "none") and the options of its function.
    Its repr shows no options, as PyTorch's."""

    options: tuple[str, ...] = ("reduction",)

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self) -> str:
        return ""


class MSELoss(_Loss):
    """(input - target)², reduced."""

    function = F.mse_loss


class L1Loss(_Loss):
    """|input - target|, reduced."""

    function = F.l1_loss


class SmoothL1Loss(_Loss):
    """Quadratic below `beta`, linear above, reduced (see :func:`~minigrad.nn.functional.smooth_l1_loss`)."""

    function = F.smooth_l1_loss
    options = ("reduction", "beta")

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta


class HuberLoss(_Loss):
    """Quadratic below `delta`, linear above, reduced (see :func:`~minigrad.nn.functional.huber_loss`)."""

    function = F.huber_loss
    options = ("reduction", "delta")

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, optionally weighted per element."""

    function = F.binary_cross_entropy
    options = ("weight", "reduction")

    def __init__(self, weight: TensorLike | None = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (stable), optionally weighted per element and per positive class."""

    function = F.binary_cross_entropy_with_logits
    options = ("weight", "reduction", "pos_weight")

    def __init__(self, weight: TensorLike | None = None, reduction: str = "mean", pos_weight: TensorLike | None = None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against class indices or probabilities (see
    :func:`~minigrad.nn.functional.cross_entropy`)."""

    function = F.cross_entropy
    options = ("weight", "ignore_index", "reduction", "label_smoothing")

    def __init__(
        self,
        weight: TensorLike | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, label_smoothing


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities at class indices (see :func:`~minigrad.nn.functional.nll_loss`)."""

    function = F.nll_loss
    options = ("weight", "ignore_index", "reduction")

    def __init__(self, weight: TensorLike | None = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index


class KLDivLoss(_Loss):
    """KL divergence of log-probabilities `input` from `target` (``reduction="batchmean"`` for the true one)."""

    function = F.kl_div
    options = ("reduction", "log_target")

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target


# ---- distances ---------------------------------------------------------------------------------------
class CosineSimilarity(Functional):
    """The cosine of the angle between x1 and x2 along `dim`."""

    function = F.cosine_similarity
    options = ("dim", "eps")

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps


class PairwiseDistance(Functional):
    """‖x1 - x2 + eps‖_p along the last dim."""

    function = F.pairwise_distance
    options = ("p", "eps", "keepdim")

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.p, self.eps, self.keepdim = p, eps, keepdim
