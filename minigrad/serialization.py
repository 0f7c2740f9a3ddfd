"""minigrad.save / minigrad.load: state dicts (and nests of tensors and numbers) as .npz files.

The file is an ordinary .npz (a zip of .npy arrays, readable with ``numpy.load``):
one entry per tensor or array, ``t0``, ``t1``, ..., plus ``__minigrad__``, a uint8
array holding UTF-8 JSON that describes the saved object::

    {"format": "minigrad", "version": 1, "tree": <node>}

where a node is a JSON scalar (a Python bool, int, float, str or None) or a tagged
object: ``{"type": "tensor" | "ndarray", "key": "t0"}``, ``{"type": "dict",
"items": [[key, node], ...]}`` (str keys, order kept), ``{"type": "list" | "tuple",
"items": [node, ...]}``.

Saving is atomic: the file is written to a temporary file in the same folder and moved
over `path` only once complete; if anything fails, the temporary file is removed and a
file already at `path` is left as it was. Loading never unpickles (``allow_pickle=False``)
and reports a file that is not one of ours, truncated or corrupt as a
:class:`SerializationError` naming the path. Before allocating an array, it checks the
shape its header declares against the bytes the entry holds, and the total against a limit
(``max_bytes``, default :data:`MAX_LOAD_BYTES`), so a crafted file or a zip bomb can't
exhaust memory; containers may nest at most :data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from . import safetensors_file
from .backend import is_array, to_host
from .files import atomic_open
from .tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

MARKER = "__minigrad__"
FORMAT = "minigrad"
VERSION = 1
_ARRAY_KINDS = "biufc"
MAX_LOAD_BYTES = 8 << 30  # the most load() allocates for one file's arrays, unless given max_bytes
MAX_DEPTH = 100  # how deep dicts, lists and tuples may nest in what is saved and loaded
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError)
_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class SerializationError(ValueError):
    """A file that minigrad.load can't read: not written by minigrad.save, truncated or corrupt."""


# ---- saving ---------------------------------------------------------------------------
def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` to `path` (exactly that name: no suffix is added), atomically.

    `obj` is a tensor, a numpy array, a number, a str, None, or dicts (with str keys),
    lists and tuples of these, e.g. a ``state_dict()``. Tensors are saved from any device
    and come back on the CPU with their dtype (their ``requires_grad`` is not saved).
    Anything else is a TypeError naming where it is in `obj`; nothing is written then.

    A path ending in ``.safetensors`` writes that format instead (a flat dict of named tensors,
    readable by PyTorch; see :mod:`minigrad.safetensors_file`).
    """
    path = Path(os.fspath(path))
    if safetensors_file.is_safetensors(path):
        return safetensors_file.save(obj, path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"minigrad.save: can't write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(
            f"minigrad.save: can't write {path}: it is a folder; give a file name, e.g. {path}/model.npz"
        )
    with atomic_open(path, make_parents=False) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            tree = _encode(obj, "obj", _Writer(zf), 0)
            header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
            _write_array(zf, MARKER, np.frombuffer(header.encode("utf-8"), dtype=np.uint8))


class _Writer:
    """Writes arrays into the zip one at a time (one host copy of one tensor at a time)."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.count = 0

    def add(self, array: np.ndarray) -> str:
        key = f"t{self.count}"
        self.count += 1
        _write_array(self.zf, key, array)
        return key


def _write_array(zf: zipfile.ZipFile, key: str, array: np.ndarray) -> None:
    with zf.open(key + ".npy", "w", force_zip64=True) as f:
        np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


def _encode(obj, where: str, writer: _Writer, depth: int):
    if depth > MAX_DEPTH:
        raise ValueError(
            f"minigrad.save: {where[:80]}... is nested more than {MAX_DEPTH} deep (does a container hold itself?)"
        )
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, Tensor):
        return {"type": "tensor", "key": writer.add(_checked(to_host(obj.array), where))}
    if is_array(obj) and not isinstance(obj, np.generic):
        return {"type": "ndarray", "key": writer.add(_checked(to_host(obj), where))}
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf" or isinstance(obj, numbers.Integral):
        return obj.item() if isinstance(obj, np.generic) else int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"minigrad.save: {where} has a key {k!r} of type {type(k).__name__}: dict keys must be str"
                )
            items.append([k, _encode(v, f"{where}[{k!r}]", writer, depth + 1)])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {
            "type": type(obj).__name__ if type(obj) in (list, tuple) else "list",
            "items": [_encode(v, f"{where}[{i}]", writer, depth + 1) for i, v in enumerate(obj)],
        }
    hint = " (to save a model, save its state_dict())" if hasattr(obj, "state_dict") else ""
    raise TypeError(
        f"minigrad.save: {where} is a {type(obj).__name__}, which can't be saved: expected "
        f"tensors, numpy arrays, numbers, str, None, or dicts/lists/tuples of them{hint}"
    )


def _checked(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(f"minigrad.save: {where} has dtype {array.dtype}: only bool and numeric arrays can be saved")
    return array


# ---- loading --------------------------------------------------------------------------
def load(path: str | os.PathLike, *, max_bytes: int | None = None) -> Any:
    """Read what :func:`save` wrote to `path`; tensors come back on the CPU with their dtype.

    A missing file raises FileNotFoundError; a file that is not a minigrad save file
    (another .npz, a text file, ...), a truncated or a corrupt one raises
    :class:`SerializationError` naming `path`, as does one whose arrays would take more than
    `max_bytes` (default :data:`MAX_LOAD_BYTES`) of memory. Nothing is ever unpickled. A
    ``.safetensors`` file (from minigrad or any framework) gives a dict of name -> tensor.
    """
    if safetensors_file.is_safetensors(path):
        return safetensors_file.load(Path(path), SerializationError)
    limit = MAX_LOAD_BYTES if max_bytes is None else max_bytes
    with open(path, "rb") as f:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise SerializationError(f"{path}: not a minigrad save file (not a valid .npz/zip archive: {e})") from None
        with zf:
            reader = _Reader(zf, path, limit)
            header = reader.header()
            return _decode(header["tree"], reader, "tree", 0)


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, path, limit: int):
        self.zf = zf
        self.path = path
        self.entries = {info.filename: info for info in zf.infolist()}
        self.limit = self.left = limit

    def error(self, problem: str) -> SerializationError:
        return SerializationError(f"{self.path}: {problem}")

    def array(self, key: str) -> np.ndarray:
        name = f"{key}.npy"
        info = self.entries.get(name)
        if info is None:
            raise self.error(f"corrupt minigrad save file: entry {name!r} is missing")
        self._reserve(name, info)
        try:
            with self.zf.open(info) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
                if f.read(1):  # also reads to the end, where zipfile checks the CRC
                    raise ValueError("unexpected data after the array")
        except _READ_ERRORS as e:
            raise self.corrupt(name, e) from None
        return array

    def corrupt(self, name: str, problem: object) -> SerializationError:
        return self.error(f"corrupt or truncated entry {name!r}: {str(problem):.300}")

    def _reserve(self, name: str, info: zipfile.ZipInfo) -> None:
        """Check the entry's header before its array is allocated: the shape it declares must match
        the bytes the entry holds, and fit in what is left of the limit."""
        try:
            with self.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in _NPY_HEADER_READERS:
                    raise ValueError(f".npy format version {version}, which minigrad.save does not write")
                shape, _, dtype = _NPY_HEADER_READERS[version](f)
                data_bytes = info.file_size - f.tell()
        except (*_READ_ERRORS, RecursionError, MemoryError) as e:  # the last two: headers nested absurdly deep
            raise self.corrupt(name, e) from None
        needed = math.prod(shape) * dtype.itemsize
        if needed != data_bytes or any(n < 0 for n in shape):
            raise self.corrupt(
                name, f"its header declares shape {shape} of {dtype} ({needed:,} bytes); it holds {data_bytes:,}"
            )
        if needed > self.left:
            raise self.error(
                f"entry {name!r} holds an array of shape {shape} ({needed:,} bytes): loading it would allocate more "
                f"than max_bytes={self.limit:,} (minigrad.serialization.MAX_LOAD_BYTES); "
                "pass a larger max_bytes to load() if you trust the file"
            )
        self.left -= needed

    def header(self) -> dict:
        if f"{MARKER}.npy" not in self.entries:
            raise self.error(f"not a minigrad save file (no {MARKER!r} entry: it was not written by minigrad.save)")
        raw = self.array(MARKER)
        try:
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"a {raw.dtype} array of shape {raw.shape}")
            header = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT or "tree" not in header:
                raise ValueError("not a minigrad header")
        except RecursionError:
            raise self.error(f"corrupt minigrad header (nested more than {MAX_DEPTH} deep)") from None
        except ValueError as e:
            raise self.error(f"corrupt minigrad header ({e})") from None
        version = header.get("version")
        if not isinstance(version, int) or version > VERSION or version < 1:
            raise self.error(
                f"unsupported minigrad save format version {version!r} (this minigrad reads "
                f"version {VERSION}); upgrade minigrad"
            )
        return header


def _decode(node, reader: _Reader, where: str, depth: int):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if depth > MAX_DEPTH:
        raise reader.error(f"corrupt minigrad header: {where[:80]}... is nested more than {MAX_DEPTH} deep")
    kind = node.get("type") if isinstance(node, dict) else None
    try:
        if kind in ("tensor", "ndarray"):
            array = reader.array(node["key"])
            return Tensor(array) if kind == "tensor" else array
        if kind == "dict":
            return {k: _decode(v, reader, f"{where}[{k!r}]", depth + 1) for k, v in node["items"]}
        if kind in ("list", "tuple"):
            items = [_decode(v, reader, f"{where}[{i}]", depth + 1) for i, v in enumerate(node["items"])]
            return items if kind == "list" else tuple(items)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, SerializationError):
            raise
        raise reader.error(f"corrupt minigrad header at {where} ({type(e).__name__}: {e})") from None
    raise reader.error(f"corrupt minigrad header at {where}: unknown node {node!r:.80}")
