"""Initialising parameters in place, as ``torch.nn.init``: the layers' default initialisations.

Random values are drawn on the host from `generator` (or minigrad's default one, see
:func:`minigrad.manual_seed`) and then copied to the tensor's device, so a seed gives the same
values on every device.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import to_device
from ..random import Generator, rand
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "kaiming_uniform_", "zeros_", "ones_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for `nonlinearity`: sqrt(2) for relu, sqrt(2 / (1 + a^2)) for
    leaky_relu with negative slope `param` (default 0.01), 1 for linear and conv."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in(t: Tensor) -> int:
    """Inputs per output of a weight: its dim 1 times the kernel's size (PyTorch's fan_in)."""
    if t.ndim < 2:
        raise ValueError(f"fan_in needs a weight of 2 or more dims, got shape {t.shape}")
    return t.shape[1] * math.prod(t.shape[2:])


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill `t` with values uniform in [a, b); returns `t`."""
    u = rand(*t.shape, generator=generator, dtype=t.dtype).array
    half, mid = (np.asarray(v, dtype=u.dtype) for v in ((b - a) / 2, (a + b) / 2))
    t.array = to_device((u * 2 - 1) * half + mid, t.device)
    return t


def kaiming_uniform_(
    t: Tensor, a: float = 0.0, nonlinearity: str = "leaky_relu", generator: Generator | None = None
) -> Tensor:
    """Fill `t` uniformly in [-bound, bound), bound = gain * sqrt(3 / fan_in) (He et al.). With
    ``a=sqrt(5)``, PyTorch's default for Linear and Conv, the bound is 1 / sqrt(fan_in)."""
    n = fan_in(t)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / n) if n else 0.0
    return uniform_(t, -bound, bound, generator)


def zeros_(t: Tensor) -> Tensor:
    """Fill `t` with zeros; returns `t`."""
    t.array[...] = 0
    return t


def ones_(t: Tensor) -> Tensor:
    """Fill `t` with ones; returns `t`."""
    t.array[...] = 1
    return t
