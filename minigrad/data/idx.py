"""The IDX file format (MNIST's), and ``to_numpy``, which the image helpers share.

An IDX file is big-endian: two zero bytes, a type code byte, a byte with the number
of dimensions, each dimension as a uint32, then the data in C order.  Files may be
gzip-compressed; that is detected from the gzip magic bytes, not the file name.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_open
from ..tensor import Tensor, tensor

__all__ = ["read_idx", "write_idx", "to_numpy"]

_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_CODE_OF = {dtype: code for code, dtype in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 20


def to_numpy(x: Any) -> np.ndarray:
    """Return `x` as a host numpy array: a Tensor via `.numpy()`, anything else via `np.asarray`."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def read_idx(path: str | os.PathLike) -> Tensor:
    """Read an IDX file (optionally gzipped) into a Tensor of the native-endian dtype.

    Raises FileNotFoundError if `path` is missing, and ValueError naming `path` for a
    corrupt gzip stream, a bad magic number, an unknown type code, or a data section
    shorter or longer than the dimensions imply. The dimensions are checked against the
    data actually there before anything of their size is allocated.
    """
    return tensor(_read_idx(Path(path)))


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


def _read_idx(path: Path) -> np.ndarray:
    """Decode the IDX file at `path` (gzipped or not) into a writable native-endian array."""
    data: bytes | bytearray
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            shape, dtype, offset = _read_header(raw, path)
            _check_size(path, shape, dtype, path.stat().st_size - offset)  # before reading the data
            data = raw.read()
        else:
            try:
                with gzip.GzipFile(fileobj=raw) as stream:
                    try:
                        shape, dtype, offset = _read_header(stream, path)
                    except ValueError:  # garbage may come from a corrupt gzip stream: then say that
                        while stream.read(_BLOCK):
                            pass
                        raise
                    data = _read_at_most(stream, dtype.itemsize * math.prod(shape) + 1)
            except (OSError, EOFError, zlib.error) as e:
                raise ValueError(f"{path}: corrupt gzip stream ({e})") from e
    _check_size(path, shape, dtype, len(data))
    array = np.frombuffer(data, dtype=dtype.newbyteorder(">"), count=math.prod(shape))
    return array.astype(dtype).reshape(shape)  # astype copies into a writable native-endian array


def _read_header(stream: io.BufferedIOBase, path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header size in bytes) from the start of an IDX stream."""
    start = stream.read(4)
    if len(start) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(start)} bytes)")
    zero0, zero1, code, ndim = start
    if (zero0, zero1) != (0, 0):
        raise ValueError(f"{path}: not an IDX file (magic number starts {start[:2].hex()}, expected 0000)")
    if code not in _TYPE_CODES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({4 + len(dims)} bytes, {ndim} dimensions need {4 + 4 * ndim})")
    shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    return shape, _TYPE_CODES[code], 4 + 4 * ndim


def _check_size(path: Path, shape: tuple[int, ...], dtype: np.dtype, actual: int) -> None:
    """A ValueError unless `actual` data bytes are exactly what `shape` of `dtype` needs."""
    expected = dtype.itemsize * math.prod(shape)
    if actual != expected:
        problem = "truncated" if actual < expected else "trailing garbage after the data"
        raise ValueError(f"{path}: {problem}: shape {shape} of {dtype} needs {expected} data bytes, found {actual}")


def _read_at_most(stream: io.BufferedIOBase, limit: int) -> bytearray:
    """Up to `limit` bytes of `stream`, read block by block: memory grows only with the data really there."""
    data = bytearray()
    while len(data) < limit and (block := stream.read(min(_BLOCK, limit - len(data)))):
        data += block
    return data
