"""The same ops on every device: cupy results against numpy at float32 tolerance.

The `device` fixture (conftest.py) runs each test on the CPU and, where cupy sees a GPU,
on CUDA; without one the CUDA cases are skipped, saying why.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

needs_cuda = pytest.mark.skipif(not mg.cuda.is_available(), reason="needs a CUDA GPU and cupy")

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal(4).astype(np.float32)
C = rng.standard_normal((4, 2)).astype(np.float32)
POSITIVE = (rng.random((3, 4)) + 0.5).astype(np.float32)
MASK = rng.random((3, 4)) > 0.5


def on(device: str) -> str:
    return "cpu" if device == "cpu" else "cuda:0"


def assert_close(t: mg.Tensor, expected, device: str, rtol: float = 1e-5) -> None:
    assert t.device == on(device)
    assert t.shape == np.shape(expected) and t.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(t.numpy(), expected, rtol=rtol, atol=1e-6)


# name: (minigrad function, numpy function, inputs)
OPS = {
    "add_broadcast": (lambda a, b: a + b, lambda a, b: a + b, (A, B)),
    "sub_scalar": (lambda a: 1 - a, lambda a: 1 - a, (A,)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (A, B)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (A, POSITIVE)),
    "pow": (lambda a: a**3, lambda a: a**3, (A,)),
    "rpow": (lambda a: 2**a, lambda a: 2**a, (A,)),
    "exp": (mg.exp, np.exp, (A,)),
    "log": (mg.log, np.log, (POSITIVE,)),
    "sqrt": (mg.sqrt, np.sqrt, (POSITIVE,)),
    "abs": (mg.abs, np.abs, (A,)),
    "sigmoid": (mg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (A,)),
    "relu": (mg.relu, lambda a: np.maximum(a, 0), (A,)),
    "tanh": (mg.tanh, np.tanh, (A,)),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), (A,)),
    "maximum": (mg.maximum, np.maximum, (A, B)),
    "where": (lambda a, b: mg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), (A, B)),
    "lt": (lambda a, b: a < b, lambda a, b: a < b, (A, B)),
    "sum": (lambda a: a.sum(1), lambda a: a.sum(1), (A,)),
    "mean_keepdims": (lambda a: a.mean(0, keepdims=True), lambda a: a.mean(0, keepdims=True), (A,)),
    "max": (lambda a: a.max(-1).values, lambda a: a.max(-1), (A,)),
    "min_all": (lambda a: a.min(), lambda a: a.min(), (A,)),
    "argmax": (lambda a: a.argmax(1), lambda a: a.argmax(1), (A,)),
    "reshape": (lambda a: a.reshape(2, -1), lambda a: a.reshape(2, -1), (A,)),
    "transpose": (lambda a: a.T, lambda a: a.T, (A,)),
    "broadcast_to": (lambda a: a.broadcast_to((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)), (A,)),
    "stack": (lambda a, b: mg.stack([a, b]), lambda a, b: np.stack([a, b]), (A, POSITIVE)),
    "cat": (lambda a, b: mg.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), (A, POSITIVE)),
    "getitem": (lambda a: a[[0, 0, 2], ::-1], lambda a: a[[0, 0, 2], ::-1], (A,)),
    "matmul": (lambda a, c: a @ c, lambda a, c: a @ c, (A, C)),
    "matvec": (lambda a, b: a @ b, lambda a, b: a @ b, (A, B)),
    "astype": (lambda a: a.astype(mg.float64), lambda a: a.astype(np.float64), (A,)),
}


@pytest.mark.parametrize("name", OPS)
def test_op_values_match_numpy(device, name):
    fn, ref, inputs = OPS[name]
    out = fn(*(mg.tensor(x, device=device) for x in inputs))
    assert_close(out, ref(*inputs), device, rtol=1e-4 if name.startswith("mat") else 1e-5)


def test_bool_mask_indexing(device):
    x = mg.tensor(A, device=device)
    assert_close(x[mg.tensor(MASK, device=device)], A[MASK], device)


# name: (function, inputs)
GRADS = {
    "elementwise": (lambda x, y: ((x * y).exp() + (x - y) ** 2 / (1 + y * y)).tanh().sigmoid(), (A, B)),
    "kinks": (lambda x: x.relu() + abs(x) * x.clamp(-0.5, 0.5) + mg.maximum(x, 0.1), (A,)),
    "reductions": (lambda x: x.max(1).values * x.mean(0)[:3] + x.sum((0, 1)) + x.min(), (A,)),
    "shapes": (lambda x: mg.cat([x.T.reshape(3, -1), x.permute(1, 0)[:, None].flatten(1).T], 1), (A,)),
    "indexing": (lambda x: x[[0, 0, 2], ::-1] * x[x > 0].sum(), (A,)),
    "matmul": (lambda x, w, v: (x @ w).tanh() @ w.T @ v, (A, C, B)),
}


@pytest.mark.parametrize("name", GRADS)
def test_gradients_match_the_cpu(device, name):
    fn, inputs = GRADS[name]
    cpu = [mg.tensor(x, requires_grad=True) for x in inputs]
    here = [mg.tensor(x, device=device, requires_grad=True) for x in inputs]
    fn(*cpu).sum().backward()
    fn(*here).sum().backward()
    for expected, got in zip(cpu, here):
        assert_close(got.grad, expected.grad.numpy(), device, rtol=1e-4)


@pytest.mark.parametrize("name", GRADS)
def test_gradcheck_on_device(device, name):
    fn, inputs = GRADS[name]
    assert mg.gradcheck(fn, [mg.tensor(x, dtype=mg.float64, device=device) for x in inputs])


def test_moving_between_devices_is_differentiable(device):
    x = mg.tensor(A, requires_grad=True)
    y = x.to(device) * 2
    assert y.device == on(device)
    y.to("cpu").sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(A, 2))


def test_creation_and_random_on_device(device):
    for t in (
        mg.zeros(2, 3, device=device),
        mg.ones(3, device=device),
        mg.full((2,), 7, device=device),
        mg.arange(4, device=device),
        mg.eye(3, device=device),
        mg.zeros_like(mg.tensor(A, device=device)),
    ):
        assert t.device == on(device)
    assert repr(mg.ones(1, device=device)) == ("tensor([1.])" if device == "cpu" else "tensor([1.], device='cuda:0')")
    for make in (mg.rand, mg.randn):  # a seed means the same numbers on every device
        here = make(5, generator=mg.Generator(3), device=device)
        np.testing.assert_array_equal(here.numpy(), make(5, generator=mg.Generator(3)).numpy())
    ints = mg.randint(0, 9, (5,), generator=mg.Generator(3), device=device)
    np.testing.assert_array_equal(ints.numpy(), mg.randint(0, 9, (5,), generator=mg.Generator(3)).numpy())


@needs_cuda
@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: mg.maximum(a, b),
        lambda a, b: a < b,
        lambda a, b: a @ b.reshape(4, 3),
        lambda a, b: mg.where(a > 0, a, b),
        lambda a, b: mg.cat([a, b]),
    ],
)
def test_mixing_devices_is_an_error_naming_both(fn):
    cpu, gpu = mg.tensor(A), mg.tensor(A, device="cuda")
    for a, b in ((cpu, gpu), (gpu, cpu)):
        with pytest.raises(RuntimeError, match="same device.*(cpu and cuda:0|cuda:0 and cpu)"):
            fn(a, b)


@needs_cuda
def test_gradient_on_the_wrong_device_is_an_error():
    y = mg.tensor(A, device="cuda", requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="gradient is on cpu, but the output is on cuda:0"):
        y.backward(mg.ones(3, 4))
