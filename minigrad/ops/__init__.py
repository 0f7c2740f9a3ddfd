"""Every op of minigrad: a function here (and at top level), and a Tensor method where PyTorch has one.

Each op is defined, with its gradient, in the module for its kind and registered in the
op table (:mod:`.registry`), from which the Tensor methods and operators are attached
below. This module doubles as the array math of differentiable gradients: under
``create_graph=True`` gradient formulas get it as their `ops` argument.
"""

from ..creation import new_full, new_ones, new_tensor, new_zeros  # Tensor.new_*, attached with the rest
from ..creation import zeros_like as zeros_like  # for formulas: ops.zeros_like, the zero gradient
from ..tensor import Tensor
from .activation import *
from .conv import *
from .conv import col2im as col2im  # for formulas: ops.im2col and ops.col2im, each the other's gradient
from .conv import im2col as im2col
from .conversion import *
from .diagonal import *
from .distance import *
from .einsum import *
from .elementwise import *
from .indexing import *
from .inplace import *
from .linalg import *
from .logic import *
from .math import *
from .normalization import *
from .pooling import *
from .rearrange import *
from .reduction import *
from .registry import OPS, attach_methods
from .scan import *
from .shape import *
from .shape import T, mT
from .sorting import *

attach_methods(Tensor)
Tensor.T = property(T)  # type: ignore[method-assign,assignment]
Tensor.mT = property(mT)  # type: ignore[method-assign,assignment]
