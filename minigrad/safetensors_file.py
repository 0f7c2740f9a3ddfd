"""``.safetensors`` files: state dicts that PyTorch (and other frameworks) read and write.

:func:`minigrad.save` and :func:`minigrad.load` use this module for paths ending in
``.safetensors``. The format holds a flat mapping of names to arrays, which is what a
``state_dict()`` is; minigrad's key names and shapes are PyTorch's for the same
architecture (``0.weight``, ``0.bias`` in a ``Sequential``), so
``torch_model.load_state_dict(safetensors.torch.load_file(path))`` works unchanged.
It needs the optional ``safetensors`` package: ``pip install 'minigrad[safetensors]'``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .backend import is_array, to_host
from .files import atomic_open
from .tensor import Tensor

SUFFIX = ".safetensors"


def is_safetensors(path: str | os.PathLike) -> bool:
    return Path(path).suffix == SUFFIX


def _numpy_api() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "reading and writing .safetensors files needs the safetensors package: pip install 'minigrad[safetensors]'"
        ) from None
    return safetensors.numpy


def save(state: Any, path: Path) -> None:
    """Write a flat mapping of names to tensors (or arrays) as a safetensors file, atomically."""
    api = _numpy_api()
    if not isinstance(state, Mapping):
        raise TypeError(
            f"minigrad.save: a .safetensors file holds a flat mapping of names to tensors (a state_dict()), "
            f"got a {type(state).__name__}"
        )
    arrays = {}
    for name, value in state.items():
        array = value.array if isinstance(value, Tensor) else value
        if not isinstance(name, str) or not is_array(array):
            raise TypeError(
                f"minigrad.save: a .safetensors file maps str names to tensors; entry {name!r} is a "
                f"{type(value).__name__}"
            )
        arrays[name] = np.ascontiguousarray(to_host(array))
    with atomic_open(path) as f:
        f.write(api.save(arrays, metadata={"format": "pt"}))


def load(path: Path, error: type[Exception]) -> dict[str, Tensor]:
    """The tensors of a safetensors file (written by minigrad or any other framework), on the CPU."""
    api = _numpy_api()
    data = Path(path).read_bytes()
    try:
        arrays = api.load(data)
    except Exception as e:  # the reader's own errors: a truncated or corrupt file, a dtype numpy lacks
        raise error(f"{path}: not a readable .safetensors file ({type(e).__name__}: {e})") from None
    return {name: Tensor(array) for name, array in arrays.items()}
