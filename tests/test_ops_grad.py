"""Every differentiable op against float64 central differences, on hypothesis-drawn shapes and values.

Values stay away from the points where an op is not differentiable (kinks, bounds, ties),
except in the tie tests at the end, which check the documented choice exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import arrays, axes, broadcastable_shapes, check_grad, tensors

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nd_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)  # for ops that need an axis
shapes_with_empty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
pairs = broadcastable_shapes(2, min_dims=0, max_dims=3, max_side=3)

# ---- elementwise ------------------------------------------------------------------------

# name: (function, elements of a, elements of b, points b avoids)
BINARY = {
    "add": (lambda a, b: a + b, (-10, 10), (-10, 10), ()),
    "sub": (lambda a, b: a - b, (-10, 10), (-10, 10), ()),
    "mul": (lambda a, b: a * b, (-10, 10), (-10, 10), ()),
    "div": (lambda a, b: a / b, (-10, 10), (-5, 5), (0.0,)),
    "pow": (lambda a, b: a**b, (0.2, 3), (-2, 2), ()),
    "add_fn": (mg.add, (-10, 10), (-10, 10), ()),
    "sub_method": (lambda a, b: a.sub(b), (-10, 10), (-10, 10), ()),
    "mul_fn": (mg.mul, (-10, 10), (-10, 10), ()),
    "div_method": (lambda a, b: a.div(b), (-10, 10), (-5, 5), (0.0,)),
    "pow_fn": (mg.pow, (0.2, 3), (-2, 2), ()),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_grad_broadcasting(name, data):
    fn, a_elements, b_elements, b_avoid = BINARY[name]
    sa, sb = data.draw(pairs, label="shapes")
    a = data.draw(tensors(sa, elements=a_elements), label="a")
    b = data.draw(tensors(sb, elements=b_elements, avoid=b_avoid, margin=0.5), label="b")
    assert check_grad(fn, a, b)


@pytest.mark.parametrize("fn", [mg.maximum, mg.minimum, lambda a, b: a.maximum(b), lambda a, b: a.minimum(b)])
@given(data=st.data())
def test_maximum_minimum_grad_without_ties(fn, data):
    sa, sb = data.draw(pairs, label="shapes")
    na, nb = math.prod(sa), math.prod(sb)
    values = data.draw(arrays((na + nb,), elements=(-100, 100), distinct=0.01), label="values")  # no ties
    a, b = mg.tensor(values[:na].reshape(sa)), mg.tensor(values[na:].reshape(sb))
    assert check_grad(fn, a, b)


# name: (function, tensors(...) keyword arguments keeping values where it is smooth)
UNARY = {
    "neg": (lambda x: -x, {}),
    "neg_fn": (mg.neg, {}),
    "exp": (mg.exp, {"elements": (-5, 5)}),
    "log": (mg.log, {"elements": (0.1, 10)}),
    "sqrt": (lambda x: x.sqrt(), {"elements": (0.1, 10)}),
    "abs": (mg.abs, {"avoid": (0.0,)}),
    "abs_builtin": (abs, {"avoid": (0.0,)}),
    "sigmoid": (lambda x: x.sigmoid(), {}),
    "tanh": (mg.tanh, {"elements": (-5, 5)}),
    "relu": (lambda x: x.relu(), {"avoid": (0.0,)}),
    "clamp": (lambda x: x.clamp(-1.0, 2.0), {"elements": (-4, 4), "avoid": (-1.0, 2.0)}),
    "clamp_min": (lambda x: mg.clamp(x, min=0.5), {"elements": (-4, 4), "avoid": (0.5,)}),
    "clamp_max": (lambda x: x.clip(max=-0.5), {"elements": (-4, 4), "avoid": (-0.5,)}),
    "square": (lambda x: x**2, {}),
    "pow_float": (lambda x: x**2.5, {"elements": (0.1, 5)}),
    "pow_negative": (lambda x: x**-1, {"avoid": (0.0,), "margin": 0.5}),
    "rsub": (lambda x: 1 - x, {}),
    "radd": (lambda x: 2.5 + x, {}),
    "rmul": (lambda x: 3 * x, {}),
    "rtruediv": (lambda x: 3 / x, {"avoid": (0.0,), "margin": 0.5}),
    "rpow": (lambda x: 2**x, {"elements": (-5, 5)}),
    "array_times_tensor": (lambda x: np.float64(1.5) * x, {}),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_grad(name, data):
    fn, kwargs = UNARY[name]
    x = data.draw(tensors(shapes, **kwargs), label="x")
    assert check_grad(fn, x)


@given(data=st.data())
def test_where_grad_broadcasting(data):
    sc, sa, sb = data.draw(broadcastable_shapes(3, min_dims=0, max_dims=3, max_side=3), label="shapes")
    cond = data.draw(tensors(sc, dtype=bool), label="cond")
    a = data.draw(tensors(sa), label="a")
    b = data.draw(tensors(sb), label="b")
    assert check_grad(lambda a, b: mg.where(cond, a, b), a, b)
    assert check_grad(lambda a: mg.where(cond, a, 0.5), a)


@given(data=st.data())
def test_composite_grad_reuses_inputs(data):
    x = data.draw(tensors(shapes, elements=(0.5, 3)), label="x")
    assert check_grad(lambda x: (x * x.log() + x.exp() / x).sigmoid() * x, x)


# ---- reductions ---------------------------------------------------------------------------


def _reduces_empty(shape, axis) -> bool:
    axis = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    return any(shape[a] == 0 for a in axis)


@given(data=st.data())
def test_sum_grad(data):
    x = data.draw(tensors(shapes_with_empty), label="x")  # zero-size axes included
    axis = data.draw(axes(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    assert check_grad(lambda t: t.sum(axis, keepdims=keepdims), x)
    assert check_grad(lambda t: mg.sum(t, dim=axis, keepdims=keepdims), x)


def test_sum_over_empty_axis_grad_is_empty():
    x = mg.tensor(np.zeros((2, 0, 3)), requires_grad=True)
    y = x.sum(1)
    assert y.shape == (2, 3)
    (y * mg.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    assert x.grad.shape == (2, 0, 3)


@given(data=st.data())
def test_mean_grad(data):
    x = data.draw(tensors(shapes_with_empty), label="x")
    axis = data.draw(axes(x.ndim), label="axis")
    assume(not _reduces_empty(x.shape, axis))  # the mean of nothing is nan
    keepdims = data.draw(st.booleans(), label="keepdims")
    assert check_grad(lambda t: t.mean(axis, keepdims=keepdims), x)
    assert check_grad(lambda t: mg.mean(t, dim=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("op", ["max", "min"])
@given(data=st.data())
def test_max_min_grad_without_ties(op, data):
    x = data.draw(tensors(shapes, distinct=1e-3), label="x")
    axis = data.draw(axes(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    assert check_grad(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), x)
    assert check_grad(lambda t: getattr(mg, f"a{op}")(t, dim=axis or (), keepdim=keepdims), x)
    if x.ndim and isinstance(axis, int):  # PyTorch's max(x, dim): (values, indices)
        assert check_grad(lambda t: getattr(t, op)(axis, keepdim=keepdims).values, x)


def test_max_min_share_the_gradient_between_ties():
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype=mg.float64, requires_grad=True)
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    (x.min(axis=-1, keepdims=True) * mg.tensor([[2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 0, 0], [1, 1, 1]])
    x.grad = None
    x.min(axis=(0, 1)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 0, 0]])


def test_max_along_one_dim_is_pytorchs_values_and_indices():
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(1)  # as PyTorch: `_, preds = outputs.max(1)` gets the indices
    assert values.tolist() == [3.0, 2.0] and indices.tolist() == [1, 0]
    values.sum().backward()  # the gradient goes to the element picked
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    low = mg.min(x, dim=0, keepdim=True)
    assert low.values.tolist() == [[1.0, 0.0, 2.0]] and low.indices.tolist() == [[0, 1, 1]]
    assert x.max(axis=1).tolist() == [3.0, 2.0]  # numpy's axis= spelling gives the values


def test_maximum_minimum_share_the_gradient_at_ties():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([1.0, 1.0, 4.0], requires_grad=True)
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1, 0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0, 1])
    a.grad = b.grad = None
    mg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1, 0])


# ---- shape ops ----------------------------------------------------------------------------


@given(data=st.data())
def test_reshape_view_flatten_grad(data):
    x = data.draw(tensors(nd_shapes), label="x")
    target = list(data.draw(st.permutations(x.shape), label="permuted shape"))
    target[data.draw(st.integers(0, x.ndim - 1), label="inferred axis")] = -1
    assert check_grad(lambda t: t.reshape(*target), x)
    assert check_grad(lambda t: t.reshape(tuple(target)), x)
    assert check_grad(lambda t: t.view(target), x)
    assert check_grad(lambda t: mg.reshape(t, -1), x)
    start = data.draw(st.integers(-x.ndim, x.ndim - 1), label="start_dim")
    end = data.draw(st.integers(start % x.ndim, x.ndim - 1), label="end_dim")
    assert check_grad(lambda t: t.flatten(start, end), x)
    assert check_grad(lambda t: t.flatten(), x)


@given(x=tensors(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).map(lambda s: (2,) + s)))
def test_reshape_two_minus_one_grad(x):
    assert check_grad(lambda t: t.reshape(2, -1), x)
    assert check_grad(lambda t: t.reshape((2, -1)), x)


@given(data=st.data())
def test_transpose_permute_grad(data):
    x = data.draw(tensors(nd_shapes), label="x")
    dim0 = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim0")
    dim1 = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim1")
    order = data.draw(st.permutations(range(x.ndim)), label="order")
    assert x.transpose(dim0, dim1).shape == np.swapaxes(x.numpy(), dim0, dim1).shape
    assert check_grad(lambda t: t.transpose(dim0, dim1), x)
    assert check_grad(lambda t: t.T, x)
    assert check_grad(lambda t: t.permute(*order), x)
    assert check_grad(lambda t: mg.permute(t, order), x)


@given(data=st.data())
def test_squeeze_unsqueeze_grad(data):
    x = data.draw(tensors(hnp.array_shapes(min_dims=1, max_dims=4, max_side=2)), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="squeezed dim")
    new = data.draw(st.integers(-x.ndim - 1, x.ndim), label="new dim")
    assert check_grad(lambda t: t.squeeze(), x)
    assert check_grad(lambda t: t.squeeze(dim), x)
    assert check_grad(lambda t: t.unsqueeze(new), x)
    assert x.unsqueeze(new).shape == np.expand_dims(x.numpy(), new).shape


@given(data=st.data())
def test_expand_broadcast_to_grad(data):
    small, big = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=1, max_dims=3, max_side=3), label="shapes"
    )
    x = data.draw(tensors(small[0]), label="x")
    lead = len(big) - x.ndim
    sizes = [
        n if i < lead or x.shape[i - lead] != n or not data.draw(st.booleans()) else -1 for i, n in enumerate(big)
    ]  # -1 keeps an axis's size
    assert x.expand(*sizes).shape == big
    assert check_grad(lambda t: t.expand(*sizes), x)
    assert check_grad(lambda t: t.broadcast_to(big), x)
    assert check_grad(lambda t: mg.broadcast_to(t, big), x)


@given(data=st.data())
def test_stack_cat_grad(data):
    shape = data.draw(nd_shapes, label="shape")
    n = data.draw(st.integers(1, 3), label="n")
    xs = [data.draw(tensors(shape), label=f"x{i}") for i in range(n)]
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="stack dim")
    assert check_grad(lambda *ts: mg.stack(ts, dim), *xs)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="cat dim")
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n), label="sizes along dim")
    parts = [
        data.draw(tensors(shape[: axis % len(shape)] + (k,) + shape[axis % len(shape) + 1 :]), label=f"part{i}")
        for i, k in enumerate(sizes)
    ]
    assert check_grad(lambda *ts: mg.cat(ts, dim=axis), *parts)
    assert check_grad(lambda *ts: mg.concatenate(list(ts), axis), *parts)


# ---- indexing -----------------------------------------------------------------------------


@given(data=st.data())
def test_getitem_basic_grad(data):
    x = data.draw(tensors(shapes), label="x")
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True), label="index")
    assert x[index].shape == x.numpy()[index].shape
    assert check_grad(lambda t: t[index], x)


@given(data=st.data())
def test_getitem_negative_step_slices_grad(data):
    x = data.draw(tensors(shapes), label="x")
    index = tuple(slice(None, None, -data.draw(st.integers(1, 3))) for _ in range(x.ndim))
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    assert check_grad(lambda t: t[index], x)


@given(data=st.data())
def test_getitem_integer_arrays_grad(data):
    x = data.draw(tensors(nd_shapes), label="x")
    index = data.draw(
        hnp.integer_array_indices(x.shape, result_shape=hnp.array_shapes(max_dims=2, max_side=5)), label="index"
    )  # repeats accumulate
    assert check_grad(lambda t: t[index], x)
    assert check_grad(lambda t: t[tuple(mg.tensor(i) for i in index)], x)


def test_getitem_repeated_indices_accumulate():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 1])


@given(data=st.data())
def test_getitem_bool_mask_grad(data):
    x = data.draw(tensors(nd_shapes, avoid=(0.0,)), label="x")
    k = data.draw(st.integers(1, x.ndim), label="mask dims")
    mask = data.draw(tensors(x.shape[:k], dtype=bool), label="mask")
    assert check_grad(lambda t: t[mask], x)
    assert check_grad(lambda t: t[mask.numpy()], x)
    assert check_grad(lambda t: t[t > 0], x)


# ---- matmul -------------------------------------------------------------------------------


@given(data=st.data())
def test_matmul_grad(data):
    """1-D, 2-D and batched operands, batch axes broadcasting (numpy's matmul signature)."""
    sa, sb = data.draw(
        hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3), label="shapes"
    ).input_shapes
    a = data.draw(tensors(sa), label="a")
    b = data.draw(tensors(sb), label="b")
    assert check_grad(lambda a, b: a @ b, a, b)
    assert check_grad(mg.matmul, a, b)


def test_matmul_vector_vector_grad_is_the_other_vector():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    (a @ b).backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4, 5, 6])
    np.testing.assert_array_equal(b.grad.numpy(), [1, 2, 3])


@given(data=st.data())
def test_linear_grad(data):
    """linear(x, w, b) == x @ w.T + b, for a vector, a matrix or a batch of inputs."""
    lead = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), label="batch shape")
    n_in, n_out = data.draw(st.integers(1, 4), label="in"), data.draw(st.integers(1, 4), label="out")
    x = data.draw(tensors(lead + (n_in,)), label="x")
    w, b = data.draw(tensors((n_out, n_in)), label="w"), data.draw(tensors((n_out,)), label="b")
    assert check_grad(mg.linear, x, w, b)
    assert check_grad(mg.linear, x, w)
    np.testing.assert_allclose(mg.linear(x, w, b).numpy(), x.numpy() @ w.numpy().T + b.numpy())


# ---- dtype conversion ----------------------------------------------------------------------


@given(x=tensors(shapes))
def test_astype_float_to_float_grad(x):
    # float32 in the middle rounds: a larger step keeps the finite difference accurate.
    assert check_grad(lambda t: t.astype(mg.float32) * 3, x, eps=1e-2, rtol=1e-3, atol=1e-3)
    assert check_grad(lambda t: t.astype("float16").astype(mg.float64), x, eps=0.5, rtol=1e-2, atol=1e-2)


def test_astype_gradient_has_the_leaf_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x.astype(mg.float64) * mg.tensor(np.array([3.0, 4.0]))).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3, 4])


# ---- 0-d tensors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x * x,
        lambda x: x.exp(),
        lambda x: x.max(),
        lambda x: 3 / x,
        lambda x: x.sum(0),
        lambda x: x.mean(-1, keepdims=True),
        lambda x: x.reshape(1),
        lambda x: x.unsqueeze(0) * 2,
        lambda x: x.T + x[None, ...],
    ],
)
def test_scalar_gradients(fn):
    assert check_grad(fn, mg.tensor(np.array(1.5)))


@given(data=st.data())
def test_var_and_std_grads_and_values(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), label="shape")
    axis = data.draw(axes(len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    a = data.draw(arrays(shape, distinct=0.05, elements=(-3, 3)), label="a")  # no all-equal rows: std > 0
    t = mg.tensor(a)
    for correction in (0, 1):
        n = a.size if axis is None else math.prod(a.shape[i] for i in np.atleast_1d(axis))
        assume(n >= 2)  # over one element the variance is 0, where std has no derivative
        expected = a.var(axis=axis, keepdims=keepdims, ddof=correction)
        np.testing.assert_allclose(t.var(axis, keepdims, correction=correction).numpy(), expected, rtol=1e-10)
        np.testing.assert_allclose(
            mg.std(t, axis, keepdims, correction=correction).numpy(), np.sqrt(expected), rtol=1e-10
        )
        assert check_grad(lambda x: x.var(axis, keepdims, correction=correction), t)
        assert check_grad(lambda x: x.std(axis, keepdims, correction=correction), t)
