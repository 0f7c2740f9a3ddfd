"""Every op of minigrad: a function here (and at top level), and a Tensor method where PyTorch has one.

Each op is defined, with its gradient, in the module for its kind and registered in the
op table (:mod:`.registry`), from which the Tensor methods and operators are attached
below. This module doubles as the array math of differentiable gradients: under
``create_graph=True`` gradient formulas get it as their `ops` argument.
"""

from ..creation import zeros_like as zeros_like  # for formulas: ops.zeros_like, the zero gradient
from ..tensor import Tensor
from .activation import *
from .conversion import *
from .distance import *
from .elementwise import *
from .indexing import *
from .inplace import *
from .linalg import *
from .logic import *
from .math import *
from .reduction import *
from .registry import OPS, attach_methods
from .shape import *
from .shape import T, mT

attach_methods(Tensor)
Tensor.T = property(T)  # type: ignore[method-assign,assignment]
Tensor.mT = property(mT)  # type: ignore[method-assign,assignment]
