"""minigrad: a small, readable autograd engine with numpy and cupy backends.

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])

Each ``import *`` below brings the public names of one module (its ``__all__``); the
ops among them are those of the op table (:mod:`minigrad.ops.registry`).
"""

import importlib
from typing import Any

from . import cuda as cuda
from . import linalg as linalg
from . import metrics as metrics
from . import nn as nn
from . import optim as optim
from .autograd import *
from .creation import *
from .gradcheck import *
from .jit import *
from .ops.activation import *
from .ops.conv import *
from .ops.conversion import *
from .ops.diagonal import *
from .ops.distance import *
from .ops.einsum import *
from .ops.elementwise import *
from .ops.indexing import *
from .ops.linalg import *
from .ops.logic import *
from .ops.math import *
from .ops.normalization import *
from .ops.pooling import *
from .ops.rearrange import *
from .ops.reduction import *
from .ops.scan import *
from .ops.shape import *
from .ops.sorting import *
from .random import *
from .serialization import *
from .tensor import *
from .transforms import *

__version__ = "0.1.0"

_LAZY = ("data", "learner", "testing")  # they import requests, pillow or hypothesis: load on first use


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name == "show_image":  # fastai's name at the top level too; pillow loads on first use
        return importlib.import_module(".data.images", __name__).show_image
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
