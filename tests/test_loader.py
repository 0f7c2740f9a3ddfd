"""DataLoader, TensorDataset, DataLoaders and default_collate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.data import CollateError, DataLoader, DataLoaders, Dataset, TensorDataset, default_collate

loader_args = dict(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 20),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)


def tensor_dataset(n):
    x = mg.arange(n).astype(np.float32).reshape(n, 1) * mg.ones(1, 3)
    return TensorDataset(x, mg.arange(n))


def epoch_ids(dl, fast: bool) -> list[list[int]]:
    """The dataset indices of each batch of one epoch."""
    if fast:
        out = []
        for x, y in dl:
            np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())  # rows stay paired
            out.append(y.tolist())
        return out
    return [b.tolist() for b in dl]


@given(**loader_args, fast=st.booleans())
def test_every_item_exactly_once_per_epoch(n, batch_size, drop_last, shuffle, seed, fast):
    ds = tensor_dataset(n) if fast else range(n)
    dl = DataLoader(ds, batch_size, shuffle=shuffle, drop_last=drop_last, generator=mg.Generator(seed))
    for _ in range(2):
        batches = epoch_ids(dl, fast)
        assert len(batches) == len(dl)
        assert all(len(b) == batch_size for b in batches[:-1])
        ids = [i for b in batches for i in b]
        assert len(ids) == len(set(ids))
        if drop_last:
            assert len(dl) == n // batch_size and len(ids) == n - n % batch_size
            assert all(len(b) == batch_size for b in batches)
        else:
            assert len(dl) == -(-n // batch_size) and sorted(ids) == list(range(n))
        if not shuffle:
            assert ids == list(range(len(ids)))


@given(n=st.integers(10, 60), batch_size=st.integers(1, 20), seed=st.integers(0, 2**32 - 1), fast=st.booleans())
def test_a_fresh_shuffle_each_epoch(n, batch_size, seed, fast):
    ds = tensor_dataset(n) if fast else range(n)
    dl = DataLoader(ds, batch_size, shuffle=True, generator=mg.Generator(seed))
    first, second = (sum(epoch_ids(dl, fast), []) for _ in range(2))
    assert first != second  # 1 / 10! chance of a false failure
    assert sorted(first) == sorted(second) == list(range(n))


@given(**loader_args)
def test_a_seeded_generator_makes_epochs_reproducible(n, batch_size, drop_last, shuffle, seed):
    def epochs(ds, fast):
        dl = DataLoader(ds, batch_size, shuffle=shuffle, drop_last=drop_last, generator=mg.Generator(seed))
        return [epoch_ids(dl, fast) for _ in range(3)]

    by_index = epochs(tensor_dataset(n), True)
    assert by_index == epochs(tensor_dataset(n), True)
    assert by_index == epochs(range(n), False)  # both paths draw the same order


def test_manual_seed_drives_the_default_generator():
    mg.manual_seed(3)
    a = [b.tolist() for b in DataLoader(range(20), 4, shuffle=True)]
    mg.manual_seed(3)
    b = [b.tolist() for b in DataLoader(range(20), 4, shuffle=True)]
    assert a == b and sum(a, []) != list(range(20))


def test_the_chapters_range_loader():
    dl = DataLoader(range(15), batch_size=5, shuffle=True)
    batches = list(dl)
    assert len(dl) == 3 and len(batches) == 3
    assert all(isinstance(b, mg.Tensor) and b.shape == (5,) and b.dtype == np.int64 for b in batches)
    assert sorted(sum((b.tolist() for b in batches), [])) == list(range(15))


def test_zip_of_tensors_collates_into_pairs():
    x = mg.randn(10, 2, 3, generator=mg.Generator(0))
    y = mg.arange(10).astype(np.float32).reshape(10, 1)
    dl = DataLoader(list(zip(x, y)), batch_size=4)
    batches = list(dl)
    assert len(batches) == 3
    xb, yb = batches[0]
    assert isinstance(batches[0], tuple) and xb.shape == (4, 2, 3) and yb.shape == (4, 1)
    np.testing.assert_array_equal(xb.numpy(), x.numpy()[:4])
    np.testing.assert_array_equal(batches[2][1].numpy(), y.numpy()[8:])
    assert not xb.requires_grad


def test_zip_and_tensor_dataset_give_the_same_batches():
    x = mg.randn(23, 4, generator=mg.Generator(1))
    y = mg.randint(0, 2, (23,), generator=mg.Generator(2))
    a = list(DataLoader(list(zip(x, y)), 5, shuffle=True, generator=mg.Generator(9)))
    b = list(DataLoader(TensorDataset(x, y), 5, shuffle=True, generator=mg.Generator(9)))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        assert xa.dtype == xb.dtype and ya.dtype == yb.dtype


def test_tensor_dataset_items_and_batches():
    x = mg.randn(6, 3, requires_grad=True)
    y = mg.tensor([0, 1, 0, 1, 1, 0])
    ds = TensorDataset(x, y)
    assert isinstance(ds, Dataset) and len(ds) == 6
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[2])
    assert yi.shape == () and yi.item() == 0 and isinstance(yi.array, np.ndarray)
    for shuffle in (False, True):
        for xb, yb in DataLoader(ds, 4, shuffle=shuffle):
            assert not xb.requires_grad and not yb.requires_grad
            assert xb.device == "cpu" and xb.dtype == np.float32 and yb.dtype == np.int64
    assert TensorDataset(np.zeros((3, 2)), [1, 2, 3]).tensors[1].shape == (3,)


def test_single_tensor_dataset_gives_one_tuples_and_a_tensor_dataset_gives_tensors():
    x = mg.arange(7)
    assert [b[0].tolist() for b in DataLoader(TensorDataset(x), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(x, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    batches = list(DataLoader(x, 3, shuffle=True, generator=mg.Generator(0)))
    assert sorted(sum((b.tolist() for b in batches), [])) == list(range(7))


@pytest.mark.parametrize("dataset", ["pair", "triple", "tensor"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_writing_into_a_batch_never_changes_the_dataset(dataset, shuffle):
    x, y, z = mg.arange(12.0).reshape(6, 2), mg.arange(6), mg.ones(6)
    ds = {"pair": TensorDataset(x, y), "triple": TensorDataset(x, y, z), "tensor": x}[dataset]
    before = x.numpy().copy()
    for batch in DataLoader(ds, 4, shuffle=shuffle):
        xb = batch if dataset == "tensor" else batch[0]
        try:
            xb += 100
            xb[0] = -1
        except ValueError as e:  # an unshuffled CPU batch is a read-only view of the dataset
            assert not shuffle and "read-only" in str(e) and "clone()" in str(e)
            assert (xb.clone() + 100).shape == xb.shape
    np.testing.assert_array_equal(x.numpy(), before)


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"sizes \[3, 4\]"):
        TensorDataset(mg.zeros(3, 2), mg.zeros(4))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(mg.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_collate_tensors_numbers_arrays_strings():
    t = default_collate([mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])])
    assert t.shape == (2, 2) and t.dtype == np.float32
    floats = default_collate([1.5, 2.5, 3.0])
    assert floats.dtype == np.float32 and floats.tolist() == [1.5, 2.5, 3.0]
    ints = default_collate([1, 2, 3])
    assert ints.dtype == np.int64 and ints.tolist() == [1, 2, 3]
    assert default_collate([True, False]).dtype == np.bool_
    arrays = default_collate([np.ones((2, 2), np.float64), np.zeros((2, 2), np.float64)])
    assert isinstance(arrays, mg.Tensor) and arrays.shape == (2, 2, 2) and arrays.dtype == np.float64
    scalars = default_collate([np.float64(1.0), np.float64(2.0)])
    assert scalars.dtype == np.float64 and scalars.shape == (2,)
    assert default_collate(["a", "b"]) == ("a", "b")


def test_collate_keeps_structure():
    batch = [(mg.tensor([1.0]), 0, ("a", 1.0)), (mg.tensor([2.0]), 1, ("b", 2.0))]
    x, y, (s, f) = default_collate(batch)
    assert x.shape == (2, 1) and y.tolist() == [0, 1] and s == ("a", "b") and f.tolist() == [1.0, 2.0]
    out = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(out, list) and out[0].dtype == np.int64 and out[1].dtype == np.float32
    d = default_collate([{"x": 1, "y": mg.tensor([1])}, {"x": 2, "y": mg.tensor([2])}])
    assert d["x"].tolist() == [1, 2] and d["y"].shape == (2, 1)


def test_collate_keeps_the_graph_of_items_that_require_grad():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])


@pytest.mark.parametrize(
    "items, index, what",
    [
        ([mg.zeros(3), mg.zeros(3), mg.zeros(3), mg.zeros(2), mg.zeros(3)], 3, "shape"),
        ([1, 2, 3, "x", 5], 3, "str"),
        ([mg.zeros(2), mg.zeros(2), 1.0, mg.zeros(2), mg.zeros(2)], 2, "float"),
        ([(1, 2), (3, 4), (5, 6), (7, 8), (9,)], 4, "fields"),
        ([np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(5)], 4, "shape"),
        ([None] * 5, 0, "NoneType"),
    ],
)
def test_collate_errors_name_the_dataset_index(items, index, what):
    dl = DataLoader(items, batch_size=5)
    with pytest.raises(CollateError, match=rf"dataset index {index}\b.*{what}|{what}.*dataset index {index}\b"):
        list(dl)


def test_collate_error_names_the_index_in_a_later_batch():
    items = [mg.zeros(2)] * 7 + [mg.zeros(3)] + [mg.zeros(2)] * 4
    with pytest.raises(ValueError, match=r"dataset index 7: it has shape \(3,\)"):
        list(DataLoader(items, batch_size=4))
    with pytest.raises(TypeError, match="dataset index 7"):  # CollateError is both
        list(DataLoader(items, batch_size=4))


def test_custom_collate_fn_gets_the_items():
    dl = DataLoader(range(10), batch_size=4, collate_fn=lambda items: sum(items))
    assert list(dl) == [6, 22, 17]
    ds = TensorDataset(mg.arange(5))
    assert [len(b) for b in DataLoader(ds, 2, collate_fn=list)] == [2, 2, 1]


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "3", None])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(range(5), batch_size=batch_size)


def test_loader_errors():
    with pytest.raises(ValueError, match="empty"):
        DataLoader([], batch_size=2)
    with pytest.raises(TypeError, match="__len__"):
        DataLoader((i for i in range(3)), batch_size=2)
    with pytest.raises(TypeError, match="Generator"):
        DataLoader(range(3), shuffle=True, generator=np.random.default_rng(0))
    items = [1, 2]
    dl = DataLoader(items)
    items.clear()
    with pytest.raises(ValueError, match="empty"):
        iter(dl)


def test_batch_size_bigger_than_the_dataset():
    assert [b.tolist() for b in DataLoader(range(3), batch_size=10)] == [[0, 1, 2]]
    dl = DataLoader(range(3), batch_size=10, drop_last=True)
    assert len(dl) == 0 and list(dl) == []


def test_data_loaders_pair():
    train_ds, valid_ds = tensor_dataset(50), tensor_dataset(20)
    dls = DataLoaders.from_datasets(train_ds, valid_ds, batch_size=8, generator=mg.Generator(0))
    assert dls[0] is dls.train and dls[1] is dls.valid and len(dls) == 2
    assert dls.train.shuffle and not dls.valid.shuffle
    assert len(dls.train) == 7 and len(dls.valid) == 3
    assert sum(epoch_ids(dls.valid, True), []) == list(range(20))
    assert sum(epoch_ids(dls.train, True), []) != list(range(50))
    train, valid = dls
    assert train is dls.train and valid is dls.valid
    custom = DataLoaders(DataLoader(range(4), 2), DataLoader(range(2), 2))
    assert [b.tolist() for b in custom.valid] == [[0, 1]]
    assert len(DataLoaders.from_datasets(train_ds, valid_ds, batch_size=8, valid_batch_size=20).valid) == 1
    with pytest.raises(IndexError):
        dls[2]
