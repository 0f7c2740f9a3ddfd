"""SGD and Adam against their published update rules, written out by hand in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.optim import SGD, Adam, Optimizer

STEPS = 5


def make_params(device="cpu", dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4,)).astype(dtype)]
    return arrays, [mg.tensor(a, device=device, requires_grad=True) for a in arrays]


def grad_sequence(shapes, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(STEPS)]


def sgd_reference(params, grads_per_step, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """PyTorch's documented SGD, step by step."""
    params = [p.copy() for p in params]
    bufs = [None] * len(params)
    for grads in grads_per_step:
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = p - lr * g
    return params


def adam_reference(params, grads_per_step, lr, beta1, beta2, eps, weight_decay):
    """PyTorch's documented Adam (L2 weight decay, bias-corrected), step by step."""
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            params[i] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


def run(opt, tensors, grads_per_step, device="cpu"):
    for grads in grads_per_step:
        for t, g in zip(tensors, grads):
            t.grad = mg.tensor(g, device=device)
        opt.step()
        opt.zero_grad()
    return [t.numpy() for t in tensors]


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.8, nesterov=True),
    dict(lr=0.03, momentum=0.9, dampening=0.1, weight_decay=0.1),
    dict(lr=0.03, momentum=0.5, weight_decay=0.2, nesterov=True),
]


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_sgd_matches_the_published_rule(config, device):
    arrays, tensors = make_params(device)
    grads = grad_sequence([a.shape for a in arrays])
    got = run(SGD(tensors, **config), tensors, grads, device)
    want = sgd_reference(arrays, grads, **config)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@given(
    lr=st.floats(1e-4, 2.0),
    momentum=st.floats(0.0, 0.99),
    dampening=st.floats(0.0, 0.9),
    weight_decay=st.floats(0.0, 0.5),
    nesterov=st.booleans(),
)
def test_sgd_property(lr, momentum, dampening, weight_decay, nesterov):
    if nesterov and (momentum == 0 or dampening != 0):
        dampening = 0.0
        momentum = momentum or 0.5
    config = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    arrays, tensors = make_params()
    grads = grad_sequence([a.shape for a in arrays])
    got = run(SGD(tensors, **config), tensors, grads)
    for g, w in zip(got, sgd_reference(arrays, grads, **config)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


ADAM_CONFIGS = [
    dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0),
    dict(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-3, weight_decay=0.0),
    dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1),
    dict(lr=0.05, beta1=0.0, beta2=0.0, eps=1e-6, weight_decay=0.0),
]


@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_adam_matches_the_published_rule(config, device):
    arrays, tensors = make_params(device)
    grads = grad_sequence([a.shape for a in arrays])
    opt = Adam(
        tensors,
        lr=config["lr"],
        betas=(config["beta1"], config["beta2"]),
        eps=config["eps"],
        weight_decay=config["weight_decay"],
    )
    got = run(opt, tensors, grads, device)
    for g, w in zip(got, adam_reference(arrays, grads, **config)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_adam_defaults_are_pytorchs():
    _, tensors = make_params()
    opt = Adam(tensors)
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)


def test_first_adam_step_moves_each_weight_by_about_lr():
    _, tensors = make_params()
    before = [t.numpy().copy() for t in tensors]
    for t in tensors:
        t.grad = mg.tensor(np.full(t.shape, 3.0))
    Adam(tensors, lr=0.01).step()
    for t, b in zip(tensors, before):
        np.testing.assert_allclose(b - t.numpy(), 0.01, rtol=1e-6)


@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)], ids=["sgd", "adam"])
def test_float32_parameters_stay_float32(make_opt, device):
    arrays, tensors = make_params(device, dtype=np.float32)
    opt = make_opt(tensors)
    for t in tensors:
        t.grad = mg.ones(*t.shape, device=device)
    opt.step()
    assert all(t.dtype == np.float32 and t.device == mg.tensor(0.0, device=device).device for t in tensors)


def test_sgd_on_real_gradients_decreases_a_quadratic():
    w = mg.tensor([3.0, -2.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    losses = []
    for _ in range(50):
        loss = (w * w).sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 1e-2 * losses[0]


def test_params_with_no_grad_are_skipped_and_keep_no_state():
    arrays, tensors = make_params()
    opt = SGD(tensors, lr=0.1, momentum=0.9)
    tensors[0].grad = mg.tensor(np.ones(arrays[0].shape))
    opt.step()
    np.testing.assert_array_equal(tensors[1].numpy(), arrays[1])
    np.testing.assert_allclose(tensors[0].numpy(), arrays[0] - 0.1)
    assert tensors[1] not in opt.state and tensors[0] in opt.state
    # the skipped parameter's momentum starts fresh on its first real gradient
    tensors[0].grad = None
    tensors[1].grad = mg.tensor(np.full(arrays[1].shape, 2.0))
    opt.step()
    np.testing.assert_allclose(tensors[1].numpy(), arrays[1] - 0.2)
    np.testing.assert_allclose(tensors[0].numpy(), arrays[0] - 0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "make_opt", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps)], ids=["sgd", "adam"]
)
def test_non_finite_gradient_raises_and_changes_nothing(bad, make_opt):
    arrays, tensors = make_params()
    opt = make_opt(tensors)
    grads = grad_sequence([a.shape for a in arrays])
    run(opt, tensors, grads[:1])
    before = [t.numpy().copy() for t in tensors]
    state_before = {k: dict(v) for k, v in opt.state.items()}
    tensors[0].grad = mg.tensor(grads[1][0])  # fine, and listed first: must not be updated either
    broken = grads[1][1].copy()
    broken[2] = bad
    tensors[1].grad = mg.tensor(broken)
    with pytest.raises(FloatingPointError, match=r"parameter 1 \(shape \(4,\)\)"):
        opt.step()
    for t, b in zip(tensors, before):
        np.testing.assert_array_equal(t.numpy(), b)
    for p, state in opt.state.items():
        for k, v in state.items():
            assert v is state_before[p][k]
    # after the bad gradient is fixed, training goes on exactly as if it had never happened
    tensors[1].grad = mg.tensor(grads[1][1])
    opt.step()
    config = dict(lr=0.1, momentum=0.9) if isinstance(opt, SGD) else None
    if config:
        want = sgd_reference(arrays, grads[:2], **config)
        for t, w in zip(tensors, want):
            np.testing.assert_allclose(t.numpy(), w, rtol=1e-12)


def test_step_writes_in_place_leaves_gradients_alone_and_a_stale_graph_refuses_backward():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    (w * x).sum().backward()
    old_w, view = w.array, w.data[1:]
    grad_array = w.grad.array
    y = (w * x).sum()  # recorded with the current w: x's gradient needs these values
    opt = SGD([w], lr=0.5, momentum=0.9)
    opt.step()
    assert w.array is old_w and w._version == 1  # PyTorch's optimizers update in place too
    np.testing.assert_array_equal(w.numpy(), [1.0 - 2.0, 2.0 - 2.5, 3.0 - 3.0])
    np.testing.assert_array_equal(view.numpy(), [2.0 - 2.5, 3.0 - 3.0])
    np.testing.assert_array_equal(grad_array, [4.0, 5.0, 6.0])
    assert not np.shares_memory(opt.state[w]["momentum_buffer"], grad_array)
    with pytest.raises(RuntimeError, match=r"gradient of mul \(its input 0.*modified by an in-place operation"):
        y.backward()


def test_frozen_parameters_are_kept_but_never_updated():
    w, frozen = mg.tensor([1.0], requires_grad=True), mg.nn.Parameter([5.0], requires_grad=False)
    opt = SGD([w, frozen], lr=0.1)
    w.grad, frozen.grad = mg.tensor([1.0]), mg.tensor([1.0])
    opt.step()
    assert opt.params == [w, frozen]
    np.testing.assert_allclose(w.numpy(), [0.9])
    np.testing.assert_array_equal(frozen.numpy(), [5.0])


def test_zero_grad_to_none_and_to_zeros():
    arrays, tensors = make_params()
    opt = SGD(tensors, lr=0.1)
    for t in tensors:
        t.grad = mg.ones(*t.shape, dtype=np.float64)
    old = tensors[0].grad
    opt.zero_grad(set_to_none=False)
    for t in tensors:
        assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == t.dtype
        assert not t.grad.numpy().any()
    np.testing.assert_array_equal(old.numpy(), 1.0)  # the previous gradient tensor is left as it was
    opt.zero_grad()
    assert all(t.grad is None for t in tensors)
    opt.zero_grad(set_to_none=False)  # None stays None
    assert all(t.grad is None for t in tensors)


def test_zero_grad_then_backward_accumulates_from_zero():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * 3.0).sum().backward()
    opt.zero_grad(set_to_none=False)
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


def test_a_generator_of_params_is_read_once_and_kept():
    arrays, tensors = make_params()
    opt = SGD((t for t in tensors), lr=1.0)
    for _ in range(2):
        for t in tensors:
            t.grad = mg.tensor(np.ones(t.shape))
        opt.step()
    for t, a in zip(tensors, arrays):
        np.testing.assert_allclose(t.numpy(), a - 2.0)


def test_a_parameter_listed_twice_is_updated_once():
    w = mg.tensor([1.0], requires_grad=True)
    opt = SGD([w, w], lr=1.0)
    w.grad = mg.tensor([1.0])
    opt.step()
    assert w.item() == 0.0 and len(opt.params) == 1


def test_changing_lr_between_steps_takes_effect():
    w = mg.tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=1.0)
    opt.lr = 0.25
    w.grad = mg.tensor([1.0])
    opt.step()
    assert w.item() == 0.75


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=0), "lr"),
        (dict(lr=-0.1), "lr"),
        (dict(lr=math.nan), "lr"),
        (dict(lr=math.inf), "lr"),
        (dict(lr=0.1, momentum=-0.5), "momentum"),
        (dict(lr=0.1, weight_decay=-1), "weight_decay"),
        (dict(lr=0.1, dampening=-1), "dampening"),
        (dict(lr=0.1, nesterov=True), "nesterov"),
        (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    ],
)
def test_sgd_construction_errors(kwargs, match):
    _, tensors = make_params()
    with pytest.raises(ValueError, match=match):
        SGD(tensors, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=0), "lr"),
        (dict(lr=-1e-3), "lr"),
        (dict(betas=(1.0, 0.999)), "beta1"),
        (dict(betas=(0.9, -0.1)), "beta2"),
        (dict(betas=0.9), "betas"),
        (dict(eps=-1e-8), "eps"),
        (dict(weight_decay=-0.1), "weight_decay"),
    ],
)
def test_adam_construction_errors(kwargs, match):
    _, tensors = make_params()
    with pytest.raises(ValueError, match=match):
        Adam(tensors, **kwargs)


def test_params_errors():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        SGD((p for p in []), lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 is a ndarray"):
        SGD([w, np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="single tensor"):
        SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        SGD(3, lr=0.1)
    with pytest.raises(ValueError, match="leaf"):
        SGD([w * 2], lr=0.1)


def test_gradient_of_the_wrong_shape_is_an_error():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.grad = mg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2,\) but its gradient has shape \(3,\)"):
        SGD([w], lr=0.1).step()
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])


def test_base_class_needs_an_update_rule():
    w = mg.tensor([1.0], requires_grad=True)
    opt = Optimizer([w], {"lr": 0.1})
    assert opt.lr == 0.1
    w.grad = mg.tensor([1.0])
    with pytest.raises(NotImplementedError):
        opt.step()


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("over", ["warn", "raise"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_huge_but_finite_gradients_are_not_mistaken_for_inf(dtype, over):
    big = np.finfo(dtype).max / 2
    w = mg.tensor(np.zeros(4, dtype), requires_grad=True)
    w.grad = mg.tensor(np.array([big, -big, 1, 0], dtype))
    with np.errstate(over=over):
        SGD([w], lr=1e-3).step()  # the sum of squares overflows; the elements don't
    assert np.isfinite(w.numpy()).all() and w.dtype == dtype
    w.grad = mg.tensor(np.array([0, 0, np.nan, 0], dtype))
    with pytest.raises(FloatingPointError):
        SGD([w], lr=1e-3).step()
