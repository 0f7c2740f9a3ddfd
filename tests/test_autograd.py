"""The engine: backward, accumulation, graph lifetime, grad modes, higher derivatives, grad transforms."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import axes, tensors


def f64(data, requires_grad: bool = True) -> mg.Tensor:
    return mg.tensor(data, dtype=mg.float64, requires_grad=requires_grad)


# ---- backward ------------------------------------------------------------------------------


def test_chain_of_100_000_ops_backward_has_no_recursion_limit():
    x = f64(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y  # dropping a deep graph that was never differentiated must not overflow the C stack either


def test_gradients_accumulate_until_reset():
    x = f64([1.0, 2.0])
    for expected in ([3, 3], [6, 6], [9, 9]):
        (x * 3).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), expected)
    x.grad = None
    mg.backward((x * x).sum())
    np.testing.assert_array_equal(x.grad.numpy(), [2, 4])


def test_a_tensor_used_twice_gets_both_contributions():
    x = f64([1.0, 2.0])
    y = x * 2
    (y * y + y).sum().backward()  # d/dx (4x² + 2x) = 8x + 2
    np.testing.assert_array_equal(x.grad.numpy(), [10, 18])


def test_non_leaves_keep_no_grad_unless_retained():
    x = f64([1.0, 2.0])
    y = x * 2
    z = y * 3
    z.retain_grad()
    assert not y.is_leaf and x.is_leaf
    (z * z).sum().backward()
    assert y.grad is None
    np.testing.assert_array_equal(z.grad.numpy(), 2 * z.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 72 * x.numpy())


def test_second_backward_through_freed_graph_is_an_error_unless_retained():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        loss.backward()
    x.grad = None
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4, 8])  # twice 2x


@pytest.mark.parametrize(
    "gradient", [lambda: mg.tensor([1.0, 0.5, -1.0]), lambda: [1.0, 0.5, -1.0], lambda: np.array([1.0, 0.5, -1.0])]
)
def test_backward_with_explicit_gradient(gradient):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=gradient())
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, -6.0])
    assert x.grad.dtype == mg.float32


def test_backward_on_a_leaf_and_gradients_never_share_memory():
    x = f64([1.0, 2.0])
    seed = mg.tensor(np.array([5.0, 6.0]))
    x.backward(seed)
    np.testing.assert_array_equal(x.grad.numpy(), [5, 6])
    assert not np.shares_memory(x.grad.array, seed.array)
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.array += 1  # an optimizer writing into one gradient leaves the other alone
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1])
    m = f64(np.ones((2, 2)))
    y = m.reshape(4)
    y.retain_grad()
    (y * 2).sum().backward()
    assert not np.shares_memory(m.grad.array, y.grad.array)


# ---- graph lifetime and memory ---------------------------------------------------------------


def test_backward_frees_the_graph():
    gc.disable()  # the graph must be freed by reference counting alone
    try:
        w = f64(np.ones((3, 2)))
        hidden = (w * 2).tanh()
        dead = weakref.ref(hidden)
        loss = (hidden * hidden).sum()
        loss.backward()
        del hidden
        assert dead() is None, "backward left the graph holding an intermediate tensor"
        kept = (w * 2).tanh()
        alive = weakref.ref(kept)
        loss = (kept * kept).sum()
        loss.backward(retain_graph=True)
        del kept
        assert alive() is not None  # retained for a second backward...
        del loss
        assert alive() is None  # ...until the output goes
    finally:
        gc.enable()


def test_memory_stays_flat_over_10_000_training_steps():
    g = mg.Generator(0)
    w = mg.randn(4, 3, generator=g, requires_grad=True)
    b = mg.zeros(3, requires_grad=True)
    x, y = mg.randn(8, 4, generator=g), mg.randn(8, 3, generator=g)

    def step() -> float:
        loss = (((x @ w + b).tanh() - y) ** 2).mean()
        loss.backward()
        with mg.no_grad():
            for p in (w, b):
                p.array -= 0.05 * p.grad.array
                p.grad = None
        return loss.item()

    tracemalloc.start()
    try:
        first = [step() for _ in range(1000)]
        gc.collect()
        current_1000, peak_1000 = tracemalloc.get_traced_memory()
        for _ in range(9000):
            last = step()
        gc.collect()
        current_10000, peak_10000 = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last < first[0]  # it trained
    assert current_10000 - current_1000 < 1_000_000
    assert peak_10000 - peak_1000 < 1_000_000


# ---- grad modes ----------------------------------------------------------------------------


def test_no_grad_context_manager_and_decorator():
    x = f64([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            z = x * 2
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf

    @mg.no_grad()
    def predict(t):
        return t * 2

    @mg.enable_grad()
    def train(t):
        return t * 2

    assert not predict(x).requires_grad
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert train(x).requires_grad
    assert predict.__name__ == "predict"


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0
    assert mg.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = f64([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.array, x.array)
    (x * x.detach()).sum().backward()  # the detached factor is a constant
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2])
    t = mg.tensor([3.0])
    assert t.requires_grad_() is t and t.requires_grad
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [6])
    t.requires_grad_(False)
    assert not (t * 2).requires_grad
    with pytest.raises(RuntimeError, match="only allowed on leaf tensors"):
        (x * 2).requires_grad_(False)


def test_ops_on_tensors_without_grad_record_nothing():
    x = mg.tensor([1.0, 2.0])
    y = (x * 2).exp().sum()
    assert not y.requires_grad and y.is_leaf


# ---- higher derivatives ------------------------------------------------------------------------


@given(x=tensors(hnp.array_shapes(max_dims=2), elements=(-3, 3)))
def test_second_derivative_of_cube_is_6x(x):
    x.requires_grad_()
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy() ** 2)
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_hessian_vector_product_of_a_quadratic_form():
    g = mg.Generator(0)
    a = mg.randn(4, 4, generator=g, dtype=mg.float64)
    b = mg.randn(4, generator=g, dtype=mg.float64)
    x = mg.randn(4, generator=g, dtype=mg.float64, requires_grad=True)
    v = mg.randn(4, generator=g, dtype=mg.float64)
    f = x @ a @ x + b @ x  # Hessian: A + A^T
    (gradient,) = mg.autograd.grad(f, x, create_graph=True)
    np.testing.assert_allclose(gradient.numpy(), (a.numpy() + a.numpy().T) @ x.numpy() + b.numpy())
    (hvp,) = mg.autograd.grad((gradient * v).sum(), x)
    np.testing.assert_allclose(hvp.numpy(), (a.numpy() + a.numpy().T) @ v.numpy(), rtol=1e-12)
    assert x.grad is None


# name: (function of the inputs, tensors(...) keywords per input)
GRADGRAD = {
    "mul": (lambda a, b: a * b, [{}, {}]),
    "div": (lambda a, b: a / b, [{}, {"avoid": (0.0,), "margin": 0.5}]),
    "pow": (lambda a, b: a**b, [{"elements": (0.5, 3)}, {"elements": (-2, 2)}]),
    "exp": (lambda a: a.exp(), [{"elements": (-3, 3)}]),
    "log": (lambda a: a.log(), [{"elements": (0.5, 5)}]),
    "sqrt": (lambda a: a.sqrt(), [{"elements": (0.5, 5)}]),
    "tanh": (lambda a: a.tanh(), [{"elements": (-3, 3)}]),
    "sigmoid": (lambda a: a.sigmoid(), [{}]),
    "abs_times_self": (lambda a: abs(a) * a, [{"avoid": (0.0,)}]),
    "relu_squared": (lambda a: a.relu() ** 2, [{"avoid": (0.0,)}]),
    "clamp_squared": (lambda a: a.clamp(-1, 1) ** 2, [{"avoid": (-1.0, 1.0)}]),
    "maximum": (lambda a, b: mg.maximum(a, b) * a, [{"elements": (-10, -1)}, {"elements": (1, 10)}]),
    "where": (lambda a, b: mg.where(a > 0, a * a, b * a), [{"avoid": (0.0,)}, {}]),
    "sum_squared": (lambda a: a.sum(0) ** 2, [{}]),
    "mean_squared": (lambda a: a.mean(-1, keepdims=True) ** 2, [{}]),
    "max_squared": (lambda a: a.max(0).values ** 2, [{"distinct": 1e-3}]),
    "reshape_transpose": (lambda a: (a.reshape(-1) ** 2).reshape(a.shape).T, [{}]),
    "getitem": (lambda a: a[[0, 0]] ** 3, [{}]),
    "broadcast_mul": (lambda a, b: (a.unsqueeze(0) * b.expand(2, -1, -1)) ** 2, [{}, {}]),
    "cat_stack": (lambda a, b: mg.cat([a * b, mg.stack([a, b]).sum(0) ** 2]), [{}, {}]),
    "astype": (lambda a: a.astype(mg.float64) ** 3, [{}]),
}


@pytest.mark.parametrize("name", GRADGRAD)
@given(data=st.data())
def test_gradgradcheck(name, data):
    fn, kwargs = GRADGRAD[name]
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3), label="shape")
    inputs = [data.draw(tensors(shape, **kw), label=f"input{i}") for i, kw in enumerate(kwargs)]
    assert mg.gradgradcheck(fn, inputs)


@given(data=st.data())
def test_gradgradcheck_matmul(data):
    sa, sb = data.draw(
        hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=1, max_side=3), label="shapes"
    ).input_shapes
    a, b = data.draw(tensors(sa), label="a"), data.draw(tensors(sb), label="b")
    assert mg.gradgradcheck(lambda a, b: (a @ b) * (a @ b), [a, b])


@given(data=st.data())
def test_gradgradcheck_reductions_over_axes(data):
    # positive and distinct, so that the squares below stay distinct (no ties for max and min)
    x = data.draw(tensors(hnp.array_shapes(max_dims=3, max_side=3), elements=(0.1, 10), distinct=1e-3), label="x")
    axis = data.draw(axes(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    for op in ("sum", "mean", "max", "min"):
        assert mg.gradgradcheck(lambda t: getattr(t * t, op)(axis=axis, keepdims=keepdims) ** 2, [x])


# ---- grad transforms -----------------------------------------------------------------------------


def _linear_loss(params, x, y):
    w, b = params
    return ((x @ w + b - y) ** 2).mean()


@pytest.fixture
def problem():
    g = mg.Generator(1)
    x, y = mg.randn(5, 3, generator=g, dtype=mg.float64), mg.randn(5, 2, generator=g, dtype=mg.float64)
    w, b = mg.randn(3, 2, generator=g, dtype=mg.float64), mg.randn(2, generator=g, dtype=mg.float64)
    residual = x.numpy() @ w.numpy() + b.numpy() - y.numpy()
    expected_w = 2 * x.numpy().T @ residual / residual.size
    expected_b = 2 * residual.sum(0) / residual.size
    return x, y, w, b, expected_w, expected_b


def test_grad_of_a_tuple_of_params(problem):
    x, y, w, b, expected_w, expected_b = problem
    grads = mg.grad(_linear_loss)((w, b), x, y)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads[0].numpy(), expected_w)
    np.testing.assert_allclose(grads[1].numpy(), expected_b)
    assert w.grad is None and b.grad is None and not w.requires_grad


def test_value_and_grad_on_dicts_lists_and_nests(problem):
    x, y, w, b, expected_w, expected_b = problem
    w.requires_grad_()  # a tensor that requires grad keeps its .grad untouched too

    def loss(params, x, y):
        return _linear_loss((params["layer"][0], params["layer"][1]), x, y) + 0 * params["scale"].sum()

    params = {"layer": [w, b], "scale": mg.ones(2, dtype=mg.float64)}
    value, grads = mg.value_and_grad(loss)(params, x, y)
    assert value.item() == pytest.approx(_linear_loss((w, b), x, y).item())
    assert not value.requires_grad
    assert set(grads) == {"layer", "scale"} and isinstance(grads["layer"], list) and len(grads["layer"]) == 2
    np.testing.assert_allclose(grads["layer"][0].numpy(), expected_w)
    np.testing.assert_allclose(grads["layer"][1].numpy(), expected_b)
    np.testing.assert_array_equal(grads["scale"].numpy(), [0, 0])
    assert w.grad is None and b.grad is None


def test_grad_argnums(problem):
    x, y, w, b, expected_w, expected_b = problem
    gw = mg.grad(lambda w, b: _linear_loss((w, b), x, y))(w, b)
    np.testing.assert_allclose(gw.numpy(), expected_w)
    gb = mg.grad(lambda w, b: _linear_loss((w, b), x, y), argnums=1)(w, b)
    np.testing.assert_allclose(gb.numpy(), expected_b)
    both = mg.grad(lambda w, x, b: _linear_loss((w, b), x, y), argnums=(0, 2))(w, x, b)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(both[0].numpy(), expected_w)
    np.testing.assert_allclose(both[1].numpy(), expected_b)
    unused = mg.grad(lambda w, b: (w * 2).sum(), argnums=(1,))(w, b)
    assert isinstance(unused, tuple) and unused[0].shape == b.shape and not unused[0].numpy().any()


@given(x=tensors(hnp.array_shapes(max_dims=2), elements=(0.5, 3)))
def test_grad_matches_backward(x):
    expected_x = x.detach()
    expected_x.requires_grad_()
    (expected_x.log() * expected_x).sum().backward()
    got = mg.grad(lambda t: (t.log() * t).sum())(x)
    np.testing.assert_allclose(got.numpy(), expected_x.grad.numpy())
    assert x.grad is None


def test_autograd_grad_torch_style():
    x, y, unused = f64([1.0, 2.0]), f64([3.0, 4.0]), f64([0.0])
    out = (x * y).sum()
    gx, gy = mg.autograd.grad(out, [x, y], retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [3, 4])
    np.testing.assert_array_equal(gy.numpy(), [1, 2])
    assert x.grad is None and y.grad is None
    (gx_only,) = mg.autograd.grad(out, x, retain_graph=True)
    np.testing.assert_array_equal(gx_only.numpy(), [3, 4])
    _, none = mg.autograd.grad(out, [x, unused], allow_unused=True, retain_graph=True)
    assert none is None
    with pytest.raises(RuntimeError, match="input 1 of grad\\(\\) was not used"):
        mg.autograd.grad(out, [x, unused], retain_graph=True)
    (g,) = mg.autograd.grad(x * y, x, grad_outputs=mg.tensor(np.array([1.0, -1.0])))
    np.testing.assert_array_equal(g.numpy(), [3, -4])
    a, b = mg.autograd.grad([x.sum(), (x * x).sum()], [x, x])
    np.testing.assert_array_equal(a.numpy(), [3, 5])  # both outputs, summed
    np.testing.assert_array_equal(b.numpy(), a.numpy())
