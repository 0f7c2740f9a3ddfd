"""Making tensors: construction, attributes, dtypes, devices, conversions, creation and random functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import arrays, tensors

# ---- construction and dtypes ------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype, shape",
    [
        (1.5, mg.float32, ()),
        ([1.0, 2.0], mg.float32, (2,)),
        ([[1, 2.5], [3, 4]], mg.float32, (2, 2)),
        (3, mg.int64, ()),
        ([1, 2, 3], mg.int64, (3,)),
        (True, mg.bool_, ()),
        ([True, False], mg.bool_, (2,)),
        ([], mg.float32, (0,)),
        (np.array([1.0, 2.0]), mg.float64, (2,)),
        (np.array([1, 2], dtype=np.int32), mg.int32, (2,)),
        (np.array([1, 2], dtype=np.uint8), mg.uint8, (2,)),
        (np.zeros((2, 3), dtype=np.float16), mg.float16, (2, 3)),
        (np.array(2.0, dtype=np.float32), mg.float32, ()),
    ],
)
def test_tensor_dtype_rules(data, dtype, shape):
    t = mg.tensor(data)
    assert t.dtype == dtype
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


@pytest.mark.parametrize("scalar", [np.float64(2.5), np.float32(2.5), np.int32(3), np.bool_(True)])
def test_tensor_from_numpy_scalar_keeps_its_dtype(scalar):
    t = mg.tensor(scalar)
    assert t.dtype == scalar.dtype and t.shape == ()
    assert t.item() == scalar.item()


def test_tensor_dtype_argument_and_copy():
    a = np.array([1.0, 2.0])
    t = mg.tensor(a, dtype="float32")
    assert t.dtype == mg.float32
    u = mg.tensor(a)
    a[0] = 100.0  # a new tensor never shares the caller's array
    assert u.tolist() == [1.0, 2.0]
    v = mg.tensor(u)
    v.array[1] = -1.0
    assert u.tolist() == [1.0, 2.0]
    assert mg.tensor([1, 2], dtype=mg.float64).dtype == mg.float64


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@given(data=st.data())
def test_attributes_match_numpy(dtype, data):
    a = data.draw(arrays(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0), dtype), label="a")
    t = mg.tensor(a)
    assert t.shape == a.shape and t.ndim == a.ndim and t.dtype == a.dtype
    assert t.numel() == a.size and t.size() == a.shape
    assert t.device == "cpu"
    assert isinstance(t.array, np.ndarray)
    assert t.grad is None and not t.requires_grad and t.is_leaf
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.tolist() == a.tolist()
    np.testing.assert_array_equal(np.asarray(t), a)
    if a.ndim:
        assert len(t) == a.shape[0]
        rows = list(t)
        assert len(rows) == a.shape[0]
        for row, expected in zip(rows, a):
            assert isinstance(row, mg.Tensor)
            np.testing.assert_array_equal(row.numpy(), expected)


def test_item_float_int_bool():
    assert mg.tensor(2.5).item() == 2.5 and isinstance(mg.tensor(2.5).item(), float)
    assert mg.tensor([[7]]).item() == 7 and isinstance(mg.tensor([[7]]).item(), int)
    assert float(mg.tensor([1.5])) == 1.5
    assert int(mg.tensor(3)) == 3
    assert bool(mg.tensor(True)) and not bool(mg.tensor([0.0]))
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        mg.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))


def test_len_and_iter_of_0d_tensor_raise():
    with pytest.raises(TypeError, match="0-d"):
        len(mg.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(mg.tensor(1.0))


def test_repr():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(mg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mg.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"
    assert repr(mg.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn)"
    assert repr(mg.tensor(0.5)) == "tensor(0.5)"


@given(x=tensors(dtype="float64", min_side=0))
def test_conversions(x):
    a = x.numpy()
    for converted, dtype in [
        (x.astype(mg.float32), np.float32),
        (x.float(), np.float32),
        (x.long(), np.int64),
        (x.double(), np.float64),
        (x.int(), np.int32),
        (x.bool(), bool),
    ]:
        assert converted.dtype == dtype
        np.testing.assert_array_equal(converted.numpy(), a.astype(dtype))
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to(dtype=mg.float32).dtype == mg.float32
    assert x.to("cpu", mg.int64).dtype == mg.int64


def test_requires_grad_only_for_floats():
    assert mg.tensor([1.0], requires_grad=True).requires_grad
    assert mg.tensor([1.0], dtype="float16").requires_grad_().requires_grad
    for data in ([1, 2], [True]):
        with pytest.raises(TypeError, match="only float tensors can require gradients"):
            mg.tensor(data, requires_grad=True)


# ---- creation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: mg.zeros(2, 3), np.zeros((2, 3), np.float32)),
        (lambda: mg.zeros((2, 3)), np.zeros((2, 3), np.float32)),
        (lambda: mg.zeros([0]), np.zeros((0,), np.float32)),
        (lambda: mg.zeros(()), np.zeros((), np.float32)),
        (lambda: mg.ones(3, dtype=mg.int64), np.ones(3, np.int64)),
        (lambda: mg.ones((1, 2), dtype="float64"), np.ones((1, 2))),
        (lambda: mg.full((2, 2), 7), np.full((2, 2), 7, np.int64)),
        (lambda: mg.full((2,), 1.5), np.full(2, 1.5, np.float32)),
        (lambda: mg.full(3, True), np.full(3, True)),
        (lambda: mg.full((2,), 3, dtype=mg.float64), np.full(2, 3.0)),
        (lambda: mg.arange(5), np.arange(5)),
        (lambda: mg.arange(1, 7, 2), np.arange(1, 7, 2)),
        (lambda: mg.arange(0, 1, 0.25), np.arange(0, 1, 0.25, dtype=np.float32)),
        (lambda: mg.arange(3.0), np.arange(3, dtype=np.float32)),
        (lambda: mg.eye(3), np.eye(3, dtype=np.float32)),
        (lambda: mg.eye(2, 3, dtype=mg.float64), np.eye(2, 3)),
        (lambda: mg.zeros_like(mg.tensor(np.ones((2, 2)))), np.zeros((2, 2))),
        (lambda: mg.ones_like(mg.tensor([1, 2])), np.ones(2, np.int64)),
        (lambda: mg.ones_like(mg.tensor([1, 2]), dtype=mg.float32), np.ones(2, np.float32)),
    ],
)
def test_creation(make, expected):
    t = make()
    assert t.dtype == expected.dtype and t.shape == expected.shape and t.device == "cpu"
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t.is_leaf and not t.requires_grad


def test_creation_requires_grad_and_bad_shape():
    assert mg.zeros(2, requires_grad=True).requires_grad
    assert mg.zeros_like(mg.ones(2), requires_grad=True).requires_grad
    with pytest.raises(ValueError, match=r"non-negative ints.*-1"):
        mg.zeros(2, -1)


# ---- random -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda **kw: mg.rand(3, 4, **kw),
        lambda **kw: mg.randn((3, 4), **kw),
        lambda **kw: mg.randint(0, 10, (3, 4), **kw),
    ],
)
def test_random_same_seed_same_numbers(fn):
    mg.manual_seed(0)
    a = fn()
    mg.manual_seed(0)
    b = fn()
    mg.manual_seed(1)
    c = fn()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    g1, g2, g3 = mg.Generator(42), mg.Generator(42), mg.Generator(43)
    d, e, f = fn(generator=g1), fn(generator=g2), fn(generator=g3)
    np.testing.assert_array_equal(d.numpy(), e.numpy())
    assert not np.array_equal(d.numpy(), f.numpy())
    assert not np.array_equal(d.numpy(), fn(generator=g1).numpy())  # the stream moves on


def test_generator_does_not_touch_the_default_stream():
    mg.manual_seed(5)
    a = mg.rand(4)
    mg.manual_seed(5)
    mg.rand(4, generator=mg.Generator(0))
    np.testing.assert_array_equal(mg.rand(4).numpy(), a.numpy())
    assert repr(mg.Generator(3)) == "Generator(seed=3)"
    g = mg.Generator(7)
    first = mg.randn(3, generator=g)
    g.manual_seed(7)
    np.testing.assert_array_equal(mg.randn(3, generator=g).numpy(), first.numpy())


def test_random_ranges_dtypes_and_shapes():
    g = mg.Generator(0)
    u = mg.rand(1000, generator=g)
    assert u.dtype == mg.float32 and u.shape == (1000,)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.05
    n = mg.randn(10_000, generator=g, dtype=mg.float64)
    assert n.dtype == mg.float64
    assert abs(n.mean().item()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    i = mg.randint(3, 6, (500,), generator=g)
    assert i.dtype == mg.int64 and set(i.tolist()) == {3, 4, 5}
    assert set(mg.randint(2, size=100, generator=g).tolist()) == {0, 1}
    assert mg.randint(5, size=(2, 3), generator=g, dtype=mg.int32).dtype == mg.int32
    assert mg.rand(2, dtype="float16", generator=g).dtype == mg.float16
    assert mg.randn(2, 2, requires_grad=True).requires_grad
    assert mg.rand(()).shape == ()


def test_random_bad_arguments():
    with pytest.raises(TypeError, match="float dtype, got int64"):
        mg.rand(2, dtype=mg.int64)
    with pytest.raises(ValueError, match=r"high \(3\) must be greater than low \(5\)"):
        mg.randint(5, 3)


def test_python_floats_asked_for_in_float64_keep_their_precision():
    t = mg.tensor([1e-9, 0.1], dtype=mg.float64)
    assert t.numpy().tolist() == [1e-9, 0.1]  # not rounded through float32 on the way
    assert mg.tensor([0.1]).dtype == mg.float32
