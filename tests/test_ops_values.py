"""Forward values of every op against numpy, in float32 and float64, and the dtype rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import arrays, axes, broadcastable_shapes

FLOATS = ["float32", "float64"]
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
shapes_with_empty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def assert_matches(t: mg.Tensor, expected) -> None:
    """Same shape, dtype and values (to the dtype's precision) as numpy's result."""
    expected = np.asarray(expected)
    assert isinstance(t, mg.Tensor)
    assert t.shape == expected.shape
    assert t.dtype == expected.dtype, f"dtype {t.dtype}, numpy gives {expected.dtype}"
    tol = {"float16": 1e-3, "float32": 1e-5, "float64": 1e-12}.get(str(expected.dtype), 0)
    np.testing.assert_allclose(t.numpy(), expected, rtol=tol, atol=tol)


# name: (minigrad, numpy, elements)
UNARY = {
    "neg": (lambda x: -x, np.negative, (-10, 10)),
    "exp": (mg.exp, np.exp, (-10, 10)),
    "log": (lambda x: x.log(), np.log, (0.01, 10)),
    "sqrt": (mg.sqrt, np.sqrt, (0, 10)),
    "abs": (abs, np.abs, (-10, 10)),
    "sign": (mg.sign, np.sign, (-10, 10)),
    "sigmoid": (mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-10, 10)),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), (-10, 10)),
    "tanh": (mg.tanh, np.tanh, (-10, 10)),
    "clamp": (lambda x: x.clamp(-1, 2.5), lambda x: np.clip(x, -1, 2.5), (-10, 10)),
    "clamp_min": (lambda x: mg.clamp(x, min=0), lambda x: np.clip(x, 0, None), (-10, 10)),
    "pow_int": (lambda x: x**3, lambda x: x**3, (-10, 10)),
    "pow_float": (lambda x: x**0.5, lambda x: x**0.5, (0, 10)),
    "rsub": (lambda x: 1 - x, lambda x: 1 - x, (-10, 10)),
    "rtruediv": (lambda x: 3 / x, lambda x: 3 / x, (0.5, 10)),
    "rpow": (lambda x: 2**x, lambda x: 2**x, (-10, 10)),
    "radd": (lambda x: 0.5 + x, lambda x: 0.5 + x, (-10, 10)),
    "rmul": (lambda x: 2 * x, lambda x: 2 * x, (-10, 10)),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_values(name, dtype, data):
    fn, ref, elements = UNARY[name]
    a = data.draw(arrays(shapes_with_empty, dtype, elements), label="a")
    assert_matches(fn(mg.tensor(a)), ref(a))


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (mg.mul, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (lambda a, b: a.minimum(b), np.minimum),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_values_broadcasting(name, dtype, data):
    fn, ref = BINARY[name]
    sa, sb = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    a = data.draw(arrays(sa, dtype, (0.5, 4) if name == "pow" else (-10, 10)), label="a")
    b = data.draw(arrays(sb, dtype, (-3, 3), avoid=(0.0,)), label="b")
    assert_matches(fn(mg.tensor(a), mg.tensor(b)), ref(a, b))


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_where_values(dtype, data):
    sc, sa, sb = data.draw(broadcastable_shapes(3, max_dims=3, max_side=3), label="shapes")
    c = data.draw(arrays(sc, bool), label="cond")
    a, b = data.draw(arrays(sa, dtype), label="a"), data.draw(arrays(sb, dtype), label="b")
    assert_matches(mg.where(mg.tensor(c), mg.tensor(a), mg.tensor(b)), np.where(c, a, b))
    assert_matches(mg.where(mg.tensor(c), mg.tensor(a), 0.0), np.where(c, a, np.zeros((), dtype)))


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge", "eq", "ne"])
@given(data=st.data())
def test_comparisons_give_bool_tensors_without_grad(op, data):
    sa, sb = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    few = st.sampled_from([-1.0, 0.0, 1.0])  # makes ties common
    a, b = data.draw(arrays(sa, elements=few), label="a"), data.draw(arrays(sb, elements=few), label="b")
    ta = mg.tensor(a, requires_grad=True)
    operator = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__", "eq": "__eq__", "ne": "__ne__"}[op]
    for out in (getattr(ta, operator)(mg.tensor(b)), getattr(mg, op)(ta, b), getattr(ta, operator)(1.0)):
        assert out.dtype == mg.bool_
        assert not out.requires_grad and out.is_leaf
    np.testing.assert_array_equal(getattr(ta, operator)(mg.tensor(b)).numpy(), getattr(a, operator)(b))
    np.testing.assert_array_equal(getattr(ta, operator)(1.0).numpy(), getattr(a, operator)(1.0))


@pytest.mark.parametrize(
    "fn", [lambda x: x < 1, lambda x: x == x, lambda x: mg.sign(x), lambda x: (x > 0) & (x < 1), lambda x: ~(x > 0)]
)
def test_0d_results_without_grad_are_arrays(fn):
    out = fn(mg.tensor(np.array(0.5)))
    assert out.shape == ()
    assert out.numpy().shape == ()


def test_logical_ops():
    a, b = mg.tensor([True, True, False, False]), mg.tensor([True, False, True, False])
    assert (a & b).tolist() == [True, False, False, False]
    assert (a | b).tolist() == [True, True, True, False]
    assert (a ^ b).tolist() == [False, True, True, False]
    assert (~a).tolist() == [False, False, True, True]
    assert mg.tensor([0, 2]).any().item() is True and mg.tensor([0, 2]).all().item() is False


# ---- reductions ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@given(data=st.data())
def test_reduction_values(op, dtype, data):
    a = data.draw(arrays(shapes_with_empty, dtype), label="a")
    axis = data.draw(axes(a.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    reduced = range(a.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    assume(op == "sum" or all(a.shape[i] for i in reduced))  # mean/max/min of nothing: see test_errors
    expected = getattr(a, op)(axis=axis, keepdims=keepdims)
    assert_matches(values(getattr(mg.tensor(a), op)(axis, keepdims=keepdims)), expected)
    assert_matches(values(getattr(mg, op)(mg.tensor(a), dim=axis, keepdims=keepdims)), expected)


def values(result):
    """The values of a reduction: max/min along one dim give PyTorch's (values, indices)."""
    return result.values if isinstance(result, tuple) else result


def test_int_and_bool_reductions():
    assert_matches(mg.tensor([[1, 2], [3, 4]]).sum(0), np.array([4, 6]))
    assert_matches(mg.tensor([[1, 2], [3, 4]]).mean(), np.float32(2.5))  # integer mean is float32
    assert_matches(mg.tensor([True, True, False]).sum(), np.int64(2))
    assert_matches(mg.tensor([[1, 5], [3, 4]]).max(-1).values, np.array([5, 4]))
    assert_matches(mg.tensor([[1, 5], [3, 4]]).max(-1).indices, np.array([1, 1]))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_argmin_values_and_no_grad(op, dtype, data):
    a = data.draw(arrays(shapes, dtype), label="a")
    axis = data.draw(axes(a.ndim, allow_tuple=False), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    x = mg.tensor(a, requires_grad=True)
    out = getattr(x, op)(axis, keepdims=keepdims)
    assert_matches(out, getattr(np, op)(a, axis=axis, keepdims=keepdims))
    assert not out.requires_grad
    assert_matches(getattr(mg, op)(x, dim=axis), getattr(np, op)(a, axis=axis))


def test_0d_reductions_over_dim_0_and_minus_1_as_torch():
    x = mg.tensor(np.array(2.5))
    for op in ("sum", "mean", "max", "min"):
        for dim in (0, -1, (0,)):
            assert_matches(values(getattr(x, op)(dim)), np.array(2.5))
        assert_matches(values(getattr(x, op)(0, keepdims=True)), np.array(2.5))


# ---- shape ops ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_shape_op_values(dtype, data):
    a = data.draw(arrays(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), dtype), label="a")
    x = mg.tensor(a)
    n = a.ndim
    assert_matches(x.reshape(-1), a.reshape(-1))
    assert_matches(x.reshape(a.shape[0], -1), a.reshape(a.shape[0], -1))
    assert_matches(x.reshape((1, -1)), a.reshape(1, -1))
    assert_matches(x.view(a.shape[::-1]), a.reshape(a.shape[::-1]))
    assert_matches(x.flatten(), a.reshape(-1))
    assert_matches(x.flatten(1) if n > 1 else x.flatten(), a.reshape(a.shape[0], -1) if n > 1 else a)
    dim0, dim1 = data.draw(st.integers(-n, n - 1), label="dim0"), data.draw(st.integers(-n, n - 1), label="dim1")
    assert_matches(x.transpose(dim0, dim1), np.swapaxes(a, dim0, dim1))
    assert_matches(mg.swapaxes(x, dim0, dim1), np.swapaxes(a, dim0, dim1))
    assert_matches(x.T, a.T)
    order = data.draw(st.permutations(range(n)), label="order")
    assert_matches(x.permute(*order), a.transpose(order))
    assert_matches(x.permute(order), a.transpose(order))
    assert_matches(x.squeeze(), a.squeeze())
    assert_matches(x.unsqueeze(-1), a[..., None])
    assert_matches(x.unsqueeze(0), a[None])
    assert_matches(x.broadcast_to((2,) + a.shape), np.broadcast_to(a, (2,) + a.shape))
    assert_matches(x.expand(2, *([-1] * n)), np.broadcast_to(a, (2,) + a.shape))
    if n >= 2:
        assert_matches(x.mT, np.swapaxes(a, -1, -2))


def test_squeeze_a_dim_that_is_not_1_keeps_it():
    x = mg.zeros(2, 1, 3)
    assert x.squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_stack_cat_values(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), label="shape")
    parts = [data.draw(arrays(shape, dtype), label=f"a{i}") for i in range(data.draw(st.integers(1, 3)))]
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="stack dim")
    assert_matches(mg.stack([mg.tensor(p) for p in parts], dim), np.stack(parts, dim))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="cat dim")
    assert_matches(mg.cat([mg.tensor(p) for p in parts], axis), np.concatenate(parts, axis))
    assert_matches(mg.concatenate((mg.tensor(p) for p in parts), dim=axis), np.concatenate(parts, axis))


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_getitem_values(dtype, data):
    a = data.draw(arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), dtype), label="a")
    x = mg.tensor(a)
    basic = data.draw(hnp.basic_indices(a.shape, allow_newaxis=True), label="basic index")
    assert_matches(x[basic], a[basic])
    ints = data.draw(hnp.integer_array_indices(a.shape), label="integer arrays")
    assert_matches(x[ints], a[ints])
    assert_matches(x[tuple(mg.tensor(i) for i in ints)], a[ints])
    mask = data.draw(arrays(a.shape, bool), label="mask")
    assert_matches(x[mg.tensor(mask)], a[mask])
    assert_matches(x[x > 0], a[a > 0])
    assert_matches(x[::-1], a[::-1])


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_matmul_values(dtype, data):
    sa, sb = data.draw(
        hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=4), label="shapes"
    ).input_shapes
    a, b = data.draw(arrays(sa, dtype), label="a"), data.draw(arrays(sb, dtype), label="b")
    expected = a @ b
    out = mg.tensor(a) @ mg.tensor(b)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4 if dtype == "float32" else 1e-12, atol=1e-3)
    np.testing.assert_allclose(mg.matmul(mg.tensor(a), b).numpy(), expected, rtol=1e-4, atol=1e-3)


@given(a=arrays(shapes, "float64"))
def test_astype_values(a):
    x = mg.tensor(a)
    assert_matches(x.astype(mg.float32), a.astype(np.float32))
    assert_matches(x.astype("float16"), a.astype(np.float16))
    assert_matches(x.long(), a.astype(np.int64))
    assert_matches(x.float(), a.astype(np.float32))
    assert_matches(x.double(), a)
    assert_matches(x.bool(), a.astype(bool))
    assert x.astype(mg.float64) is x


# ---- dtype rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, dtype",
    [
        (lambda: mg.tensor([1, 2]) / 2, mg.float32),
        (lambda: mg.tensor([1, 2]) / mg.tensor([2, 4]), mg.float32),
        (lambda: 1 / mg.tensor([1, 2]), mg.float32),
        (lambda: mg.tensor([1, 2]) * 0.5, mg.float32),
        (lambda: 0.5 + mg.tensor([1, 2]), mg.float32),
        (lambda: mg.tensor([True, False]) * 0.5, mg.float32),
        (lambda: mg.tensor([1, 2]) * 2, mg.int64),
        (lambda: mg.tensor([1, 2]) + mg.tensor([True, False]), mg.int64),
        (lambda: mg.tensor([1.0, 2.0]) * 2, mg.float32),
        (lambda: mg.tensor([1.0, 2.0]) * 0.1, mg.float32),
        (lambda: mg.tensor([1.0]) * mg.tensor(np.array([2.0])), mg.float64),
        (lambda: mg.tensor(np.array([1.0])) / 3, mg.float64),
        (lambda: mg.tensor([1, 2]).exp(), mg.float32),
        (lambda: mg.tensor([1, 2]).mean(), mg.float32),
        (lambda: -mg.tensor([1, 2]), mg.int64),
        (lambda: abs(mg.tensor([-1, 2])), mg.int64),
        (lambda: mg.tensor([1, 2]) < 1.5, mg.bool_),
    ],
)
def test_result_dtypes(expr, dtype):
    assert expr().dtype == dtype


def test_int_division_values():
    np.testing.assert_allclose((mg.tensor([1, 2, 3]) / 2).numpy(), [0.5, 1, 1.5])
    np.testing.assert_allclose((mg.tensor([1, 2, 3]) * 0.5).numpy(), [0.5, 1, 1.5])


@pytest.mark.parametrize(
    "leaf_dtype, other_dtype",
    [("float32", "float64"), ("float64", "float32"), ("float16", "float32"), ("float32", "float32")],
)
def test_gradient_has_the_dtype_of_its_tensor(leaf_dtype, other_dtype):
    x = mg.tensor([1.0, 2.0], dtype=leaf_dtype, requires_grad=True)
    y = mg.tensor([3.0, 4.0], dtype=other_dtype, requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.dtype == np.dtype(leaf_dtype) and y.grad.dtype == np.dtype(other_dtype)
    np.testing.assert_array_equal(x.grad.numpy(), [3, 4])
    np.testing.assert_array_equal(y.grad.numpy(), [1, 2])
