"""Errors: each has the right type and a message naming what was wrong (shapes, dtypes, devices, axes)."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

import minigrad as mg

a23, a4 = mg.ones(2, 3), mg.ones(4)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("add", lambda: a23 + a4),
        ("sub", lambda: a23 - np.ones(4)),
        ("mul", lambda: a23 * a4),
        ("div", lambda: mg.div(a23, a4)),
        ("pow", lambda: a23**a4),
        ("maximum", lambda: mg.maximum(a23, a4)),
        ("minimum", lambda: a23.minimum(a4)),
        ("lt", lambda: a23 < a4),
        ("eq", lambda: a23 == a4),
        ("where", lambda: mg.where(mg.tensor([True, False, True]), a23, a4)),
    ],
)
def test_broadcast_mismatch_names_both_shapes(name, fn):
    with pytest.raises(ValueError, match=rf"^{name}: shapes .*\(2, 3\) and \(4,\) can't be broadcast"):
        fn()


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2), lead=hnp.array_shapes(min_dims=0, max_dims=2))
def test_any_broadcast_mismatch_is_reported(shape, lead):
    bad = lead + shape[:-1] + (shape[-1] + 1,)  # last axes of different sizes, neither 1
    with pytest.raises(ValueError, match=re.escape(f"shapes {shape} and {bad} can't be broadcast")):
        mg.zeros(shape) + mg.zeros(bad)


@pytest.mark.parametrize(
    "sa, sb", [((2, 3), (2, 3)), ((3,), (4,)), ((2, 2, 3), (3, 3, 4)), ((2, 3), ()), ((5,), (4, 2))]
)
def test_matmul_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError, match=re.escape(f"matmul: shapes {sa} and {sb} don't line up")):
        mg.zeros(sa) @ mg.zeros(sb)


def test_linear_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError, match=re.escape("linear: an input of shape (2, 3) doesn't fit a weight of shape (4, 2)")
    ):
        mg.linear(mg.ones(2, 3), mg.ones(4, 2))


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda: a23.reshape(4, -1), "can't reshape a tensor of shape (2, 3) (6 elements) into (4, -1)"),
        (lambda: a23.reshape((5,)), "can't reshape a tensor of shape (2, 3) (6 elements) into (5,)"),
        (lambda: a23.view(-1, -1), "into (-1, -1)"),
        (lambda: a23.broadcast_to((3, 3)), "can't broadcast a tensor of shape (2, 3) to (3, 3)"),
        (lambda: a23.expand(4, -1), "can't broadcast a tensor of shape (2, 3) to (4, 3)"),
        (lambda: mg.stack([a23, a4]), "stack: can't join tensors of shapes (2, 3), (4,) along dim 0"),
        (lambda: mg.cat([a23, mg.ones(2, 2)]), "cat: can't join tensors of shapes (2, 3), (2, 2) along dim 0"),
        (lambda: a23.permute(0, 0), "permute: (0, 0) is not an ordering of the 2 axes of a tensor of shape (2, 3)"),
        (lambda: a23.flatten(1, 0), "flatten: start_dim 1 comes after end_dim 0"),
        (lambda: mg.stack([]), "stack needs at least one tensor"),
    ],
)
def test_impossible_shapes(fn, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fn()


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda: a23.sum(2), IndexError, "axis 2 is out of range for a tensor with 2 dimension(s)"),
        (lambda: a23.mean(-3), IndexError, "axis -3 is out of range for a tensor with 2 dimension(s)"),
        (lambda: a23.max(dim=(0, 5)), IndexError, "axis 5 is out of range"),
        (lambda: a23.argmin(7), IndexError, "axis 7 is out of range"),
        (lambda: a23.transpose(0, 2), IndexError, "axis 2 is out of range"),
        (lambda: a23.squeeze(3), IndexError, "axis 3 is out of range"),
        (lambda: a23.unsqueeze(4), IndexError, "axis 4 is out of range for a tensor with 3 dimension(s)"),
        (lambda: mg.cat([a23, a23], dim=2), IndexError, "axis 2 is out of range"),
        (lambda: a23.sum((0, 0)), ValueError, "repeated axis in (0, 0)"),
        (lambda: a23.min((1, -1)), ValueError, "repeated axis in (1, -1)"),
        (lambda: a23.sum(1.0), TypeError, "axis must be an int or a tuple of ints, got 1.0"),
        (lambda: a23.sum(0, axis=1), TypeError, "pass either dim or axis, not both"),
        (lambda: a23.sum(0, keepdim=True, keepdims=True), TypeError, "pass either keepdim or keepdims, not both"),
        (lambda: a23.argmax((0, 1)), TypeError, "argmax takes a single dim, got (0, 1)"),
    ],
)
def test_bad_axes(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn()


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda: mg.zeros(0).max(), "max() of an empty tensor (shape (0,))"),
        (lambda: mg.zeros(2, 0).min(1), "min() of an empty tensor (shape (2, 0)) over dim 1"),
        (lambda: mg.zeros(3, 0).argmax(-1), "argmax() of an empty tensor (shape (3, 0))"),
    ],
)
def test_extremum_of_nothing(fn, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fn()


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda: a23[5], IndexError, r"index 5 is out of bounds.*\(indexing a tensor of shape \(2, 3\)\)"),
        (lambda: a23[0, 0, 0], IndexError, r"too many indices.*shape \(2, 3\)"),
        (lambda: a23[mg.tensor([0.0])], IndexError, "must be integer or bool, got dtype float32"),
        (lambda: a23[mg.tensor([True, False, True])], IndexError, r"boolean index.*shape \(2, 3\)"),
    ],
)
def test_bad_indices(fn, error, message):
    with pytest.raises(error, match=message):
        fn()


@pytest.mark.parametrize(
    "fn",
    [
        lambda: mg.tensor([1, 2], requires_grad=True),
        lambda: mg.tensor([1, 2]).requires_grad_(),
        lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True),
        lambda: mg.tensor([True], requires_grad=True),
    ],
)
def test_requires_grad_on_a_non_float_tensor(fn):
    with pytest.raises(TypeError, match="only float tensors can require gradients, got dtype (int64|bool)"):
        fn()


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda: mg.where(mg.tensor([1, 0]), a23, a23), TypeError, "condition must be a bool tensor, got dtype int64"),
        (lambda: ~mg.ones(2), TypeError, "bitwise_not (~) needs integer or bool tensors, got dtype float32"),
        (lambda: mg.rand(2, dtype=mg.int32), TypeError, "expected a float dtype, got int32"),
        (
            lambda: mg.gradcheck(lambda t: t, [mg.tensor([1, 2])]),
            TypeError,
            "gradcheck: input 0 must be a float tensor",
        ),
        (
            lambda: mg.grad(lambda t: t.sum())(mg.tensor([1, 2])),
            TypeError,
            "argument 0 has dtype int64: only float tensors can be differentiated",
        ),
    ],
)
def test_wrong_dtypes(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn()


# ---- backward ---------------------------------------------------------------------------------


def test_backward_twice():
    loss = (mg.ones(2, requires_grad=True) * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


@pytest.mark.parametrize("make", [lambda: (mg.ones(2) * 2).sum(), lambda: mg.ones(()), lambda: _under_no_grad()])
def test_backward_on_a_tensor_not_requiring_grad(make):
    with pytest.raises(RuntimeError, match="backward\\(\\) on a tensor that does not require grad"):
        make().backward()


def _under_no_grad():
    with mg.no_grad():
        return (mg.ones(2, requires_grad=True) * 2).sum()


def test_non_scalar_backward_names_the_shape():
    with pytest.raises(RuntimeError, match=re.escape("only for scalar outputs, got shape (2, 3)")):
        (mg.ones(2, 3, requires_grad=True) * 2).backward()


@pytest.mark.parametrize("gradient, shape", [(mg.ones(3, 2), "(3, 2)"), (np.ones(6), "(6,)"), (1.0, "()")])
def test_gradient_shape_mismatch_names_both_shapes(gradient, shape):
    with pytest.raises(RuntimeError, match=re.escape(f"gradient has shape {shape}, but the output has shape (2, 3)")):
        (mg.ones(2, 3, requires_grad=True) * 2).backward(gradient)


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda: mg.ones(2).retain_grad(), RuntimeError, "retain_grad() on a tensor that does not require grad"),
        (
            lambda: mg.autograd.grad((mg.ones(2, requires_grad=True) * 2).sum(), [mg.ones(2)]),
            RuntimeError,
            "input 0 of grad() does not require grad",
        ),
        (lambda: mg.grad(lambda t: t * 2)(mg.ones(2)), TypeError, "grad needs f to return a scalar tensor, got (2,)"),
        (
            lambda: mg.grad(lambda t: t.sum(), argnums=2)(mg.ones(2)),
            TypeError,
            "argnums 2 is out of range: the function got 1 positional argument(s)",
        ),
        (
            lambda: mg.grad(lambda t: t[0].sum())((mg.ones(2), "w")),
            TypeError,
            "argument 0[1] is a str: differentiated arguments must be tensors",
        ),
        (lambda: mg.gradcheck(lambda t: 3.0, [mg.ones(2)]), TypeError, "fn must return a tensor, got float"),
    ],
)
def test_misused_autograd(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn()


# ---- devices and construction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda: mg.tensor([1.0], device="tpu"),
        lambda: mg.zeros(2, device="cuda:x"),
        lambda: mg.ones(2).to("gpu"),
        lambda: mg.rand(2, device="CPU"),
    ],
)
def test_unknown_device(fn):
    with pytest.raises(ValueError, match=r"unknown device '(tpu|cuda:x|gpu|CPU)': expected 'cpu', 'cuda' or 'cuda:N'"):
        fn()


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed here")
@pytest.mark.parametrize(
    "fn",
    [
        lambda: mg.tensor([1.0], device="cuda"),
        lambda: mg.zeros(2, device="cuda:0"),
        lambda: mg.randn(2, device="cuda"),
        lambda: mg.ones(2).cuda(),
        lambda: mg.ones(2).to("cuda:1"),
    ],
)
def test_cuda_without_cupy_says_which_extra_to_install(fn):
    with pytest.raises(RuntimeError, match=r"needs cupy, which is not installed.*minigrad\[cuda12\]"):
        fn()
    assert not mg.cuda.is_available() and mg.cuda.device_count() == 0


@pytest.mark.parametrize(
    "data, error, message",
    [
        ([[1.0, 2.0], [3.0]], ValueError, "can't make a tensor from ragged nested sequences"),
        ([[1, [2]], [3, 4]], ValueError, "can't make a tensor from ragged nested sequences"),
        ("abc", TypeError, "can't make a tensor from str 'abc'"),
        (["a", "b"], TypeError, "values must be numbers or bools"),
        ([None], TypeError, "values must be numbers or bools"),
    ],
)
def test_bad_tensor_data(data, error, message):
    with pytest.raises(error, match=re.escape(message)):
        mg.tensor(data)


@pytest.mark.parametrize(
    "fn, error, message",
    [
        (lambda: mg.zeros(2, -1), ValueError, "a shape is made of non-negative ints, got (2, -1)"),
        (lambda: mg.randint(3, 3), ValueError, "randint: high (3) must be greater than low (3)"),
        (lambda: mg.ones(2).clamp(), ValueError, "clamp needs at least one of min and max"),
        (lambda: mg.ones(2).item(), ValueError, "item() needs a tensor with one element, got shape (2,)"),
        (lambda: bool(mg.ones(2)), ValueError, "the truth value of a tensor with 2 elements is ambiguous"),
        (lambda: len(mg.tensor(1.0)), TypeError, "len() of a 0-d tensor"),
    ],
)
def test_misc_errors(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn()


# ---- gradcheck ---------------------------------------------------------------------------------


def test_gradcheck_mismatch_names_input_element_and_values():
    """x * x.detach() differentiates as x, not 2x: detached data hides half of the gradient."""
    x, y = mg.tensor([1.0, 2.0]), mg.tensor(np.array([[3.0, 4.0]]))
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x, y: x * y + y * y.detach(), [x, y])
    # d out[0, 0] / d y[0, 0] is x[0] + 2 y[0, 0] = 7; the detached term makes it x[0] + y[0, 0] = 4
    assert (
        str(info.value) == "gradcheck: gradient mismatch: d output[0, 0] / d input 1 [0, 0]: analytic 4.0, numeric 7.0"
    )
    assert isinstance(info.value, AssertionError)
    assert mg.gradcheck(lambda x, y: x * y + y * y, [x, y])


def test_gradgradcheck_mismatch():
    with pytest.raises(
        mg.GradcheckError, match=r"^gradgradcheck: gradient mismatch: d output\[\d\] / d input 0 \[1\]: "
    ):
        mg.gradgradcheck(lambda t: t * t * t.detach(), [mg.tensor([0.0, 2.0])])


@given(shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))
def test_gradcheck_finds_a_wrong_gradient_in_any_element(shape):
    x = mg.zeros(shape, dtype=mg.float64) + 1.0
    wrong = np.zeros(shape)
    wrong.flat[-1] = 1.0  # only the last element is treated as a constant

    def fn(t):
        return t * mg.tensor(1 - wrong) + t.detach() * mg.tensor(wrong)

    last = ", ".join(str(n - 1) for n in shape)
    with pytest.raises(
        mg.GradcheckError, match=re.escape(f"d output[{last}] / d input 0 [{last}]: analytic 0.0, numeric 1.0")
    ):
        mg.gradcheck(fn, [x])
