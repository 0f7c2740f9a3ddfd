"""``minigrad.nn.functional``: the stateless functions behind the layers, as ``torch.nn.functional``.

They live in modules by kind (:mod:`.activations`, :mod:`.losses`); this module gathers them.
"""

from ..ops.linalg import linear as linear
from .activations import *  # noqa: F403
from .losses import *  # noqa: F403
