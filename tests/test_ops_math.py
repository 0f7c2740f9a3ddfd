"""The math ops (minigrad/ops/math.py), floor_divide and remainder, the logic and bitwise ops
(minigrad/ops/logic.py) and pow's edge cases: values against numpy or Python, gradients against
float64 central differences on hypothesis-drawn shapes (empty and size-1 axes included)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import arrays, broadcastable_shapes, check_grad, tensors

FLOATS = ["float32", "float64"]
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)  # empty axes included
pairs = broadcastable_shapes(2, min_dims=0, max_dims=3, min_side=0, max_side=3)  # empty axes too
VALUES = settings(max_examples=15)  # value checks: fewer examples, each dtype drawn


def assert_matches(t: mg.Tensor, expected, rtol: float | None = None) -> None:
    """Same shape, dtype and values (to the dtype's precision) as `expected`."""
    expected = np.asarray(expected)
    assert t.shape == expected.shape
    assert t.dtype == expected.dtype, f"dtype {t.dtype}, expected {expected.dtype}"
    tol = rtol if rtol is not None else {"float32": 2e-6, "float64": 1e-13}.get(str(expected.dtype), 0)
    np.testing.assert_allclose(t.numpy(), expected, rtol=tol, atol=tol)


# ---- one operand --------------------------------------------------------------------------------
# name: (numpy reference, elements where the op is smooth and its finite differences accurate)
UNARY = {
    "reciprocal": (lambda x: 1 / x, {"elements": (-4, 4), "avoid": (0.0,), "margin": 0.5}),
    "rsqrt": (lambda x: 1 / np.sqrt(x), {"elements": (0.2, 9)}),
    "square": (np.square, {}),
    "log2": (np.log2, {"elements": (0.1, 10)}),
    "log10": (np.log10, {"elements": (0.1, 10)}),
    "log1p": (np.log1p, {"elements": (-0.9, 10)}),
    "exp2": (np.exp2, {"elements": (-5, 5)}),
    "expm1": (np.expm1, {"elements": (-5, 5)}),
    "erf": (np.vectorize(math.erf, otypes=[float]), {"elements": (-4, 4)}),
    "sin": (np.sin, {}),
    "cos": (np.cos, {}),
    "tan": (np.tan, {"elements": (-1.4, 1.4)}),
    "asin": (np.arcsin, {"elements": (-0.9, 0.9)}),
    "acos": (np.arccos, {"elements": (-0.9, 0.9)}),
    "atan": (np.arctan, {}),
    "sinh": (np.sinh, {"elements": (-4, 4)}),
    "cosh": (np.cosh, {"elements": (-4, 4)}),
    "asinh": (np.arcsinh, {}),
    "acosh": (np.arccosh, {"elements": (1.1, 10)}),
    "atanh": (np.arctanh, {"elements": (-0.9, 0.9)}),
    "frac": (lambda x: x - np.trunc(x), {"avoid": tuple(range(-10, 11))}),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data(), dtype=st.sampled_from(FLOATS))
@VALUES
def test_unary_values(name, dtype, data):
    ref, kwargs = UNARY[name]
    a = data.draw(arrays(shapes, dtype, **kwargs), label="a")
    expected = np.asarray(ref(a.astype(np.float64))).astype(dtype)
    assert_matches(getattr(mg, name)(mg.tensor(a)), expected)
    assert_matches(getattr(mg.tensor(a), name)(), expected)


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_grads(name, data):
    _, kwargs = UNARY[name]
    x = data.draw(tensors(shapes, **kwargs), label="x")
    assert check_grad(getattr(mg, name), x)


@pytest.mark.parametrize("name", ["sin", "tan", "asin", "acosh", "erf", "rsqrt", "log1p", "cosh"])
def test_second_derivatives(name):
    x = mg.tensor(np.array([[1.2, 1.5], [1.7, 1.9]]) if name == "acosh" else np.array([[0.2, 0.4], [0.6, 0.8]]))
    assert mg.gradgradcheck(getattr(mg, name), [x])


def test_integer_inputs_compute_in_float32_unless_the_result_is_an_integer():
    ints = mg.tensor([-2, 0, 3])
    with np.errstate(all="ignore"):  # 1/0, log1p(-2), ...: only the dtypes matter here
        for name in ("sin", "exp2", "reciprocal", "erf", "log1p", "frac", "atanh"):
            assert getattr(mg, name)(ints).dtype == mg.float32, name
    for name in ("floor", "ceil", "trunc", "round", "square", "sign"):
        out = getattr(ints, name)()
        assert out.dtype == mg.int64, name
    np.testing.assert_array_equal(ints.square().numpy(), [4, 0, 9])
    np.testing.assert_array_equal(ints.floor().numpy(), [-2, 0, 3])
    assert mg.sign(mg.tensor([True, False])).tolist() == [True, False]


# ---- rounding: values, and zero gradients --------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_rounding_values(dtype, data):
    a = data.draw(arrays(shapes, dtype, st.sampled_from([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 0.2, 3.0])), label="a")
    x = mg.tensor(a)
    assert_matches(x.floor(), np.floor(a))
    assert_matches(mg.ceil(x), np.ceil(a))
    assert_matches(x.trunc(), np.trunc(a))
    assert_matches(mg.round(x), np.round(a))  # halves to even, as PyTorch
    assert_matches(x.round(decimals=1), np.round(a, 1))


def test_round_halves_to_even_and_decimals():
    assert mg.tensor([0.5, 1.5, 2.5, -0.5, -2.5]).round().tolist() == [0, 2, 2, -0, -2]
    np.testing.assert_allclose(mg.tensor([1.2345, -0.0551]).round(2).numpy(), [1.23, -0.06])
    assert mg.tensor([5, 15, 25, 17]).round(decimals=-1).tolist() == [0, 20, 20, 20]


@pytest.mark.parametrize("fn", [mg.floor, mg.ceil, mg.trunc, mg.round, mg.sign, lambda x: x.round(decimals=1)])
@given(x=tensors(shapes))
def test_step_functions_have_zero_gradients(fn, x):
    x = mg.tensor(x.numpy(), requires_grad=True)
    out = fn(x)
    assert out.requires_grad
    with np.errstate(invalid="ignore"):
        (out * mg.tensor(np.full(out.shape, np.inf))).sum().backward()  # zero whatever arrives
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    assert (x.grad.numpy() == 0).all()


def test_sign_backward_gives_zeros_as_pytorch():
    x = mg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.sign().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    (dx,) = mg.autograd.grad((x * x.sign()).sum(), x, create_graph=True)  # |x|, written with sign
    assert dx.tolist() == [-1.0, 0.0, 1.0]


def test_frac_gradient_is_one():
    x = mg.tensor([-1.5, 0.25, 2.75], requires_grad=True)
    x.frac().sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


# ---- erf against math.erf --------------------------------------------------------------------------
ERF_POINTS = np.concatenate(
    [
        np.linspace(-7, 7, 20001),
        np.geomspace(1e-300, 7, 3001),
        -np.geomspace(1e-30, 7, 301),
        [0.0, -0.0, 0.9999999, 1.0, 1.0000001, 5.999, 6.0, 6.1, 30.0, 1e300],
    ]
)


def _ulps(got: np.ndarray, expected: np.ndarray, dtype) -> np.ndarray:
    return np.abs(got.astype(np.float64) - expected) / np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)


@pytest.mark.parametrize("dtype", FLOATS)
def test_erf_is_accurate_to_a_few_ulps(dtype):
    with np.errstate(over="ignore"):
        x = ERF_POINTS.astype(dtype)
    x = x[np.isfinite(x)]
    expected = np.array([math.erf(float(v)) for v in x])
    got = mg.erf(mg.tensor(x)).numpy()
    assert got.dtype == dtype
    assert _ulps(got, expected, dtype).max() <= 3


def test_erf_special_values():
    out = mg.erf(mg.tensor([np.inf, -np.inf, np.nan, 0.0, -0.0])).numpy()
    assert out[:2].tolist() == [1.0, -1.0] and np.isnan(out[2])
    assert np.signbit(out[4]) and out[3] == 0
    half = mg.erf(mg.tensor(np.array([0.5, -2.0], dtype=np.float16)))
    assert half.dtype == mg.float16
    np.testing.assert_allclose(half.numpy(), [math.erf(0.5), math.erf(-2.0)], rtol=1e-3)


# ---- floor_divide and remainder: Python's rules ----------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "int64"])
@given(data=st.data())
def test_floor_divide_and_remainder_follow_python(dtype, data):
    sa, sb = data.draw(pairs, label="shapes")
    a = data.draw(arrays(sa, dtype, (-20, 20)), label="a")
    b = data.draw(arrays(sb, dtype, (-6, 6), avoid=(0,), margin=0.5), label="b")
    x, y = mg.tensor(a), mg.tensor(b)
    pa, pb = np.broadcast_arrays(a, b)
    naive_div = np.array([x_ // y_ for x_, y_ in zip(pa.ravel().tolist(), pb.ravel().tolist())]).reshape(pa.shape)
    naive_mod = np.array([x_ % y_ for x_, y_ in zip(pa.ravel().tolist(), pb.ravel().tolist())]).reshape(pa.shape)
    assert_matches(x // y, naive_div.astype(dtype))
    assert_matches(mg.floor_divide(x, y), naive_div.astype(dtype))
    assert_matches(x % y, naive_mod.astype(dtype))
    assert_matches(x.remainder(b), naive_mod.astype(dtype))


def test_floor_divide_and_remainder_with_numbers_on_either_side():
    x = mg.tensor([7, -7, 5])
    assert (x // 2).tolist() == [3, -4, 2] and (x % 3).tolist() == [1, 2, 2]
    assert (20 // x).tolist() == [2, -3, 4] and (20 % x).tolist() == [6, -1, 0]
    assert (mg.tensor([7.0, -7.0]) % -3).tolist() == [-2.0, -1.0]  # the sign of the divisor


@pytest.mark.parametrize("fn", [lambda x: x // 0, lambda x: x % mg.tensor([1, 0]), lambda x: 5 // (x - x)])
def test_integer_division_by_zero_is_an_error(fn):
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        fn(mg.tensor([4, 2]))


def test_float_division_by_zero_gives_inf_and_nan():
    with np.errstate(divide="ignore", invalid="ignore"):
        assert (mg.tensor([5.5]) // 0).tolist() == [np.inf]
        assert np.isnan((mg.tensor([5.5]) % 0).item())


@given(data=st.data())
def test_remainder_and_floor_divide_grads(data):
    sa, sb = data.draw(pairs, label="shapes")
    a = data.draw(tensors(sa, elements=(-20, 20)), label="a")
    b = data.draw(tensors(sb, elements=(-6, 6), avoid=(0.0,), margin=0.5), label="b")
    ratio = np.broadcast_to(a.numpy(), np.broadcast_shapes(sa, sb)) / b.numpy()
    if (np.abs(ratio - np.round(ratio)) < 1e-4).any():  # a jump of floor(a / b): no derivative there
        return
    assert check_grad(lambda a, b: a % b, a, b)


@given(data=st.data())
def test_floor_divide_gradients_are_zero(data):
    sa, sb = data.draw(pairs, label="shapes")
    a = mg.tensor(data.draw(arrays(sa), label="a"), requires_grad=True)
    b = mg.tensor(data.draw(arrays(sb, avoid=(0.0,)), label="b"), requires_grad=True)
    (a // b).sum().backward()
    assert (a.grad.numpy() == 0).all() and (b.grad.numpy() == 0).all()
    assert a.grad.shape == sa and b.grad.shape == sb


# ---- two and three operands -------------------------------------------------------------------
BINARY = {
    "atan2": (np.arctan2, (-5, 5), (-5, 5), (0.0,)),
    "hypot": (np.hypot, (-5, 5), (-5, 5), (0.0,)),
    "copysign": (np.copysign, (-5, 5), (-5, 5), (0.0,)),
    "logaddexp": (np.logaddexp, (-20, 20), (-20, 20), ()),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data(), dtype=st.sampled_from(FLOATS))
@VALUES
def test_binary_values_broadcasting(name, dtype, data):
    ref, a_elements, b_elements, _ = BINARY[name]
    sa, sb = data.draw(pairs, label="shapes")
    a = data.draw(arrays(sa, dtype, a_elements), label="a")
    b = data.draw(arrays(sb, dtype, b_elements), label="b")
    assert_matches(getattr(mg, name)(mg.tensor(a), mg.tensor(b)), ref(a, b))
    assert_matches(getattr(mg.tensor(a), name)(b), ref(a, b))


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_grads_broadcasting(name, data):
    _, a_elements, b_elements, avoid = BINARY[name]
    sa, sb = data.draw(pairs, label="shapes")
    a = data.draw(tensors(sa, elements=a_elements, avoid=avoid), label="a")  # away from a = 0 (copysign's kink)
    b = data.draw(tensors(sb, elements=b_elements, avoid=avoid), label="b")
    assert check_grad(getattr(mg, name), a, b)


def test_binary_gradients_at_their_special_points_are_pytorch_s():
    a, b = mg.tensor([0.0, 1.0, -2.0], requires_grad=True), mg.tensor([0.0, -1.0, 1.0], requires_grad=True)
    mg.atan2(a, b).sum().backward()  # 0 where atan2 jumps, at the origin
    np.testing.assert_allclose(a.grad.numpy(), [0.0, -0.5, 0.2], rtol=1e-6)
    assert b.grad.tolist()[0] == 0
    a.grad = b.grad = None
    mg.copysign(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, -1.0, -1.0] and b.grad.tolist() == [0.0, 0.0, 0.0]
    big = mg.tensor(np.array([-1e4, 1e4]), requires_grad=True)
    out = mg.logaddexp(big, big)
    np.testing.assert_allclose(out.numpy(), [-1e4 + math.log(2), 1e4 + math.log(2)])
    out.sum().backward()
    np.testing.assert_allclose(big.grad.numpy(), [1.0, 1.0], rtol=1e-12)  # 1/2 from each operand


def test_integer_operands_of_float_functions_give_float32():
    assert mg.atan2(mg.tensor([1, 2]), 3).dtype == mg.float32
    assert mg.hypot(mg.tensor([3]), mg.tensor([4])).tolist() == [5.0]
    assert mg.copysign(mg.tensor([1, 2]), -1).tolist() == [-1.0, -2.0]


@given(data=st.data())
def test_lerp_values_and_grads(data):
    s1, s2, s3 = data.draw(broadcastable_shapes(3, max_dims=3, max_side=3), label="shapes")
    start, end = data.draw(tensors(s1), label="start"), data.draw(tensors(s2), label="end")
    weight = data.draw(tensors(s3, elements=(-1, 2)), label="weight")
    s, e, w = start.numpy(), end.numpy(), weight.numpy()
    assert_matches(mg.lerp(start, end, weight), s + w * (e - s), rtol=1e-12)
    assert_matches(start.lerp(end, 0.25), s + 0.25 * (e - s), rtol=1e-12)
    assert check_grad(mg.lerp, start, end, weight)
    assert check_grad(lambda s, e: mg.lerp(s, e, 0.75), start, end)


def test_lerp_is_exact_at_the_ends():
    start, end = mg.tensor([0.1, -3.7]), mg.tensor([0.7, 1e-3])
    assert mg.lerp(start, end, 1.0).tolist() == end.tolist()
    assert mg.lerp(start, end, 0.0).tolist() == start.tolist()
    with pytest.raises(ValueError, match=r"lerp: shapes \(2,\) and \(3,\) and \(\) can't be broadcast"):
        mg.lerp(start, mg.ones(3), 0.5)


# ---- pow's edge cases ------------------------------------------------------------------
def test_pow_zero_exponent_at_zero_has_zero_gradient():
    x = mg.tensor([0.0, 1.0, -2.0], requires_grad=True)
    (x**0.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_pow_gradients_at_a_zero_base_are_pytorch_s():
    a = mg.tensor(np.zeros(5), requires_grad=True)
    b = mg.tensor(np.array([0.0, 0.3, 2.0, -1.0, 1.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (a**b).sum().backward()
    assert a.grad.tolist() == [0.0, np.inf, 0.0, -np.inf, 1.0]
    assert b.grad.tolist() == [0.0, 0.0, 0.0, -np.inf, 0.0]


def test_pow_with_a_number_base_of_zero_or_below_does_not_crash():
    x = mg.tensor([0.0, 1.0, 2.5, -1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ((-5.5) ** x).sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    x.grad = None
    with np.errstate(divide="ignore", invalid="ignore"):
        (0.0**x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, -np.inf]
    x.grad = None
    (2.0**x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 ** x.numpy() * math.log(2), rtol=1e-6)


def test_pow_second_derivatives_still_hold_at_a_zero_exponent():
    a, b = mg.tensor(np.array([1.5, 0.7])), mg.tensor(np.array([0.0, 0.0]))
    assert mg.gradgradcheck(lambda a, b: a**b, [a, b])


def test_integers_to_negative_integer_powers_are_an_error_not_a_shape_error():
    with pytest.raises(ValueError, match="^Integers to negative integer powers are not allowed"):
        mg.tensor([-2, 0, 2]) ** -2
    assert (mg.tensor([-2, 1, 2]) ** -2.0).tolist() == [0.25, 1.0, 0.25]


# ---- logic ---------------------------------------------------------------------------------------
@given(a=arrays(shapes, elements=st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.5, 1e300])))
def test_isnan_isinf_isfinite(a):
    x = mg.tensor(a)
    for name in ("isnan", "isinf", "isfinite"):
        assert_matches(getattr(x, name)(), getattr(np, name)(a))
        assert_matches(getattr(mg, name)(mg.tensor(a, requires_grad=True)), getattr(np, name)(a))
    assert not mg.isnan(mg.tensor([1, 2])).any().item()


@given(data=st.data())
def test_isclose(data):
    sa, sb = data.draw(pairs, label="shapes")
    few = st.sampled_from([1.0, 1.0 + 1e-9, 1.001, np.nan, np.inf, 0.0, 1e-9])
    a, b = data.draw(arrays(sa, elements=few), label="a"), data.draw(arrays(sb, elements=few), label="b")
    assert_matches(mg.isclose(mg.tensor(a), mg.tensor(b)), np.isclose(a, b))
    assert_matches(mg.tensor(a).isclose(b, rtol=1e-2, equal_nan=True), np.isclose(a, b, rtol=1e-2, equal_nan=True))


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
@given(data=st.data(), dtype=st.sampled_from(["bool", "int64", "float32"]))
@VALUES
def test_logical_ops_on_any_dtype_give_bool(op, dtype, data):
    sa, sb = data.draw(pairs, label="shapes")
    few = st.sampled_from([0, 1, 2, -3]) if dtype != "bool" else st.booleans()
    a, b = data.draw(arrays(sa, dtype, few), label="a"), data.draw(arrays(sb, dtype, few), label="b")
    assert_matches(getattr(mg, op)(mg.tensor(a), mg.tensor(b)), getattr(np, op)(a, b))
    assert_matches(getattr(mg.tensor(a), op)(b), getattr(np, op)(a, b))
    assert_matches(mg.tensor(a).logical_not(), np.logical_not(a))


def test_logical_not_is_not_bitwise():
    assert mg.logical_not(mg.tensor([0, 1, 2])).tolist() == [True, False, False]
    assert mg.logical_and(mg.tensor([1, 2]), mg.tensor([2, 1])).tolist() == [True, True]  # 1 & 2 would be 0
    assert (~mg.tensor([0, 1, 2])).tolist() == [-1, -2, -3]


# ---- bitwise -------------------------------------------------------------------------------------
BITWISE = {
    "bitwise_and": (lambda a, b: a & b, np.bitwise_and),
    "bitwise_or": (lambda a, b: a | b, np.bitwise_or),
    "bitwise_xor": (lambda a, b: a ^ b, np.bitwise_xor),
    "bitwise_left_shift": (lambda a, b: a << b, np.left_shift),
    "bitwise_right_shift": (lambda a, b: a >> b, np.right_shift),
}


@pytest.mark.parametrize("name", BITWISE)
@given(data=st.data())
@VALUES
def test_bitwise_ops_and_operators(name, data):
    operator, ref = BITWISE[name]
    dtype = data.draw(
        st.sampled_from(["int64", "int32", "uint8"] + ([] if "shift" in name else ["bool"])), label="dtype"
    )
    sa, sb = data.draw(pairs, label="shapes")
    values = (-100, 100) if dtype[0] == "i" else (0, 7) if "shift" in name else (0, 255)
    a, b = data.draw(arrays(sa, dtype, values), label="a"), data.draw(arrays(sb, dtype, (0, 7)), label="b")
    expected = ref(a, b)
    assert_matches(operator(mg.tensor(a), mg.tensor(b)), expected)
    assert_matches(getattr(mg, name)(mg.tensor(a), b), expected)
    assert_matches(operator(a, mg.tensor(b)), expected)  # the reflected operator


def test_bitwise_with_python_ints_on_either_side():
    x = mg.tensor([1, 6, -8])
    assert (x & 3).tolist() == [1, 2, 0] and (3 & x).tolist() == [1, 2, 0]
    assert (x | 8).tolist() == [9, 14, -8] and (1 ^ x).tolist() == [0, 7, -7]
    assert (x << 2).tolist() == [4, 24, -32] and (1 << mg.tensor([1, 2])).tolist() == [2, 4]
    assert (x >> 1).tolist() == [0, 3, -4] and (-16 >> mg.tensor([2])).tolist() == [-4]
    assert (~x).tolist() == [-2, -7, 7] and x.bitwise_not().dtype == mg.int64


def test_python_ints_wrap_to_the_tensor_dtype_as_pytorch():
    i32 = mg.tensor([1, 2], dtype=mg.int32)
    out = i32 | 0xFFFFFFFF
    assert out.dtype == mg.int32 and out.tolist() == [-1, -1]
    assert (0xFFFFFFFF & i32).tolist() == [1, 2]
    assert (mg.tensor([1, 2], dtype=mg.uint8) & -1).tolist() == [1, 2]
    assert (mg.tensor([1, 2], dtype=mg.int8) ^ 255).tolist() == [-2, -3]
    with pytest.raises(OverflowError, match="does not fit in int64"):
        i32 | (1 << 70)


def test_bool_tensors_are_logical_and_meet_ints_as_int64():
    a, b = mg.tensor([True, True, False]), mg.tensor([True, False, False])
    assert (a & b).tolist() == [True, False, False] and (a | b).dtype == mg.bool_
    assert (~a).tolist() == [False, False, True] and (a ^ True).tolist() == [False, False, True]
    out = a | 2
    assert out.dtype == mg.int64 and out.tolist() == [3, 3, 2]


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda: mg.tensor([1.0]) & 1, "bitwise_and needs integer or bool tensors, got dtype float32"),
        (lambda: mg.tensor([1]) | 1.5, "bitwise_or needs integer or bool tensors, got float"),
        (lambda: 2.0 << mg.tensor([1]), "bitwise_left_shift needs integer or bool tensors, got float"),
        (lambda: ~mg.tensor([0.5]), r"bitwise_not \(~\) needs integer or bool tensors, got dtype float32"),
    ],
)
def test_bitwise_ops_refuse_floats(fn, message):
    with pytest.raises(TypeError, match=message):
        fn()


def test_logic_results_have_no_gradient():
    x = mg.tensor([0.5, np.nan], requires_grad=True)
    for out in (x.isnan(), mg.isclose(x, 0.5), mg.logical_and(x, x), x.logical_not()):
        assert not out.requires_grad and out.dtype == mg.bool_


# ---- every device (the "cuda" cases run where there is a GPU) -----------------------------------
def test_math_ops_on_a_device_match_the_cpu(device):
    rng = np.random.default_rng(5)
    a = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
    b = rng.uniform(-2, 2, (4,)).astype(np.float32)
    for name in list(UNARY) + ["floor", "ceil", "trunc", "round", "sign"]:
        on_cpu, on_dev = mg.tensor(a, requires_grad=True), mg.tensor(a, device=device, requires_grad=True)
        arg = 1 + on_dev if name == "acosh" else on_dev
        out = getattr(mg, name)(1 + on_cpu if name == "acosh" else on_cpu), getattr(mg, name)(arg)
        assert out[1].device == on_dev.device, name
        np.testing.assert_allclose(out[1].numpy(), out[0].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        out[0].sum().backward()
        out[1].sum().backward()
        np.testing.assert_allclose(on_dev.grad.numpy(), on_cpu.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    for name in list(BINARY) + ["remainder", "floor_divide"]:
        cpu = getattr(mg, name)(mg.tensor(a), mg.tensor(b))
        dev = getattr(mg, name)(mg.tensor(a, device=device), mg.tensor(b, device=device))
        np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    ints = mg.tensor([1, 6, -8], device=device)
    assert ((ints | 0xFF) >> 1).tolist() == [127, 127, -1]
    assert mg.isfinite(ints.sin()).all().item() and (ints % 4).tolist() == [1, 2, 0]
    assert mg.lerp(mg.tensor(a, device=device), mg.tensor(b, device=device), 0.5).device == ints.device
