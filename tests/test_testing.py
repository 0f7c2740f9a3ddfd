"""minigrad.testing: the strategies draw what they promise, and check_grad tells right from wrong."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import arrays, axes, broadcastable_shapes, check_grad, tensors

# ---- tensors -----------------------------------------------------------------------------------


@given(t=tensors())
def test_tensors_defaults(t):
    assert isinstance(t, mg.Tensor)
    assert t.dtype == mg.float64 and t.device == "cpu" and t.is_leaf and not t.requires_grad
    assert 0 <= t.ndim <= 3 and all(1 <= n <= 4 for n in t.shape)
    assert np.isfinite(t.numpy()).all()
    assert (np.abs(t.numpy()) <= 10).all()


@given(data=st.data())
def test_tensors_shape_argument(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0), label="shape")
    assert data.draw(tensors(shape), label="fixed").shape == shape
    assert data.draw(tensors(st.just(shape)), label="from a strategy").shape == shape
    drawn = data.draw(tensors(min_dims=2, max_dims=3, min_side=0, max_side=2), label="generated")
    assert 2 <= drawn.ndim <= 3 and all(0 <= n <= 2 for n in drawn.shape)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool"])
@given(data=st.data())
def test_tensors_dtype_and_elements(dtype, data):
    t = data.draw(tensors(dtype=dtype, elements=(-3, 5)), label="t")
    assert t.dtype == np.dtype(dtype)
    values = t.numpy().astype(np.float64)
    assert ((-3 <= values) & (values <= 5)).all()


@given(t=tensors(elements=st.sampled_from([0.5, 1.5]), requires_grad=True))
def test_tensors_elements_strategy_and_requires_grad(t):
    assert t.requires_grad and t.is_leaf
    assert set(t.numpy().ravel()) <= {0.5, 1.5}


@pytest.mark.parametrize("avoid, margin", [((0.0,), 0.1), ((-1.0, 2.0), 0.5), ((0.0, 0.3), 0.2), ((10.0,), 1.0)])
@given(data=st.data())
def test_tensors_avoid_keeps_values_away_from_points(avoid, margin, data):
    t = data.draw(tensors(elements=(-10, 10), avoid=avoid, margin=margin), label="t")
    values = t.numpy().ravel()
    for p in avoid:
        assert (np.abs(values - p) >= margin).all()
    assert ((-10 <= values) & (values <= 10)).all()


def test_tensors_avoid_still_reaches_the_edges_of_the_gap():
    """Values just outside the margin are drawn: kinks are approached, never crossed."""
    near = find(tensors((), avoid=(0.0,), margin=0.1), lambda t: abs(t.item()) < 0.11)
    assert 0.1 <= abs(near.item()) < 0.11


@given(data=st.data())
def test_tensors_avoid_with_an_elements_strategy_and_ints(data):
    t = data.draw(tensors(elements=st.sampled_from([-1.0, 0.0, 1.0]), avoid=(0.0,)), label="floats")
    assert (t.numpy() != 0).all()
    i = data.draw(tensors(dtype="int64", elements=(-2, 2), avoid=(0,)), label="ints")
    assert (i.numpy() != 0).all()


def test_tensors_avoid_that_leaves_nothing_is_an_error():
    with pytest.raises(ValueError, match="no values left"):
        tensors(elements=(-1, 1), avoid=(0.0,), margin=2.0).example()


@pytest.mark.parametrize("dtype, distinct", [("float64", 1e-3), ("float64", 0.1), ("float32", 0.01)])
@given(data=st.data())
def test_tensors_distinct_values_have_no_ties(dtype, distinct, data):
    t = data.draw(tensors((4, 4, 4), dtype, distinct=distinct, avoid=(0.0,)), label="t")
    values = np.sort(t.numpy().ravel().astype(np.float64))
    assert (np.diff(values) >= distinct - 1e-5).all()  # up to rounding to float32
    assert (np.abs(values) >= 0.1).all()


def test_tensors_distinct_needs_float_bounds():
    with pytest.raises(ValueError, match="distinct needs a float dtype"):
        tensors(dtype="int64", distinct=1)
    with pytest.raises(ValueError, match="distinct needs a float dtype"):
        tensors(elements=st.floats(0, 1), distinct=0.1)


@given(a=arrays((2, 3), "float32", (0, 1)))
def test_arrays_are_numpy(a):
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (2, 3)


# ---- broadcastable_shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_broadcastable_shapes(n, data):
    shapes = data.draw(broadcastable_shapes(n, min_dims=1, max_dims=3, min_side=0, max_side=4), label="shapes")
    assert isinstance(shapes, tuple) and len(shapes) == n
    np.broadcast_shapes(*shapes)  # raises if they don't broadcast
    for shape in shapes:
        assert 1 <= len(shape) <= 3 and all(0 <= side <= 4 for side in shape)


def test_broadcastable_shapes_really_broadcast():
    """Different ranks and size-1 axes against larger ones both come up."""
    pair = find(
        broadcastable_shapes(2, min_dims=1),
        lambda s: len(s[0]) != len(s[1]) and 1 in s[0] + s[1] and np.broadcast_shapes(*s) not in s,
    )
    assert np.broadcast_shapes(*pair) not in pair


# ---- axes ----------------------------------------------------------------------------------------


@given(data=st.data())
def test_axes_are_valid_for_numpy(data):
    a = np.zeros(data.draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=2), label="shape"))
    axis = data.draw(axes(a.ndim), label="axis")
    assert a.sum(axis=axis).ndim == a.ndim - len(range(a.ndim) if axis is None else np.atleast_1d(axis))
    np.testing.assert_array_equal(mg.tensor(a).sum(axis).numpy(), a.sum(axis=axis))


@given(data=st.data())
def test_axes_options(data):
    ndim = data.draw(st.integers(1, 4), label="ndim")
    axis = data.draw(axes(ndim, allow_none=False, allow_tuple=False, allow_negative=False), label="axis")
    assert isinstance(axis, int) and 0 <= axis < ndim
    axis = data.draw(axes(ndim, allow_none=False), label="axis")
    assert axis is not None
    for a in np.atleast_1d(axis):
        assert -ndim <= a < ndim


@pytest.mark.parametrize(
    "wanted",
    [
        lambda a: a is None,
        lambda a: isinstance(a, int) and a < 0,
        lambda a: a == (),
        lambda a: isinstance(a, tuple) and len(a) == 3 and min(a) < 0 <= max(a),
    ],
)
def test_axes_draws_every_kind(wanted):
    assert wanted(find(axes(3), wanted))


def test_axes_of_0d():
    assert find(axes(0), lambda a: True) is None
    assert find(axes(0), lambda a: a is not None) == ()
    with pytest.raises(ValueError, match="no valid axis"):
        axes(0, allow_none=False, allow_tuple=False).example()


# ---- check_grad ---------------------------------------------------------------------------------


@given(x=tensors(), y=tensors())
def test_check_grad_accepts_right_gradients(x, y):
    assert check_grad(lambda a, b: (a * b.sum()).tanh(), x, y) is True


def test_check_grad_rejects_wrong_gradients():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(mg.GradcheckError, match=r"d output\[0\] / d input 0 \[0\]: analytic 1.0, numeric 2.0$"):
        check_grad(lambda t: t * t.detach(), x)
    with pytest.raises(mg.GradcheckError, match="input 1"):
        check_grad(lambda a, b: a * b.detach(), x, mg.tensor([3.0, 4.0]))


def test_gradcheck_reports_the_jacobian_entry_a_user_can_recognise():
    """f(x) = sum(x * x.detach()) at 1.5: the analytic derivative is x = 1.5, the true one 2x = 3."""
    with pytest.raises(
        mg.GradcheckError,
        match=r"^gradcheck: gradient mismatch: d output / d input 0 \[0\]: analytic 1.5, numeric 3.0$",
    ):
        mg.gradcheck(lambda x: (x * x.detach()).sum(), [mg.tensor([1.5])])
    with pytest.raises(mg.GradcheckError, match=r"d output / d input 0: analytic 1.5, numeric 3.0$"):
        mg.gradcheck(lambda x: x * x.detach(), [mg.tensor(1.5)])  # 0-d in and out


def test_gradcheck_names_the_failing_output_and_input_elements():
    def wrong_in_one_place(a, b):  # d out[1, 2] / d b[3] is 5 analytically, 0 really
        out = (a * b.sum()).reshape(2, 3)
        mask = mg.tensor([[0.0, 0, 0], [0, 0, 1]])
        return out + 5 * mask * (b[3] - b[3].detach())

    a, b = mg.randn(6, generator=mg.Generator(0)), mg.randn(4, generator=mg.Generator(1))
    with pytest.raises(
        mg.GradcheckError, match=r"d output\[1, 2\] / d input 1 \[3\]: analytic [\d.-]+, numeric [\d.-]+$"
    ) as error:
        mg.gradcheck(wrong_in_one_place, [a, b])
    analytic, numeric = map(float, re.findall(r"analytic (\S+), numeric (\S+)$", str(error.value))[0])
    assert analytic - numeric == pytest.approx(5.0)


def test_gradcheck_says_when_only_the_weighted_sum_is_out_of_tolerance():
    def slightly_wrong(t):  # each entry off by 5e-4 (under atol); their weighted sum (weights summing to ~8) by ~4e-3
        ones = mg.ones(100, dtype=mg.float64)  # a float32 one would win over a 0-d input, as in PyTorch
        return t * ones + 5e-4 * (t - t.detach()) * ones

    with pytest.raises(
        mg.GradcheckError, match=r"each entry is within tolerance; a random weighted sum of the output is not"
    ):
        mg.gradcheck(slightly_wrong, [mg.tensor(1.0)], atol=1e-3, rtol=0.0)


def test_check_grad_tolerances():
    x = mg.tensor([1.0, 2.0])

    def wrong_by_1e_4(t):  # t - t.detach() is 0, but its analytic gradient adds 1e-4
        return t * t + 1e-4 * (t - t.detach())

    with pytest.raises(mg.GradcheckError):
        check_grad(wrong_by_1e_4, x, atol=1e-7, rtol=1e-7)
    assert check_grad(wrong_by_1e_4, x, atol=1e-3)
    assert check_grad(lambda t: t.astype(mg.float32) ** 2, x, eps=1e-2, atol=1e-3)


def test_importing_minigrad_needs_no_hypothesis():
    code = (
        "import sys\n"
        "class NoHypothesis:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'hypothesis': raise ImportError('no hypothesis here')\n"
        "sys.meta_path.insert(0, NoHypothesis())\n"
        "import minigrad\n"
        "x = minigrad.tensor([1.0, 2.0], requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "assert x.grad.tolist() == [2.0, 4.0]\n"
        "assert 'minigrad.testing' not in sys.modules\n"
        "try:\n"
        "    import minigrad.testing\n"
        "except ImportError as e:\n"
        "    print('testing needs hypothesis:', e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "testing needs hypothesis: no hypothesis here" in result.stdout
