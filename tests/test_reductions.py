"""Reductions and scans: values against numpy (or a naive loop), gradients against float64 finite
differences on hypothesis shapes (empty and size-1 dims, negative dims, keepdim), PyTorch's
argument names and its answers for empty tensors and zero degrees of freedom."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.testing import arrays, axes, check_grad, tensors

shapes_with_empty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
small_with_empty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
nd_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)
with_zeros = st.sampled_from([0.0, 0.0, 0.5, -1.5, 2.0, -0.75])  # zeros often, and several of them


def _reduced(shape, axis) -> tuple[int, ...]:
    return tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, int) else axis


def _empty_reduction(shape, axis) -> bool:
    return any(shape[a] == 0 for a in _reduced(shape, axis))


def _numpy_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _all_spellings(op, x, axis, keep):
    """The op called with PyTorch's and numpy's argument names, as a function and as a method
    (max and min along one dim give PyTorch's (values, indices): their values count here)."""
    fn = getattr(mg, op)
    return [
        _values(fn(x, axis, keep)),
        _values(fn(x, dim=axis, keepdim=keep)),
        fn(x, axis=axis, keepdims=keep),
        _values(getattr(x, op)(dim=axis, keepdims=keep)),
    ]


def _values(out):
    return out.values if isinstance(out, tuple) else out


def _logsumexp(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros([1] * a.ndim, a.dtype)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if a.ndim else out.reshape(())


def _pnorm(a, p, axis, keepdims):
    if p == math.inf:
        return np.abs(a).max(axis=axis, keepdims=keepdims)
    if p == 0:
        return (a != 0).sum(axis=axis, keepdims=keepdims).astype(a.dtype)
    return (np.abs(a) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


# name: (numpy reference, elements, defined over nothing)
REDUCTIONS = {
    "sum": (lambda a, axis, k: a.sum(axis=axis, keepdims=k), (-10, 10), True),
    "prod": (lambda a, axis, k: a.prod(axis=axis, keepdims=k), (-2, 2), True),
    "mean": (lambda a, axis, k: a.mean(axis=axis, keepdims=k), (-10, 10), False),
    "max": (lambda a, axis, k: a.max(axis=axis, keepdims=k), (-10, 10), False),
    "min": (lambda a, axis, k: a.min(axis=axis, keepdims=k), (-10, 10), False),
    "logsumexp": (_logsumexp, (-10, 10), True),
    "var": (lambda a, axis, k: a.var(axis=axis, keepdims=k, ddof=1), (-10, 10), False),
    "std": (lambda a, axis, k: a.std(axis=axis, keepdims=k, ddof=1), (-10, 10), False),
    "norm": (lambda a, axis, k: _pnorm(a, 2, axis, k), (-10, 10), True),
    "any": (lambda a, axis, k: a.any(axis=axis, keepdims=k), (-1, 1), True),
    "all": (lambda a, axis, k: a.all(axis=axis, keepdims=k), (-1, 1), True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", REDUCTIONS)
@given(data=st.data())
def test_reduction_values_under_every_spelling_of_dim_and_keepdim(op, dtype, data):
    ref, elements, over_nothing = REDUCTIONS[op]
    a = data.draw(arrays(shapes_with_empty, dtype, elements, distinct=0.01 if op in ("var", "std") else None))
    axis = data.draw(axes(a.ndim), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    assume(over_nothing or not _empty_reduction(a.shape, axis))
    if op in ("var", "std"):
        assume(math.prod(a.shape[d] for d in _reduced(a.shape, axis)) > 1)
    expected = np.asarray(ref(a, _numpy_axis(axis), keep))
    x = mg.tensor(a)
    results = [mg.norm(x, 2, axis, keep), x.norm(dim=axis, keepdim=keep)] if op == "norm" else None
    for out in results or _all_spellings(op, x, axis, keep):
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4 if dtype == "float32" else 1e-10, atol=1e-5)


@pytest.mark.parametrize("op", ["sum", "prod", "mean", "max", "min", "logsumexp", "norm"])
@given(data=st.data())
def test_reduction_grads(op, data):
    ref, elements, over_nothing = REDUCTIONS[op]
    x = data.draw(tensors(small_with_empty, elements=elements, distinct=1e-2 if op in ("max", "min") else None))
    axis = data.draw(axes(x.ndim), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    assume((over_nothing and op != "logsumexp") or not _empty_reduction(x.shape, axis))  # -inf: no finite diff
    if op == "norm":  # not differentiable where the norm is 0
        assume(not _empty_reduction(x.shape, axis) and np.all(np.abs(x.numpy()) > 0.1))
    if op == "norm":
        assert check_grad(lambda t: mg.norm(t, 2, axis, keep), x)
    else:
        assert check_grad(lambda t: _values(getattr(mg, op)(t, axis, keepdim=keep)), x)


@pytest.mark.parametrize("op", ["prod", "logsumexp", "norm"])
def test_second_derivatives_of_reductions(op):
    x = mg.tensor([[0.5, -1.5, 2.0], [1.25, 0.75, -0.5]])
    assert gradgradcheck(lambda t: getattr(mg, op)(t, 1), x)


@given(x=tensors(small_with_empty, elements=with_zeros), keep=st.booleans(), data=st.data())
def test_prod_grad_with_zeros(x, keep, data):
    axis = data.draw(axes(x.ndim), label="dim")
    assert check_grad(lambda t: t.prod(axis, keep), x)


def test_prod_grad_with_one_zero_and_with_several():
    x = mg.tensor([[2.0, 0.0, 3.0], [0.0, 5.0, 0.0], [1.0, 2.0, 4.0]], requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    x.grad = None
    x.prod().backward()  # three zeros in all
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp_is_stable_at_1e4(dtype):
    for v in (1e4, -1e4):
        x = mg.tensor([v, v], dtype=dtype, requires_grad=True)
        out = x.logsumexp(0)
        np.testing.assert_allclose(out.numpy(), v + math.log(2), rtol=1e-7)
        out.backward()  # exp(x - out): float32 rounds out to 1e-3 at 1e4, as in PyTorch
        np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5], rtol=1e-3 if dtype == "float32" else 1e-12)
    mixed = mg.tensor([1e4, -1e4, 0.0], requires_grad=True)
    assert mixed.logsumexp(0).item() == 1e4
    mixed.logsumexp(0).backward()
    np.testing.assert_allclose(mixed.grad.numpy(), [1, 0, 0])
    assert mg.logsumexp(mg.tensor([-math.inf, -math.inf])).item() == -math.inf
    assert mg.logsumexp(mg.tensor([math.inf, 1.0])).item() == math.inf


@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda x: x.sum(), 0.0),
        (lambda x: x.prod(), 1.0),
        (lambda x: x.mean(), math.nan),
        (lambda x: x.logsumexp(0), -math.inf),
        (lambda x: x.var(), math.nan),
        (lambda x: x.std(), math.nan),
        (lambda x: x.norm(), 0.0),
        (lambda x: mg.count_nonzero(x), 0),
        (lambda x: x.all(), True),
        (lambda x: x.any(), False),
    ],
)
def test_reductions_of_empty_tensors_follow_pytorch(fn, expected):
    out = fn(mg.zeros(0))
    assert out.shape == ()
    np.testing.assert_equal(out.item(), expected)


@pytest.mark.parametrize("op", ["max", "min", "argmax", "argmin"])
def test_max_min_of_nothing_is_an_error(op):
    with pytest.raises(ValueError, match=f"{op}\\(\\) of an empty tensor"):
        getattr(mg.zeros(3, 0), op)(1)
    assert _values(getattr(mg.zeros(3, 0), op)(0)).shape == (0,)  # reducing a non-empty dim of an empty tensor


def test_var_and_std_without_degrees_of_freedom_follow_pytorch():
    """n <= correction divides by zero: inf for a non-constant input, nan for a constant one (0 / 0)."""
    spread, constant = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch's answers, without numpy's warnings
        assert spread.var(correction=2).item() == math.inf
        assert spread.std(correction=5).item() == math.inf
        assert math.isnan(constant.var(correction=2).item())
        assert math.isnan(mg.tensor([3.0]).var().item())  # one element, Bessel-corrected: 0 / 0
        assert mg.tensor([3.0]).var(correction=0).item() == 0
        v, m = mg.var_mean(spread, correction=2)
        assert v.item() == math.inf and m.item() == 1.5


@given(a=arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), distinct=0.05), data=st.data())
def test_var_mean_std_mean(a, data):
    axis = data.draw(axes(a.ndim), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    correction = data.draw(st.sampled_from([0, 1]), label="correction")
    x = mg.tensor(a)
    v, m = mg.var_mean(x, axis, keep, correction=correction)
    s, m2 = mg.std_mean(x, dim=axis, keepdims=keep)
    np.testing.assert_allclose(v.numpy(), a.var(axis=axis, keepdims=keep, ddof=correction))
    np.testing.assert_allclose(m.numpy(), a.mean(axis=axis, keepdims=keep))
    np.testing.assert_allclose(s.numpy(), a.std(axis=axis, keepdims=keep, ddof=1))
    np.testing.assert_allclose(m2.numpy(), m.numpy())
    reduced = a.size // max(v.numpy().size, 1)  # elements per result; dim=() reduces none: 1
    if reduced > correction:  # else 0 / 0: a nan variance, with a nan gradient
        assert check_grad(lambda t: sum(mg.var_mean(t, axis, keep, correction=correction)), x)
    if reduced > 1:  # std_mean's default correction is 1
        assert check_grad(lambda t: mg.std_mean(t, axis, keep)[0] * mg.std_mean(t, axis, keep)[1], x)


def test_var_accepts_unbiased_as_pytorch():
    x = mg.tensor([1.0, 2.0, 4.0])
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(unbiased=True).item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    with pytest.raises(TypeError, match="either correction or unbiased"):
        x.var(correction=0, unbiased=True)


def test_sum_and_mean_compute_in_the_dtype_given():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    total = x.sum(dtype=mg.float64)
    assert total.dtype == mg.float64 and mg.tensor([1, 2]).sum(dtype=mg.float32).dtype == mg.float32
    assert x.mean(dtype=mg.float64).dtype == mg.float64
    (total * 2).backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2])
    assert mg.tensor([True, True]).sum().item() == 2 and mg.tensor([2, 3], dtype="int32").prod().dtype == mg.int64


@given(a=arrays(shapes_with_empty, elements=st.sampled_from([0.0, 1.0, -2.0])), data=st.data())
def test_count_nonzero_any_all_over_dims(a, data):
    axis = data.draw(axes(a.ndim), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    x = mg.tensor(a)
    count = mg.count_nonzero(x, axis)
    assert count.dtype == mg.int64
    np.testing.assert_array_equal(count.numpy(), np.count_nonzero(a, axis=axis))
    np.testing.assert_array_equal(x.count_nonzero(dim=axis).numpy(), np.count_nonzero(a, axis=axis))
    np.testing.assert_array_equal(x.any(axis, keep).numpy(), a.any(axis=axis, keepdims=keep))
    np.testing.assert_array_equal(mg.all(x, dim=axis, keepdim=keep).numpy(), a.all(axis=axis, keepdims=keep))


# ---- norms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3, math.inf, -math.inf, 0, "fro"])
@given(a=arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), avoid=(0.0,), distinct=0.05), data=st.data())
def test_norm_values_and_grads(p, a, data):
    axis = data.draw(axes(a.ndim), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    x = mg.tensor(a)
    order = 2 if p == "fro" else p
    expected = (
        np.abs(a).min(axis=axis, keepdims=keep) if order == -math.inf else _pnorm(a, order, axis, keep)
    )  # fmt: skip
    np.testing.assert_allclose(mg.norm(x, p, axis, keep).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(mg.linalg.vector_norm(x, order, axis, keep).numpy(), expected, rtol=1e-10)
    assert check_grad(lambda t: t.norm(p, axis, keep), x)


def test_norm_gradient_is_zero_at_zero():
    x = mg.zeros(3, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@given(a=arrays(hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=3), distinct=0.1), data=st.data())
def test_matrix_norms_against_numpy(ord, a, data):
    keep = data.draw(st.booleans(), label="keepdim")
    dims = data.draw(st.sampled_from([(-2, -1), (-1, -2), (0, -1)]), label="dims")
    x = mg.tensor(a)
    expected = np.linalg.norm(np.moveaxis(a, dims, (-2, -1)), ord, axis=(-2, -1))
    if keep:
        expected = np.expand_dims(expected, tuple(sorted(d % a.ndim for d in dims)))
    np.testing.assert_allclose(mg.linalg.matrix_norm(x, ord, dims, keep).numpy(), expected, rtol=1e-8)
    np.testing.assert_allclose(mg.linalg.norm(x, ord, dims, keep).numpy(), expected, rtol=1e-8)
    s = np.linalg.svd(a, compute_uv=False)
    assume(ord not in (2, -2, "nuc") or np.min(np.abs(np.diff(s, axis=-1)), initial=1) > 1e-3)  # distinct values
    assume(ord not in (-2, "nuc") or s.min() > 1e-3)
    sums = [np.abs(a).sum(d % a.ndim) for d in dims]  # column and row sums: no ties (kinks of max, min)
    assume(all(np.min(np.abs(np.diff(np.sort(v, axis=None)))) > 1e-3 for v in sums if v.size > 1))
    assert check_grad(lambda t: mg.linalg.matrix_norm(t, ord, dims, keep), x)


def test_linalg_norm_defaults_as_pytorch():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert mg.linalg.norm(x).item() == pytest.approx(math.sqrt(30))
    assert mg.linalg.norm(x, 2).item() == pytest.approx(5.4649857)  # a matrix: the largest singular value
    assert mg.norm(x, 2).item() == pytest.approx(math.sqrt(30))  # torch.norm: all elements as one vector
    assert mg.linalg.norm(x, 1).item() == 6 and mg.linalg.norm(x, math.inf).item() == 7
    np.testing.assert_allclose(mg.linalg.norm(x, 1, dim=1).numpy(), [3, 7])
    assert mg.norm(x, "nuc").item() == pytest.approx(np.linalg.norm(x.numpy(), "nuc"), rel=1e-6)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        mg.linalg.norm(mg.zeros(2, 2, 2), 2)
    with pytest.raises(ValueError, match="ord must be one of"):
        mg.linalg.matrix_norm(x, 3)


# ---- scans ---------------------------------------------------------------------------------------


def _running_extreme(a, axis, better):
    """Naive loop: the running max (or min) and the latest index holding it; NaN stays once met."""
    a = np.moveaxis(a, axis, -1)
    values, indices = np.empty_like(a), np.zeros(a.shape, np.int64)
    for line in np.ndindex(*a.shape[:-1]):
        best, at = None, 0
        for k, v in enumerate(a[line]):
            if best is None or np.isnan(v) or (not np.isnan(best) and (v == best or better(v, best))):
                best, at = v, k
            values[line + (k,)], indices[line + (k,)] = best, at
    return np.moveaxis(values, -1, axis), np.moveaxis(indices, -1, axis)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@given(data=st.data())
def test_scan_values(dtype, data):
    few = st.sampled_from([-1.0, 0.0, 2.0, 0.5] if dtype != "int32" else [-1, 0, 2, 3])  # ties and zeros
    a = data.draw(arrays(nd_shapes, dtype, elements=few), label="a")
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1), label="dim")
    x = mg.tensor(a)
    np.testing.assert_allclose(x.cumsum(dim).numpy(), np.cumsum(a, dim), rtol=1e-6)
    np.testing.assert_allclose(mg.cumprod(x, axis=dim).numpy(), np.cumprod(a, dim), rtol=1e-6)
    assert x.cumsum(dim).dtype == (np.float64 if dtype == "float64" else np.float32 if dtype == "float32" else np.int64)
    for op, better in (("cummax", np.greater), ("cummin", np.less)):
        values, indices = _running_extreme(a, dim, better)
        out = getattr(x, op)(dim)
        np.testing.assert_array_equal(out.values.numpy(), values)
        np.testing.assert_array_equal(out.indices.numpy(), indices)
        assert out.values is out[0] and out.indices.dtype == mg.int64
    if dtype != "int32":
        expected = np.logaddexp.accumulate(a, dim)
        np.testing.assert_allclose(x.logcumsumexp(dim).numpy(), expected, rtol=1e-6)


def test_cummax_propagates_nan_as_pytorch():
    out = mg.cummax(mg.tensor([1.0, 3.0, 3.0, 2.0, math.nan, 5.0, math.nan]), 0)
    np.testing.assert_array_equal(out.values.numpy(), [1, 3, 3, 3, math.nan, math.nan, math.nan])
    assert out.indices.tolist() == [0, 1, 2, 2, 4, 4, 6]


def test_logcumsumexp_is_stable():
    x = mg.tensor([-1e4, 1e4, 1e4], requires_grad=True)
    out = x.logcumsumexp(0)
    np.testing.assert_allclose(out.numpy(), [-1e4, 1e4, 1e4 + math.log(2)], rtol=1e-7)
    out.sum().backward()  # the sum over k >= i of exp(x_i - out_k)
    np.testing.assert_allclose(x.grad.numpy(), [1, 1.5, 0.5], rtol=1e-3)


SCANS = {
    "cumsum": (lambda t, d: t.cumsum(d), (-5, 5)),
    "cumprod": (lambda t, d: mg.cumprod(t, d), with_zeros),
    "logcumsumexp": (lambda t, d: t.logcumsumexp(dim=d), (-5, 5)),
    "cummax": (lambda t, d: t.cummax(d).values, (-5, 5)),
    "cummin": (lambda t, d: mg.cummin(t, axis=d)[0], (-5, 5)),
}


@pytest.mark.parametrize("op", SCANS)
@given(data=st.data())
def test_scan_grads(op, data):
    fn, elements = SCANS[op]
    distinct = 0.01 if op in ("cummax", "cummin") else None
    x = data.draw(tensors(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), elements=elements,
                          distinct=distinct), label="x")  # fmt: skip
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
    assert check_grad(lambda t: fn(t, dim), x)


def test_cumprod_grad_with_one_zero_and_with_several():
    x = mg.tensor([2.0, 0.0, 3.0, 0.0, 5.0], requires_grad=True)
    x.cumprod(0).sum().backward()
    # d/dx_i of sum_k prod_{j<=k} x_j, by hand: only the terms up to the second zero survive
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2 + 6, 0, 0, 0])
    assert check_grad(lambda t: t.cumprod(0), mg.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]]))


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "logcumsumexp"])
def test_second_derivatives_of_scans(op):
    x = mg.tensor([[0.5, -1.5, 2.0], [1.25, 0.75, -0.5]])
    assert gradgradcheck(lambda t: getattr(t, op)(1) ** 2, x)


def test_scans_need_a_dim():
    with pytest.raises(TypeError, match="needs a dim"):
        mg.cumsum(mg.zeros(3))
    with pytest.raises(TypeError, match="either dim or axis"):
        mg.cumsum(mg.zeros(3), 0, axis=0)
    with pytest.raises(IndexError, match="out of range"):
        mg.zeros(2, 3).cumprod(2)


def test_scans_and_reductions_of_0d_tensors():
    x = mg.tensor(2.5, requires_grad=True)
    for fn in (lambda t: t.cumsum(0), lambda t: t.cumprod(-1), lambda t: t.logcumsumexp(0), lambda t: t.prod(0)):
        out = fn(x)
        assert out.shape == () and out.item() == pytest.approx(2.5)
        assert check_grad(fn, x)
    values, indices = x.cummax(0)
    assert values.item() == 2.5 and indices.item() == 0


def test_scans_on_the_device(device):
    a = np.array([[1.0, -2.0, 3.0, 3.0], [0.0, 5.0, -1.0, 2.0]], dtype=np.float32)
    x = mg.tensor(a, device=device, requires_grad=True)
    values, indices = x.cummax(1)
    np.testing.assert_array_equal(values.numpy(), np.maximum.accumulate(a, 1))
    assert indices.tolist() == [[0, 0, 2, 3], [0, 1, 1, 1]] and values.device == x.device
    np.testing.assert_allclose(x.logcumsumexp(1).numpy(), np.logaddexp.accumulate(a, 1), rtol=1e-6)
    (values.sum() + x.logcumsumexp(1).sum() + x.cumprod(1).sum() + x.prod(1).sum()).backward()
    assert x.grad.device == x.device
