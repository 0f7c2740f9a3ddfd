"""Datasets and loaders: mini-batches of a dataset, shuffled afresh each epoch, as PyTorch and fastai have them.

A dataset is anything with ``__len__`` and ``__getitem__`` (a list, a ``range``,
``list(zip(xs, ys))``, a :class:`TensorDataset`). A :class:`DataLoader` walks it in
batches of indices, fetches the items and collates them into batches:

    >>> dl = DataLoader(range(15), batch_size=5, shuffle=True, generator=minigrad.Generator(42))
    >>> [b.tolist() for b in dl]
    [[6, 7, 9, 3, 0], [11, 14, 10, 5, 2], [4, 12, 1, 13, 8]]

A :class:`TensorDataset` (and a tensor used as a dataset) is batched without a Python
loop per item: its tensors are indexed with the whole batch of indices at once (a
contiguous slice when not shuffled, which costs no copy).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..backend import array_module, device_context, device_of, is_host, parse_device, to_device
from ..ops import stack
from ..random import Generator, default_generator
from ..tensor import Tensor, grad_mode, make, tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader", "DataLoaders", "default_collate", "CollateError"]


@runtime_checkable
class Dataset(Protocol):
    """What a DataLoader needs of a dataset: its length and its i-th item."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class TensorDataset:
    """Tensors sharing their first dimension; item i is the tuple ``(t[i] for t in tensors)``.

    Arrays and nested lists are turned into tensors. Batches from a DataLoader are the
    tensors indexed with all of the batch's indices at once, on the tensors' devices,
    and never require grad.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first dimension to index")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(
                f"TensorDataset: all tensors must have the same size in their first dimension, got sizes {sizes} "
                f"(shapes {[t.shape for t in tensors]})"
            )
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(
            make(np.asarray(a) if isinstance(a, np.generic) else a) for a in (t.array[index] for t in self.tensors)
        )

    def __repr__(self) -> str:
        return f"TensorDataset({', '.join(str(t.shape) for t in self.tensors)})"


class CollateError(TypeError, ValueError):
    """Items of a batch that can't be put together (mismatched shapes, types or devices)."""


def default_collate(batch: Sequence, indices: Sequence[int] | None = None):
    """Put a batch's items together, by the type of its first item.

    tensors and numpy arrays are stacked along a new first axis (into a tensor); Python
    numbers become a tensor (floats float32, ints int64, bools bool), numpy scalars keep
    their dtype; tuples, lists and dicts are collated field by field and keep their
    type; strings are gathered into a tuple. `indices` are the items' indices in the
    dataset, used only to name the offending item in errors.
    """
    if indices is None:
        indices = range(len(batch))
    if len(batch) == 0:
        raise ValueError("can't collate an empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        return _collate_tensors(batch, indices)
    if isinstance(first, np.ndarray):
        return _collate_arrays(batch, indices)
    if isinstance(first, (tuple, list)):
        _same_kind(batch, indices, (tuple, list), "a tuple or list")
        n = len(first)
        for i, item in enumerate(batch):
            if len(item) != n:
                raise CollateError(
                    f"can't collate item at dataset index {indices[i]}: it has {len(item)} fields, but the item "
                    f"at dataset index {indices[0]} has {n}"
                )
        fields = [default_collate(field, indices) for field in zip(*batch)]
        if isinstance(first, tuple):
            return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
        return fields
    if isinstance(first, dict):
        _same_kind(batch, indices, dict, "a dict")
        keys = first.keys()
        for i, item in enumerate(batch):
            if item.keys() != keys:
                raise CollateError(
                    f"can't collate item at dataset index {indices[i]}: its keys {sorted(map(str, item))} differ "
                    f"from those at dataset index {indices[0]} ({sorted(map(str, keys))})"
                )
        return {k: default_collate([item[k] for item in batch], indices) for k in keys}
    if isinstance(first, str):
        _same_kind(batch, indices, str, "a string")
        return tuple(batch)
    if isinstance(first, np.generic):
        _same_kind(batch, indices, (np.generic, numbers.Number), "a number")
        return make(np.array(batch))
    if isinstance(first, numbers.Number):
        _same_kind(batch, indices, numbers.Number, "a number")
        return tensor(list(batch))
    raise CollateError(
        f"can't collate item at dataset index {indices[0]}: a {type(first).__name__} (default_collate takes tensors, "
        "numpy arrays, numbers, strings, and tuples, lists or dicts of them; pass collate_fn for anything else)"
    )


def _same_kind(batch, indices, kinds, what: str) -> None:
    for i, item in enumerate(batch):
        if not isinstance(item, kinds):
            raise CollateError(
                f"can't collate item at dataset index {indices[i]}: it is a {type(item).__name__}, but the item at "
                f"dataset index {indices[0]} is {what}"
            )


def _collate_tensors(batch, indices) -> Tensor:
    _same_kind(batch, indices, Tensor, "a tensor")
    first = batch[0]
    shape, device = first.shape, first.device
    for i, t in enumerate(batch):
        if t.shape != shape:
            raise CollateError(
                f"can't collate item at dataset index {indices[i]}: it has shape {t.shape}, but the item at dataset "
                f"index {indices[0]} has shape {shape}"
            )
    for i, t in enumerate(batch):
        if t.device != device:
            raise CollateError(
                f"can't collate item at dataset index {indices[i]}: it is on {t.device}, but the item at dataset "
                f"index {indices[0]} is on {device}"
            )
    if grad_mode.enabled and any(t.requires_grad for t in batch):
        return stack(batch)  # keeps the graph through the items
    arrays = [t.array for t in batch]
    with device_context(arrays[0]):
        return make(array_module(arrays[0]).stack(arrays))


def _collate_arrays(batch, indices) -> Tensor:
    _same_kind(batch, indices, np.ndarray, "a numpy array")
    shape = batch[0].shape
    for i, a in enumerate(batch):
        if a.shape != shape:
            raise CollateError(
                f"can't collate item at dataset index {indices[i]}: it has shape {a.shape}, but the item at dataset "
                f"index {indices[0]} has shape {shape}"
            )
    out = np.stack(batch)
    if out.dtype == object or out.dtype.kind in "USV":
        raise CollateError(f"can't collate numpy arrays of dtype {out.dtype} (dataset index {indices[0]})")
    return make(out)


class DataLoader:
    """Mini-batches of a dataset, in order or shuffled afresh each epoch.

    Iterating gives one epoch: every item exactly once (less the last partial batch with
    `drop_last`). With `shuffle`, each epoch draws a new order from `generator` (a seeded
    :class:`minigrad.Generator` makes the sequence of epochs reproducible; by default the
    global generator, which :func:`minigrad.manual_seed` seeds). `collate_fn` turns a list
    of items into a batch (default: :func:`default_collate`). With `device`, every tensor of
    a batch (alone, or in a tuple, list or dict) is moved there. ``len()`` is the number of
    batches per epoch.
    """

    dataset: Any
    batch_size: int
    shuffle: bool
    drop_last: bool
    generator: Generator | None
    collate_fn: Callable[[list], Any] | None

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Generator | None = None,
        collate_fn: Callable[[list], Any] | None = None,
        device: str | None = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader needs a dataset with __len__ and __getitem__ (a list, a range, a TensorDataset, ...), "
                f"got {type(dataset).__name__}; wrap an iterator or generator in list()"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"generator must be a minigrad.Generator, got {type(generator).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.device: str | None = None if device is None else "cpu" if parse_device(device)[0] == "cpu" else str(device)
        self._check_not_empty()

    def _check_not_empty(self) -> int:
        n = len(self.dataset)
        if n == 0:
            raise ValueError("DataLoader got an empty dataset")
        return n

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator:
        n = self._check_not_empty()
        bs = self.batch_size
        stop = n - n % bs if self.drop_last else n
        order = (self.generator or default_generator).permutation(n) if self.shuffle else None
        bounds = [(i, min(i + bs, n)) for i in range(0, stop, bs)]
        fetch = self._fast_fetch(order)
        batches = (fetch(start, end) for start, end in bounds) if fetch is not None else self._by_item(order, bounds)
        return batches if self.device is None else (_moved(b, self.device) for b in batches)

    def _fast_fetch(self, order):
        """(start, end) -> batch, for datasets batched by indexing their tensors at once; None for the rest.

        Unshuffled, a batch is a slice of each tensor (on the CPU a read-only view, no copy:
        writing into a batch must not change the dataset; on a GPU a copy); shuffled, the
        tensors are indexed with a slice of the epoch's permutation (moved once per epoch
        to a GPU tensor's device).
        """
        ds = self.dataset
        if self.collate_fn is not None:
            return None
        if isinstance(ds, TensorDataset):
            arrays = [t.array for t in ds.tensors]
        elif isinstance(ds, Tensor) and not ds.requires_grad and ds.ndim > 0:
            arrays = [ds.array]
        else:
            return None
        if order is None:
            pick = [(a, None) for a in arrays]
        else:
            pick = [(a, to_device(order, device_of(a))) for a in arrays]
        if isinstance(ds, Tensor):
            ((a, o),) = pick
            return lambda start, end: _rows(a, o, start, end)
        if len(pick) == 2:  # the common (inputs, targets) case, spelled out
            (x, ox), (y, oy) = pick
            return lambda start, end: (_rows(x, ox, start, end), _rows(y, oy, start, end))
        return lambda start, end: tuple(_rows(a, o, start, end) for a, o in pick)

    def _by_item(self, order, bounds):
        ds = self.dataset
        collate = self.collate_fn
        for start, end in bounds:
            indices = range(start, end) if order is None else order[start:end].tolist()
            items = [ds[i] for i in indices]
            yield collate(items) if collate is not None else default_collate(items, indices)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _rows(array: Any, order: Any, start: int, end: int) -> Tensor:
    """Rows start:end of `array` that can't be written through (a read-only view on the CPU, a copy
    elsewhere) or, shuffled, its rows order[start:end]; made on its device."""
    if order is None:
        rows = array[start:end]
        if is_host(rows):
            rows.flags.writeable = False
            return make(rows)
    with device_context(array):
        return make(rows.copy() if order is None else array[order[start:end]])


def _moved(batch: Any, device: str) -> Any:
    """`batch` with every tensor in it (alone, or in a tuple, list or dict) on `device`."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_moved(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _moved(v, device) for k, v in batch.items()}
    return batch


class DataLoaders:
    """A training and a validation DataLoader, as fastai pairs them: ``dls.train``, ``dls.valid``, ``dls[0]``."""

    def __init__(self, train: DataLoader, valid: DataLoader):
        self.train = train
        self.valid = valid

    @classmethod
    def from_datasets(
        cls,
        train_ds,
        valid_ds,
        batch_size: int = 64,
        shuffle_train: bool = True,
        generator: Generator | None = None,
        drop_last: bool = False,
        valid_batch_size: int | None = None,
        collate_fn: Callable | None = None,
    ) -> DataLoaders:
        """Loaders for two datasets: the training one shuffled (and `drop_last` applied), the validation one not."""
        train = DataLoader(
            train_ds, batch_size, shuffle=shuffle_train, drop_last=drop_last, generator=generator, collate_fn=collate_fn
        )
        valid = DataLoader(valid_ds, valid_batch_size or batch_size, collate_fn=collate_fn)
        return cls(train, valid)

    from_dsets = from_datasets  # fastai's name

    def __getitem__(self, i: int) -> DataLoader:
        return (self.train, self.valid)[i]

    def __len__(self) -> int:
        return 2

    def __iter__(self):
        return iter((self.train, self.valid))

    def __repr__(self) -> str:
        return f"DataLoaders(train={self.train!r}, valid={self.valid!r})"
