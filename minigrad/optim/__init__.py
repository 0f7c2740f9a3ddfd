"""Optimizers, as ``torch.optim``: :class:`SGD` and :class:`Adam` (in :mod:`.optimizers`), and the
learning-rate schedules of :mod:`.lr_scheduler`."""

from . import lr_scheduler as lr_scheduler
from .optimizers import *
