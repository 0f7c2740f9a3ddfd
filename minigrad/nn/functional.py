"""``minigrad.nn.functional``: the stateless functions behind the layers, as ``torch.nn.functional``.

They live in modules by kind (:mod:`.activations`, :mod:`.losses`); this module gathers them,
with the ops PyTorch also offers here (linear, one_hot, pad, the convolutions, pooling and
normalisations of :mod:`minigrad.ops.conv` & co.).
"""

from ..ops.conv import conv1d as conv1d
from ..ops.conv import conv2d as conv2d
from ..ops.conv import conv_transpose2d as conv_transpose2d
from ..ops.conv import fold as fold
from ..ops.conv import unfold as unfold
from ..ops.indexing import embedding as embedding
from ..ops.indexing import one_hot as one_hot
from ..ops.linalg import linear as linear
from ..ops.normalization import batch_norm as batch_norm
from ..ops.normalization import dropout as dropout
from ..ops.normalization import group_norm as group_norm
from ..ops.normalization import layer_norm as layer_norm
from ..ops.pooling import adaptive_avg_pool2d as adaptive_avg_pool2d
from ..ops.pooling import adaptive_max_pool2d as adaptive_max_pool2d
from ..ops.pooling import avg_pool1d as avg_pool1d
from ..ops.pooling import avg_pool2d as avg_pool2d
from ..ops.pooling import max_pool1d as max_pool1d
from ..ops.pooling import max_pool2d as max_pool2d
from ..ops.rearrange import pad as pad
from ..ops.resampling import interpolate as interpolate
from .activations import *  # noqa: F403
from .losses import *  # noqa: F403
