"""The activations of nn.functional (and their nn modules): values against naive numpy/math
references written here, gradients against float64 finite differences on hypothesis-drawn
shapes (empty ones too), second derivatives, PyTorch's choices at the kinks, stability at
huge inputs, and the same results on every device."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import arrays, check_grad, tensors

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nd_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
VALUES = settings(max_examples=15)


# ---- naive references ------------------------------------------------------------------------------
def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(-np.abs(beta * x))) / beta + np.maximum(x, 0))


erf = np.vectorize(math.erf, otypes=[float])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name: (function, naive reference, points where it has a kink (kept away from in gradient tests))
ACTIVATIONS = {
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), (0.0,)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)), (0.0,)),
    "selu": (
        mg.selu,
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
        (0.0,),
    ),
    "celu": (lambda x: F.celu(x, 2.0), lambda x: np.maximum(x, 0) + np.minimum(0, 2 * (np.exp(x / 2) - 1)), ()),
    "gelu": (F.gelu, lambda x: x * (1 + erf(x / math.sqrt(2))) / 2, ()),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: x / 2 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        (),
    ),
    "silu": (F.silu, lambda x: x * np_sigmoid(x), ()),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), ()),
    "softplus": (F.softplus, np_softplus, (20.0,)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2, threshold=3), lambda x: np_softplus(x, 2, 3), (1.5,)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), ()),
    "relu6": (F.relu6, lambda x: np.minimum(np.maximum(x, 0), 6), (0.0, 6.0)),
    "hardtanh": (lambda x: F.hardtanh(x, -2, 3), lambda x: np.clip(x, -2, 3), (-2.0, 3.0)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6, (-3.0, 3.0)),
    "hardswish": (F.hardswish, lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6, (-3.0, 3.0)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x), ()),
    "relu": (F.relu, lambda x: np.maximum(x, 0), (0.0,)),
    "sigmoid": (F.sigmoid, np_sigmoid, ()),
    "tanh": (F.tanh, np.tanh, ()),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data())
@VALUES
def test_activation_values(name, dtype, data):
    fn, ref, _ = ACTIVATIONS[name]
    x = data.draw(arrays(shapes, dtype, (-8, 8)), label="x")
    out = fn(mg.tensor(x))
    assert out.shape == x.shape and out.dtype == x.dtype
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.numpy(), ref(x.astype(np.float64)), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data())
def test_activation_grads(name, data):
    fn, _, kinks = ACTIVATIONS[name]
    x = data.draw(tensors(shapes, elements=(-8, 8), avoid=kinks, margin=0.05), label="x")
    assert check_grad(fn, x)


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "gelu", "gelu_tanh", "silu", "mish", "softplus", "logsigmoid"])
def test_activation_second_derivatives(name):
    fn = ACTIVATIONS[name][0]
    assert mg.gradgradcheck(fn, [mg.tensor(np.array([[-2.5, -0.3], [0.4, 1.7]]))])


def test_integer_inputs_give_float32():
    for name, (fn, _, _) in ACTIVATIONS.items():
        if name != "relu":  # relu keeps integers, as in PyTorch
            assert fn(mg.tensor([-1, 0, 2])).dtype == mg.float32, name


# ---- PyTorch's gradients at the kinks ------------------------------------------------------------
def _grad(fn, values):
    x = mg.tensor(np.array(values), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_gradients_at_the_kinks_are_pytorch_s():
    np.testing.assert_allclose(_grad(F.relu6, [0.0, 6.0, 3.0, -1.0, 7.0]), [0, 0, 1, 0, 0])
    np.testing.assert_allclose(_grad(F.hardtanh, [-1.0, 1.0, 0.0]), [0, 0, 1])
    np.testing.assert_allclose(_grad(F.hardsigmoid, [-3.0, 3.0, 0.0]), [0, 0, 1 / 6])
    np.testing.assert_allclose(_grad(F.hardswish, [-3.0, 3.0, 0.0, -2.7, 2.7]), [0, 1, 0.5, -0.4, 1.4])
    np.testing.assert_allclose(_grad(F.leaky_relu, [0.0, 1.0]), [0.01, 1])
    np.testing.assert_allclose(_grad(lambda x: F.elu(x, 0.5), [0.0, 1.0]), [0.5, 1])
    np.testing.assert_allclose(
        _grad(lambda x: F.softplus(x, threshold=20), [20.0, 21.0, 0.0]), [1 / (1 + math.exp(-20)), 1, 0.5]
    )


# ---- stability at huge inputs ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_at_huge_inputs(dtype):
    x = mg.tensor(np.array([-1e4, -50.0, 50.0, 1e4], dtype=dtype), requires_grad=True)
    tail = np.exp(-50.0)
    cases = {  # softplus and logsigmoid keep their tiny tails to full relative precision
        F.softplus: ([0.0, tail, 50.0, 1e4], [0.0, tail, 1.0, 1.0], 0.0),
        F.logsigmoid: ([-1e4, -50.0, -tail, 0.0], [1.0, 1.0, tail, 0.0], 0.0),
        F.silu: ([0.0, -50.0 * tail, 50.0, 1e4], [0.0, -49 * tail, 1.0, 1.0], 1e-15),
        F.mish: ([0.0, -50.0 * tail, 50.0, 1e4], [0.0, -49 * tail, 1.0, 1.0], 1e-15),
        F.gelu: ([0.0, 0.0, 50.0, 1e4], [0.0, 0.0, 1.0, 1.0], 1e-15),
        F.elu: ([-1.0, -1.0, 50.0, 1e4], [0.0, tail, 1.0, 1.0], 0.0),
    }
    for fn, (value, slope, atol) in cases.items():
        x.grad = None
        out = fn(x)
        out.sum().backward()
        np.testing.assert_allclose(out.numpy(), value, rtol=1e-5, atol=atol, err_msg=fn.__name__)
        np.testing.assert_allclose(x.grad.numpy(), slope, rtol=2e-5, atol=atol, err_msg=fn.__name__)


# ---- softmax, log_softmax, softmin ----------------------------------------------------------------
def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(data=st.data())
def test_softmax_family_values_and_grads(data):
    x = data.draw(tensors(nd_shapes, elements=(-30, 30)), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    a = x.numpy()
    np.testing.assert_allclose(x.softmax(dim).numpy(), np_softmax(a, dim), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(mg.log_softmax(x, dim).numpy(), np.log(np_softmax(a, dim)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(F.softmin(x, dim).numpy(), np_softmax(-a, dim), rtol=1e-12, atol=1e-300)
    assert check_grad(lambda t: t.softmax(dim), x)
    assert check_grad(lambda t: t.log_softmax(dim), x)
    assert check_grad(lambda t: F.softmin(t, dim=dim), x)


@given(x=tensors(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)))
def test_softmax_of_empty_tensors(x):
    for fn in (mg.softmax, mg.log_softmax, F.softmin):
        out = fn(x, -1)
        assert out.shape == x.shape
        if x.numel() == 0:
            y = mg.tensor(x.numpy(), requires_grad=True)
            fn(y, 0).sum().backward()
            assert y.grad.shape == x.shape


def test_softmax_of_a_0d_tensor_and_its_dtype_argument():
    assert mg.tensor(3.0).softmax(0).item() == 1.0 and mg.tensor(3.0).log_softmax(-1).item() == 0.0
    out = mg.softmax(mg.tensor([1.0, 2.0]), 0, dtype=mg.float64)
    assert out.dtype == mg.float64
    assert mg.softmax(mg.tensor([1, 2]), dim=0).dtype == mg.float32
    with pytest.raises(IndexError, match="axis 2 is out of range"):
        mg.softmax(mg.ones(2, 2), 2)


def test_softmax_second_derivatives():
    x = mg.tensor(np.random.default_rng(1).standard_normal((2, 3)))
    assert mg.gradgradcheck(lambda a: a.softmax(0), [x])
    assert mg.gradgradcheck(lambda a: a.log_softmax(-1), [x])


# ---- arguments -----------------------------------------------------------------------------------
def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(mg.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="celu: alpha must be a non-zero finite number, got 0"):
        F.celu(mg.ones(2), alpha=0)
    with pytest.raises(ValueError, match="min_val 2 must not exceed max_val 1"):
        F.hardtanh(mg.ones(2), 2, 1)


def test_torch_level_activations_are_ops_and_methods():
    for name in ("softmax", "log_softmax", "selu", "celu", "relu", "sigmoid", "tanh"):
        assert getattr(mg, name) is getattr(F, name), name
    x = mg.tensor([[1.0, 2.0]])
    np.testing.assert_allclose(x.softmax(-1).numpy(), F.softmax(x, -1).numpy())
    np.testing.assert_allclose(x.log_softmax(dim=1).numpy(), F.log_softmax(x, dim=1).numpy())


# ---- modules --------------------------------------------------------------------------------------
MODULES = [
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2), "LeakyReLU(negative_slope=0.2)"),
    (nn.ELU(alpha=0.5), lambda x: F.elu(x, 0.5), "ELU(alpha=0.5)"),
    (nn.SELU(), mg.selu, "SELU()"),
    (nn.CELU(2.0), lambda x: F.celu(x, 2.0), "CELU(alpha=2.0)"),
    (nn.GELU(), F.gelu, "GELU(approximate='none')"),
    (nn.GELU("tanh"), lambda x: F.gelu(x, "tanh"), "GELU(approximate='tanh')"),
    (nn.SiLU(), F.silu, "SiLU()"),
    (nn.Mish(), F.mish, "Mish()"),
    (nn.Softplus(beta=2, threshold=5), lambda x: F.softplus(x, 2, 5), "Softplus(beta=2, threshold=5)"),
    (nn.Softsign(), F.softsign, "Softsign()"),
    (nn.ReLU6(), F.relu6, "ReLU6()"),
    (nn.Hardtanh(-2, 2), lambda x: F.hardtanh(x, -2, 2), "Hardtanh(min_val=-2, max_val=2)"),
    (nn.Hardsigmoid(), F.hardsigmoid, "Hardsigmoid()"),
    (nn.Hardswish(), F.hardswish, "Hardswish()"),
    (nn.LogSigmoid(), F.logsigmoid, "LogSigmoid()"),
    (nn.Softmax(dim=0), lambda x: F.softmax(x, 0), "Softmax(dim=0)"),
    (nn.LogSoftmax(1), lambda x: F.log_softmax(x, 1), "LogSoftmax(dim=1)"),
    (nn.Softmin(), lambda x: F.softmin(x, -1), "Softmin(dim=-1)"),
]


@pytest.mark.parametrize("module, fn, text", MODULES, ids=[text for _, _, text in MODULES])
def test_activation_modules(module, fn, text):
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32))
    np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())
    assert repr(module) == text
    assert list(module.parameters()) == []


def test_modules_in_a_model_train():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 2), nn.LogSoftmax(1))
    x, y = mg.randn(16, 3), mg.tensor(np.arange(16) % 2)
    before = F.nll_loss(model(x), y).item()
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        F.nll_loss(model(x), y).backward()
        opt.step()
    assert F.nll_loss(model(x), y).item() < before


# ---- devices (the "cuda" cases run where there is a GPU) ----------------------------------------------
def test_activations_on_a_device_match_the_cpu(device):
    a = np.random.default_rng(3).uniform(-4, 4, (3, 4)).astype(np.float32)
    for name, (fn, _, _) in ACTIVATIONS.items():
        on_cpu, on_dev = mg.tensor(a, requires_grad=True), mg.tensor(a, device=device, requires_grad=True)
        cpu, dev = fn(on_cpu), fn(on_dev)
        assert dev.device == on_dev.device, name
        np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        cpu.sum().backward()
        dev.sum().backward()
        np.testing.assert_allclose(on_dev.grad.numpy(), on_cpu.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
