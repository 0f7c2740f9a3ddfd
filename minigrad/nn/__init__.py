"""Neural-network building blocks, as in ``torch.nn``.

    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 10))
    >>> loss = nn.functional.cross_entropy(model(x), y)

Parameters are plain leaf tensors (see :mod:`minigrad.nn.module`). The functions of
:mod:`minigrad.nn.functional` are also available here, as ``nn.<name>``; those that
initialise parameters are in :mod:`minigrad.nn.init`.
"""

from . import functional as functional
from . import init as init
from .conv_layers import *
from .functional import *
from .layers import *
from .loss_modules import *
from .module import *
from .norm_layers import *
