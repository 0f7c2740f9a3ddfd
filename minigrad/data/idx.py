"""The IDX file format (MNIST's), plus the small file helpers the data loaders share.

An IDX file is big-endian: two zero bytes, a type code byte, a byte with the number
of dimensions, each dimension as a uint32, then the data in C order.  Files may be
gzip-compressed; that is detected from the gzip magic bytes, not the file name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_open
from ..tensor import Tensor, tensor

__all__ = ["read_idx", "write_idx", "atomic_open", "to_numpy"]

_TYPE_CODES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_CODE_OF = {dtype: code for code, dtype in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def to_numpy(x: Any) -> np.ndarray:
    """Return `x` as a host numpy array: a Tensor via `.numpy()`, anything else via `np.asarray`."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def read_idx(path: str | os.PathLike) -> Tensor:
    """Read an IDX file (optionally gzipped) into a Tensor of the native-endian dtype.

    Raises FileNotFoundError if `path` is missing, and ValueError naming `path` for a
    corrupt gzip stream, a bad magic number, an unknown type code, or a data section
    shorter or longer than the dimensions imply.
    """
    return tensor(_parse_idx(_read_bytes(Path(path)), path))


def write_idx(array: Any, path: str | os.PathLike) -> None:
    """Write an array or Tensor as an IDX file, atomically; gzip it if `path` ends in `.gz`.

    The dtype must be one IDX can hold: uint8, int8, int16, int32, float32 or float64.
    """
    arr = to_numpy(array)
    code = _CODE_OF.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX cannot store dtype {arr.dtype}; use one of {sorted(map(str, _CODE_OF))}")
    if arr.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder(">")).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_open(path) as f:
        f.write(payload)


def _read_bytes(path: Path) -> bytes:
    """The file's contents, gunzipped if they start with the gzip magic bytes."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt gzip stream ({e})") from e


def _parse_idx(buf: bytes, path: str | os.PathLike) -> np.ndarray:
    """Decode the IDX bytes `buf` (read from `path`, named in errors) into a writable array."""
    if len(buf) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(buf)} bytes)")
    zero0, zero1, code, ndim = buf[:4]
    if (zero0, zero1) != (0, 0):
        raise ValueError(f"{path}: not an IDX file (magic number starts {buf[:2].hex()}, expected 0000)")
    if code not in _TYPE_CODES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}")
    offset = 4 + 4 * ndim
    if len(buf) < offset:
        raise ValueError(f"{path}: truncated IDX header ({len(buf)} bytes, {ndim} dimensions need {offset})")
    shape = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPE_CODES[code]
    expected = dtype.itemsize * int(np.prod(shape, dtype=object))
    actual = len(buf) - offset
    if actual != expected:
        problem = "truncated" if actual < expected else "trailing garbage after the data"
        raise ValueError(f"{path}: {problem}: shape {shape} of {dtype} needs {expected} data bytes, found {actual}")
    data = np.frombuffer(buf, dtype=dtype.newbyteorder(">"), count=expected // dtype.itemsize, offset=offset)
    return data.astype(dtype).reshape(shape)  # astype copies into a writable native-endian array
