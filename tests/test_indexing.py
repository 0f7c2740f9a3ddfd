"""Indexing, gather/scatter, masks, sorting and products: values against numpy or a naive loop,
gradients against float64 finite differences, PyTorch's order of axes for ints mixed with index
arrays, index arrays copied when recorded, empty tensors, and clear errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.testing import arrays, check_grad, tensors

nd_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
nd_shapes_with_empty = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)


# ---- getitem: PyTorch's order for ints mixed with index arrays ------------------------------------


def _pytorch_order(a: np.ndarray, index: tuple) -> np.ndarray:
    """An int is a basic index in PyTorch: select those dims first (from the last, so positions
    hold), then index the rest by numpy's rules."""
    ints = [k for k, i in enumerate(index) if isinstance(i, int)]
    for k in reversed(ints):
        a = np.take(a, index[k], axis=k)
    return a[tuple(i for i in index if not isinstance(i, int))]


@given(data=st.data())
def test_ints_and_index_arrays_follow_pytorch(data):
    a = data.draw(arrays(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4)), label="a")
    kinds = data.draw(st.lists(st.sampled_from(["int", "slice", "array"]), min_size=a.ndim, max_size=a.ndim))
    assume("int" in kinds and "array" in kinds)
    picks = data.draw(st.lists(st.integers(0, 3), min_size=2, max_size=2), label="array values")
    index = tuple(
        data.draw(st.integers(-n, n - 1)) if kind == "int"
        else slice(None, None, data.draw(st.sampled_from([1, -1]))) if kind == "slice"
        else np.array([p % n for p in picks])
        for kind, n in zip(kinds, a.shape)
    )  # fmt: skip
    expected = _pytorch_order(a, index)
    x = mg.tensor(a)
    np.testing.assert_array_equal(x[index].numpy(), expected)
    np.testing.assert_array_equal(x[tuple(mg.tensor(i) if isinstance(i, np.ndarray) else i for i in index)].numpy(),
                                  expected)  # fmt: skip
    assert check_grad(lambda t: t[index], x)


def test_int_then_slice_then_index_array_keeps_the_axes_in_place():
    a = np.arange(60.0).reshape(3, 4, 5)
    x, idx = mg.tensor(a), np.array([0, 2])
    assert x[1, :, idx].shape == (4, 2)  # numpy: (2, 4)
    np.testing.assert_array_equal(x[1, :, idx].numpy(), a[1][:, idx])
    assert x[idx, :, 1].shape == (2, 4)  # the other order: the same in numpy and PyTorch
    np.testing.assert_array_equal(x[idx, :, 1].numpy(), a[idx, :, 1])
    assert x[1, None, :, idx].shape == (1, 4, 2)  # numpy: (2, 1, 4)
    assert x[mg.tensor(1), :, idx].shape == (4, 2)  # a 0-d integer tensor is an int
    assert x[idx, 1, idx].shape == (2,)  # arrays adjacent once the int is applied
    assert x[1, mg.tensor([True, False, True, False]), :].shape == (2, 5)
    assert x[..., 1, idx].shape == (3, 2) and x[1, ..., [0, 4]].shape == (4, 2)


def test_recorded_index_arrays_are_copies():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0, 5.0], requires_grad=True)
    i = np.array([0, 1])
    y = x[i]
    i[:] = 4
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 0, 0, 0])
    x.grad = None
    t = mg.tensor([[0, 1]])
    y = x.unsqueeze(0).gather(1, t)
    t.array[:] = 4  # as an in-place write would
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 0, 0, 0])
    x.grad = None
    mask = np.array([True, False, False, False, True])
    y = x[mask]
    mask[:] = True
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 0, 1])


def test_empty_index_arrays_and_empty_tensors():
    x = mg.tensor(np.zeros((0, 3)), requires_grad=True)
    assert x[[]].shape == (0, 3) and x[:, [0, 2]].shape == (0, 2)
    x[:, [0, 2]].sum().backward()
    assert x.grad.shape == (0, 3)
    assert mg.zeros(3)[[]].shape == (0,)


def test_add_at_puts_values_back_at_an_index():
    src = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = mg.add_at(src, (2, 3), (np.array([0, 1, 0]), np.array([2, 2, 2])))
    np.testing.assert_array_equal(out.numpy(), [[0, 0, 4], [0, 0, 2]])  # repeats accumulate
    assert check_grad(lambda t: mg.add_at(t, (2, 3), (np.array([0, 1, 0]), np.array([2, 2, 2]))), src)
    with pytest.raises(ValueError, match="mixing ints and index arrays"):
        mg.add_at(src, (2, 3, 4), (1, slice(None), np.array([0, 1, 2])))


# ---- gather, scatter: against naive loops ---------------------------------------------------------


def _naive_gather(a, dim, index):
    out = np.empty(index.shape, a.dtype)
    for pos in np.ndindex(*index.shape):
        source = list(pos)
        source[dim] = index[pos]
        out[pos] = a[tuple(source)]
    return out


def _targets(index, dim):
    """(position in index, the position it reaches) for scatter's loops."""
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        yield pos, tuple(target)


def _naive_scatter_reduce(a, dim, index, src, reduce, include_self):
    groups: dict = {}
    for pos, target in _targets(index, dim):
        groups.setdefault(target, []).append(src[pos])
    out = a.copy()
    combine = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce]
    for target, values in groups.items():
        out[target] = combine(([a[target]] if include_self else []) + values)
    return out


@st.composite
def placements(draw, allow_empty: bool = True):
    """(x, dim, index, src) for gather and scatter: index no larger than x (but along dim) nor src."""
    shape = draw(nd_shapes_with_empty if allow_empty else nd_shapes, label="x shape")
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    axis = dim % len(shape)
    index_shape = tuple(draw(st.integers(0 if allow_empty else 1, 3 if d == axis else n)) for d, n in enumerate(shape))
    assume(shape[axis] > 0 or math.prod(index_shape) == 0)
    index = draw(arrays(index_shape, np.int64, elements=(0, max(shape[axis] - 1, 0))), label="index")
    src_shape = tuple(n + draw(st.integers(0, 1)) for n in index_shape)
    x = draw(tensors(shape, distinct=0.01), label="x")
    src = draw(tensors(src_shape, distinct=0.01), label="src")
    return x, dim, index, src


@given(placements())
def test_gather_values_and_grad(case):
    x, dim, index, _ = case
    out = x.gather(dim, mg.tensor(index))
    np.testing.assert_array_equal(out.numpy(), _naive_gather(x.numpy(), dim % x.ndim, index))
    assert check_grad(lambda t: mg.gather(t, dim, mg.tensor(index)), x)


@given(placements())
def test_scatter_and_scatter_add_values_and_grads(case):
    x, dim, index, src = case
    a, s, axis = x.numpy(), src.numpy(), dim % x.ndim
    added, placed = a.copy(), a.copy()
    for pos, target in _targets(index, axis):
        added[target] += s[pos]
        placed[target] = s[pos]
    np.testing.assert_allclose(x.scatter_add(dim, mg.tensor(index), src).numpy(), added)
    assert check_grad(lambda t, u: mg.scatter_add(t, dim, mg.tensor(index), u), x, src)
    unique = len({t for _, t in _targets(index, axis)}) == index.size  # repeats: which value lands is unspecified
    if unique:
        np.testing.assert_array_equal(x.scatter(dim, mg.tensor(index), src).numpy(), placed)
        assert check_grad(lambda t, u: t.scatter(dim, mg.tensor(index), u), x, src)
    assert check_grad(lambda t: mg.scatter(t, dim, mg.tensor(index), value=2.5), x)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@given(case=placements())
def test_scatter_reduce_values_and_grads(reduce, include_self, case):
    x, dim, index, src = case
    expected = _naive_scatter_reduce(x.numpy(), dim % x.ndim, index, src.numpy(), reduce, include_self)
    out = x.scatter_reduce(dim, mg.tensor(index), src, reduce, include_self=include_self)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert check_grad(lambda t, u: mg.scatter_reduce(t, dim, mg.tensor(index), u, reduce, include_self=include_self),
                      x, src)  # fmt: skip


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_grad_with_zeros_and_amax_ties(include_self):
    x = mg.tensor([[0.0, 2.0, 3.0]])
    index = mg.tensor([[0, 0, 1, 2]])
    src = mg.tensor([[5.0, 0.0, 0.0, 4.0]])  # position 0 gets two zeros (with x's), 1 one zero, 2 none
    assert check_grad(lambda t, u: t.scatter_reduce(1, index, u, "prod", include_self=include_self), x, src)
    tied_x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    tied_src = mg.tensor([[1.0, 1.0]], requires_grad=True)
    tied_x.scatter_reduce(1, mg.tensor([[0, 0]]), tied_src, "amax", include_self=include_self).sum().backward()
    share = 1 / 3 if include_self else 1 / 2
    np.testing.assert_allclose(tied_src.grad.numpy(), [[share, share]])
    np.testing.assert_allclose(tied_x.grad.numpy(), [[share if include_self else 0, 1]])


def test_second_derivatives_of_placements():
    x, src = mg.tensor([[0.5, -1.5, 2.0]]), mg.tensor([[1.25, 0.75, -0.5, 3.0]])
    index = mg.tensor([[0, 0, 2, 1]])
    for reduce in ("sum", "prod", "mean", "amax"):
        assert gradgradcheck(lambda t, u: t.scatter_reduce(1, index, u, reduce) ** 2, (x, src))
    assert gradgradcheck(lambda t: t.gather(1, index[:, :3]) ** 3, x)


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda x: x.gather(1, mg.tensor([[0, 3]])), IndexError, "index 3 is out of bounds for dim 1 with size 3"),
        (lambda x: x.gather(1, mg.tensor([[-1]])), IndexError, "index -1 is out of bounds"),
        (lambda x: x.gather(0, mg.tensor([0])), ValueError, "same number of dims"),
        (lambda x: x.gather(0, mg.tensor([[0.0]])), TypeError, "index must be an integer tensor"),
        (lambda x: x.gather(0, mg.tensor([[0, 0, 0, 0]])), ValueError, "larger than input in dim 1"),
        (lambda x: x.scatter_add(0, mg.tensor([[0, 1]]), mg.ones(1, 1)), ValueError, "larger than src in dim 1"),
        (lambda x: x.scatter_reduce(0, mg.tensor([[0]]), x, "max"), ValueError, "reduce must be one of"),
        (lambda x: x.scatter(0, mg.tensor([[0]])), TypeError, "exactly one of src"),
        (lambda x: x.index_select(0, mg.tensor([2])), IndexError, "index 2 is out of bounds for dim 0 with size 2"),
        (lambda x: x.index_select(0, mg.tensor([[0]])), ValueError, "index must be 1-D"),
        (lambda x: x.masked_fill(x > 0, mg.tensor([1.0, 2.0])), ValueError, "0-d tensor"),
        (lambda x: x.masked_fill(mg.tensor([[True], [False], [True]]), 0.0), ValueError, "doesn't broadcast"),
        (lambda x: x.masked_select(x), TypeError, "mask must be a bool tensor"),
        (lambda x: mg.one_hot(x), TypeError, "class indices (integers)"),
        (lambda x: mg.one_hot(mg.tensor([0, 3]), 3), ValueError, "must be in [0, 3)"),
        (lambda x: mg.one_hot(mg.tensor([], dtype=mg.int64)), ValueError, "pass num_classes"),
    ],
)
def test_indexing_errors(fn, error, message):
    with pytest.raises(error, match=message.replace("[", "\\[").replace("(", "\\(").replace(")", "\\)")):
        fn(mg.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]))


# ---- along a dim, masks ---------------------------------------------------------------------------


@given(data=st.data())
def test_index_select_take_along_dim(data):
    x = data.draw(tensors(nd_shapes_with_empty), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    n = x.shape[dim]
    picks = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=4 if n else 0), label="picks")
    a = x.numpy()
    np.testing.assert_array_equal(x.index_select(dim, mg.tensor(picks, dtype=mg.int64)).numpy(),
                                  np.take(a, picks, axis=dim))  # fmt: skip
    assert check_grad(lambda t: mg.index_select(t, dim, mg.tensor(picks, dtype=mg.int64)), x)
    along = data.draw(arrays(a.shape[:dim % a.ndim] + (len(picks),) + a.shape[dim % a.ndim + 1:], np.int64,
                             elements=(-n, max(n - 1, -n))), label="indices") if n else None  # fmt: skip
    if along is not None:
        np.testing.assert_array_equal(x.take_along_dim(mg.tensor(along), dim).numpy(),
                                      np.take_along_axis(a, along, dim))  # fmt: skip
        assert check_grad(lambda t: mg.take_along_dim(t, mg.tensor(along), dim), x)
    flat = mg.tensor(np.arange(-1, 2) % max(a.size, 1)) if a.size else mg.tensor(np.zeros(0, np.int64))
    np.testing.assert_array_equal(mg.take_along_dim(x, flat).numpy(), np.take(a.reshape(-1), flat.numpy()))


def test_take_along_dim_broadcasts():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    out = mg.take_along_dim(x, mg.tensor([[2, 0]]), 1)
    np.testing.assert_array_equal(out.numpy(), [[2, 0], [5, 3]])


@given(data=st.data())
def test_masks(data):
    shape = data.draw(nd_shapes_with_empty, label="shape")
    x = data.draw(tensors(shape), label="x")
    mask_shape = data.draw(st.sampled_from([shape, shape[1:], (1,) * len(shape)]), label="mask shape")
    mask = data.draw(arrays(mask_shape, bool), label="mask")
    a, m = x.numpy(), np.broadcast_to(mask, shape)
    np.testing.assert_array_equal(x.masked_fill(mg.tensor(mask), 7.5).numpy(), np.where(m, 7.5, a))
    np.testing.assert_array_equal(mg.masked_select(x, mg.tensor(mask)).numpy(), a[m])
    value = mg.tensor(0.5)
    assert check_grad(lambda t, v: mg.masked_fill(t, mg.tensor(mask), v), x, value)
    assert check_grad(lambda t: t.masked_select(mg.tensor(mask)), x)


def test_masked_fill_keeps_the_dtype_as_pytorch():
    ints = mg.tensor([1, 2, 3], dtype="int32")
    out = ints.masked_fill(mg.tensor([True, False, True]), 2.7)
    assert out.dtype == mg.int32 and out.tolist() == [2, 2, 2]
    assert mg.tensor([True, False]).masked_fill(mg.tensor([False, True]), True).tolist() == [True, True]


@given(a=arrays(nd_shapes_with_empty, elements=st.sampled_from([0.0, 1.0, -2.5])))
def test_nonzero_and_one_argument_where(a):
    x = mg.tensor(a)
    assert x.nonzero().dtype == mg.int64
    np.testing.assert_array_equal(x.nonzero().numpy(), np.argwhere(a))
    for got, expected in zip(mg.nonzero(x, as_tuple=True), np.nonzero(a), strict=True):
        np.testing.assert_array_equal(got.numpy(), expected)
    for got, expected in zip(mg.where(x != 0), np.nonzero(a), strict=True):
        np.testing.assert_array_equal(got.numpy(), expected)


def test_nonzero_of_a_0d_tensor_as_pytorch():
    assert mg.tensor(5.0).nonzero().shape == (1, 0) and mg.tensor(0.0).nonzero().shape == (0, 0)
    assert [t.tolist() for t in mg.tensor(5.0).nonzero(as_tuple=True)] == [[0]]


def test_one_hot():
    out = mg.one_hot(mg.tensor([[0, 2], [1, 1]]))
    assert out.dtype == mg.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert mg.nn.functional.one_hot(mg.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    assert mg.one_hot(mg.tensor([], dtype=mg.int64), 3).shape == (0, 3)


# ---- sorting ----------------------------------------------------------------------------------------


@given(data=st.data())
def test_sort_argsort_topk_kthvalue(data):
    few = st.sampled_from([-1.0, 0.0, 2.0, 0.5, math.nan])  # ties and NaN
    a = data.draw(arrays(nd_shapes_with_empty, elements=few), label="a")
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1), label="dim")
    x = mg.tensor(a)
    ascending = np.argsort(a, axis=dim, kind="stable")  # NaN last, as PyTorch
    values, indices = x.sort(dim)
    np.testing.assert_array_equal(indices.numpy(), ascending)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, ascending, dim))
    n = a.shape[dim]
    # descending, stable: equal values keep their order, NaN first (the naive way: by key, then position)
    keys = np.where(np.isnan(a), np.inf, a)
    order = np.indices(a.shape)[dim % a.ndim]
    descending = np.lexsort((order, -keys), axis=dim) if a.size else ascending
    np.testing.assert_array_equal(mg.argsort(x, dim, descending=True).numpy(), descending)
    k = data.draw(st.integers(0, n), label="k")
    top = x.topk(k, dim)
    np.testing.assert_array_equal(top.indices.numpy(), np.take(descending, range(k), axis=dim))
    if k:
        kth = mg.kthvalue(x, k, dim, keepdim=True)
        np.testing.assert_array_equal(kth.indices.numpy(), np.take(ascending, [k - 1], axis=dim))
        np.testing.assert_array_equal(kth.values.numpy(), np.take_along_axis(a, kth.indices.numpy(), dim))
        assert x.kthvalue(k, dim).values.shape == a.shape[: dim % a.ndim] + a.shape[dim % a.ndim + 1 :]


@given(data=st.data())
def test_sorting_grads(data):
    x = data.draw(tensors(nd_shapes_with_empty, distinct=0.01), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    n = x.shape[dim]
    k = data.draw(st.integers(0, n), label="k")
    assert check_grad(lambda t: t.sort(dim, descending=True).values, x)
    assert check_grad(lambda t: mg.topk(t, k, dim, largest=False)[0], x)
    if k:
        assert check_grad(lambda t: t.kthvalue(k, dim).values, x)


def test_sort_of_a_0d_tensor_and_bad_k():
    values, indices = mg.tensor(3.0).sort()
    assert values.item() == 3.0 and indices.item() == 0
    with pytest.raises(ValueError, match=r"k must be an int in \[0, 3\]"):
        mg.zeros(3).topk(4)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        mg.zeros(3).kthvalue(0)


# ---- products -------------------------------------------------------------------------------------


def _naive_einsum(equation: str, *arrays_: np.ndarray) -> np.ndarray:
    """Sum over every assignment of the letters of the product of the named elements."""
    inputs, out = equation.split("->")
    subs = inputs.split(",")
    size = {c: n for s, a in zip(subs, arrays_) for c, n in zip(s, a.shape)}
    letters = sorted(size)
    result = np.zeros([size[c] for c in out])
    for values in itertools.product(*(range(size[c]) for c in letters)):
        at = dict(zip(letters, values))
        term = math.prod(a[tuple(at[c] for c in s)] for s, a in zip(subs, arrays_))
        result[tuple(at[c] for c in out)] += term
    return result


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ijk,k->ij", [(2, 2, 3), (3,)]),
    ("ij,jk,kl->il", [(2, 2), (2, 3), (3, 2)]),
    ("i,i->i", [(0,), (0,)]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS)
def test_einsum_values_and_grads_against_a_naive_loop(equation, shapes):
    rng = np.random.default_rng(0)
    ts = [mg.tensor(rng.standard_normal(s)) for s in shapes]
    np.testing.assert_allclose(mg.einsum(equation, *ts).numpy(), _naive_einsum(equation, *(t.numpy() for t in ts)))
    assert check_grad(lambda *xs: mg.einsum(equation, *xs), *ts)
    if sum(math.prod(s) for s in shapes) <= 16:
        assert gradgradcheck(lambda *xs: mg.einsum(equation, *xs) ** 2, ts)


@pytest.mark.parametrize(
    "equation, numpy_equation, shapes",
    [("...ij,...jk", "...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]), ("ij,jk", "ij,jk", [(2, 3), (3, 2)]),
     ("ba,ab", "ba,ab", [(2, 3), (3, 2)]), ("...i->...", "...i->...", [(2, 3)]),
     ("i...->i", "iab->i", [(2, 3, 1)]),  # numpy refuses to sum '...' away; PyTorch (and minigrad) sum it
     ("ij,ij->ij", "ij,ij->ij", [(1, 3), (2, 3)])],
)  # fmt: skip
def test_einsum_ellipsis_implicit_output_and_broadcasting(equation, numpy_equation, shapes):
    rng = np.random.default_rng(1)
    arrays_ = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(mg.einsum(equation, [mg.tensor(a) for a in arrays_]).numpy(),
                               np.einsum(numpy_equation, *arrays_))  # fmt: skip
    assert check_grad(lambda *xs: mg.einsum(equation, *xs), *(mg.tensor(a) for a in arrays_))


@pytest.mark.parametrize(
    "equation, shapes, message",
    [
        ("ij,jk->ik", [(2, 3)], "names 2 operand"),
        ("ij->ik", [(2, 3)], "names one no operand has"),
        ("ijk->i", [(2, 3)], "don't fit an operand of shape"),
        ("ij,jk->ik", [(2, 3), (4, 2)], "doesn't fit operands of shapes"),
        ("i1->i", [(2,)], "not an equation"),
    ],
)
def test_einsum_errors(equation, shapes, message):
    with pytest.raises(ValueError, match=message):
        mg.einsum(equation, *(mg.zeros(*s) for s in shapes))


@given(data=st.data())
def test_dot_mv_bmm_outer(data):
    n, m, b = (data.draw(st.integers(0, 3), label=k) for k in "nmb")
    v, w = data.draw(tensors((m,)), label="v"), data.draw(tensors((m,)), label="w")
    matrix = data.draw(tensors((n, m)), label="matrix")
    batch1, batch2 = data.draw(tensors((b, n, m)), label="a"), data.draw(tensors((b, m, n)), label="b")
    np.testing.assert_allclose(mg.dot(v, w).numpy(), v.numpy() @ w.numpy())
    np.testing.assert_allclose(matrix.mv(v).numpy(), matrix.numpy() @ v.numpy())
    np.testing.assert_allclose(mg.bmm(batch1, batch2).numpy(), batch1.numpy() @ batch2.numpy())
    np.testing.assert_allclose(v.outer(w).numpy(), np.outer(v.numpy(), w.numpy()))
    assert check_grad(mg.dot, v, w) and check_grad(mg.mv, matrix, v) and check_grad(mg.outer, v, w)
    assert check_grad(mg.bmm, batch1, batch2)


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda: mg.dot(mg.zeros(2), mg.zeros(3)), "dot: expects two 1-D tensors of one length"),
        (lambda: mg.dot(mg.zeros(2, 2), mg.zeros(2)), "dot: expects two 1-D tensors"),
        (lambda: mg.mv(mg.zeros(2, 3), mg.zeros(2)), r"mv: expects a matrix \(n, m\) and a vector \(m,\)"),
        (lambda: mg.bmm(mg.zeros(2, 2, 3), mg.zeros(1, 3, 2)), r"bmm: expects \(batch, n, m\)"),
        (lambda: mg.outer(mg.zeros(2, 2), mg.zeros(2)), "outer: expects two 1-D tensors"),
    ],
)
def test_product_shape_errors(fn, message):
    with pytest.raises(ValueError, match=message):
        fn()


def test_indexing_ops_on_the_device(device):
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    x = mg.tensor(a, device=device, requires_grad=True)
    index = mg.tensor([[0, 2, 2, 1]], device=device)
    outs = [
        x.gather(0, index),
        x.scatter_reduce(0, index, x[:1] * 2, "prod"),
        x.scatter_reduce(0, index, x[:1], "amax", include_self=False),
        x.scatter(0, index, x[:1]),
        x.sort(1, descending=True).values,
        x.index_select(1, mg.tensor([3, 0], device=device)),
        x[
            1,
            :,
        ][mg.tensor([0, 3], device=device)],
        x.masked_fill(x > 5, 0.0),
        mg.einsum("ij,kj->ik", x, x),
    ]
    np.testing.assert_array_equal(outs[0].numpy(), a[[0, 2, 2, 1], [0, 1, 2, 3]][None])
    np.testing.assert_array_equal(outs[1].numpy()[[0, 2, 1], [0, 1, 3]], a[[0, 2, 1], [0, 1, 3]] * a[0, [0, 1, 3]] * 2)
    sum(o.sum() for o in outs).backward()
    assert all(o.device == x.device for o in outs) and x.grad.device == x.device
