"""Optimizers, as ``torch.optim``: :class:`SGD` and :class:`Adam` (in :mod:`.optimizers`)."""

from .optimizers import *
