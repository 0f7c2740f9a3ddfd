"""minigrad.nn.functional: activations and losses (and the similarities and distances) against
hand-written numpy (float64), their gradients by finite differences, their stability at huge
logits, their shape checks, and the loss modules. cross_entropy and nll_loss in depth:
test_cross_entropy.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import losses
from minigrad.testing import broadcastable_shapes

REDUCTIONS = ["mean", "sum", "none"]
HYP = settings(max_examples=15, deadline=None)


# ---- numpy references ----------------------------------------------------------------------
def np_reduce(x, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](x)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def t64(a, requires_grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(t, expected, **kw):
    np.testing.assert_allclose(t.numpy(), expected, **{"rtol": 1e-10, "atol": 1e-12, **kw})


# ---- hypothesis strategies ----------------------------------------------------------------------
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def floats(lo=-5.0, hi=5.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


FLOATS = floats()


@st.composite
def pairs(draw, elements=FLOATS, target_elements=FLOATS):
    shape = draw(shapes)
    return (
        draw(hnp.arrays(np.float64, shape, elements=elements)),
        draw(hnp.arrays(np.float64, shape, elements=target_elements)),
    )


@st.composite
def class_problems(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=floats()))
    target = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, target


# ---- activations ---------------------------------------------------------------------------
@given(hnp.arrays(np.float64, shapes, elements=floats(-30, 30)))
@HYP
def test_activations_match_numpy(x):
    close(F.relu(t64(x)), np.maximum(x, 0))
    close(F.sigmoid(t64(x)), np_sigmoid(x), rtol=1e-9)
    close(F.tanh(t64(x)), np.tanh(x))


@given(hnp.arrays(np.float64, shapes, elements=floats(-30, 30)), st.integers(-3, 2))
@HYP
def test_softmax_and_log_softmax_match_numpy(x, dim):
    dim = dim % x.ndim
    close(F.softmax(t64(x), dim=dim), np_softmax(x, dim), rtol=1e-9)
    close(F.log_softmax(t64(x), dim=dim), np_log_softmax(x, dim), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(F.softmax(t64(x), dim=dim).numpy().sum(axis=dim), 1.0, rtol=1e-12)


@given(hnp.arrays(np.float64, (3, 4), elements=floats()), st.sampled_from([0, 1, -1]))
@HYP
def test_softmax_gradients(x, dim):
    w = np.random.default_rng(0).standard_normal(x.shape)
    assert mg.gradcheck(lambda a: F.softmax(a, dim=dim) * mg.tensor(w), [t64(x)])
    assert mg.gradcheck(lambda a: F.log_softmax(a, dim=dim), [t64(x)])


def test_log_softmax_second_derivatives():
    x = t64(np.random.default_rng(1).standard_normal((2, 3)))
    assert mg.gradgradcheck(lambda a: F.log_softmax(a, dim=-1), [x])


def test_log_softmax_is_stable_at_huge_logits():
    x = mg.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    out = F.log_softmax(x, dim=-1)
    expected = np.array([[0.0, -2e4, -1e4], [-np.log(3)] * 3])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    (out * mg.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    # d/dx sum(w * log_softmax(x)) = w - softmax(x) * sum(w)
    np.testing.assert_allclose(x.grad.numpy(), [[1 - 6, 2, 3], [1 - 1 / 3, -1 / 3, -1 / 3]], atol=1e-6)
    s = F.softmax(mg.tensor([1e4, 0.0, -1e4]))
    np.testing.assert_allclose(s.numpy(), [1.0, 0.0, 0.0])


def test_softmax_of_integers_is_float():
    out = F.softmax(mg.tensor([1, 2, 3]))
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), np_softmax(np.array([1.0, 2, 3])), rtol=1e-6)


# ---- elementwise losses against numpy, every reduction -----------------------------------------------
def ref_mse(x, t):
    return (x - t) ** 2


def ref_l1(x, t):
    return np.abs(x - t)


def ref_bce(p, t):
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def ref_bce_logits(x, t):
    return np.logaddexp(0, x) - x * t  # log(1 + e^x) - x t, computed another way


def ref_mnist(p, t):
    s = np_sigmoid(p)
    return np.where(t == 1, 1 - s, s)


def ref_huber(x, t, delta=1.0):
    d = np.abs(x - t)
    return np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))


def ref_kl(x, t):
    return t * (np.log(t) - x)


probabilities = floats(0.02, 0.98)
zero_one = st.sampled_from([0.0, 1.0])
LOSSES = [
    (F.mse_loss, ref_mse, floats(), floats()),
    (F.l1_loss, ref_l1, floats(), floats()),
    (F.binary_cross_entropy, ref_bce, probabilities, probabilities),
    (F.binary_cross_entropy_with_logits, ref_bce_logits, floats(-20, 20), probabilities),
    (F.mnist_loss, ref_mnist, floats(), zero_one),
    (F.smooth_l1_loss, ref_huber, floats(), floats()),  # beta = 1: the same as huber
    (F.huber_loss, lambda x, t: ref_huber(x, t, 1.0), floats(), floats()),
    (F.kl_div, ref_kl, floats(-4, 0), probabilities),
]
LOSS_IDS = [f.__name__ for f, *_ in LOSSES]


@pytest.mark.parametrize("loss, ref, xs, ts", LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
@HYP
def test_loss_matches_numpy(loss, ref, xs, ts, reduction, data):
    x, t = data.draw(pairs(xs, ts))
    out = loss(t64(x), t64(t), reduction=reduction)
    expected = np_reduce(ref(x, t), reduction)
    assert out.shape == np.shape(expected)
    close(out, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss, ref, xs, ts", LOSSES, ids=LOSS_IDS)
@given(data=st.data())
@HYP
def test_loss_gradients(loss, ref, xs, ts, data):
    x, t = data.draw(pairs(xs, ts))
    if loss is F.l1_loss:  # |d| has a kink at d = 0, where finite differences can't agree
        x = np.where(np.abs(x - t) < 1e-3, t + 0.5, x)
    for reduction in REDUCTIONS:
        assert mg.gradcheck(lambda a, r=reduction: loss(a, t64(t), reduction=r), [t64(x)])
    if loss is not F.mnist_loss:  # mnist_loss's targets select, they are not differentiable
        assert mg.gradcheck(lambda a, b: loss(a, b), [t64(x), t64(t)])


def test_loss_second_derivatives():
    rng = np.random.default_rng(2)
    x, t = t64(rng.standard_normal((3, 2))), t64(rng.random((3, 2)))
    assert mg.gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t), [x])
    assert mg.gradgradcheck(lambda a, b: F.mse_loss(a, b), [x, t])


@pytest.mark.parametrize("loss", [f for f, *_ in LOSSES], ids=LOSS_IDS)
@pytest.mark.parametrize("reduction", ["avg", "Mean", None, "", 1])
def test_bad_reduction_is_a_value_error(loss, reduction):
    with pytest.raises(ValueError, match="reduction"):
        loss(mg.tensor([0.5]), mg.tensor([1.0]), reduction=reduction)


def test_integer_and_bool_targets_keep_the_input_dtype():
    x = mg.tensor([0.25, 0.75], requires_grad=True)
    for target in (mg.tensor([0, 1]), mg.tensor([False, True])):
        for loss in (F.mse_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.mnist_loss):
            out = loss(x, target)
            assert out.dtype == mg.float32, loss.__name__
    np.testing.assert_allclose(F.mse_loss(x, mg.tensor([0, 1])).item(), 0.0625)


def test_losses_need_float_inputs():
    with pytest.raises(TypeError, match="float"):
        F.mse_loss(mg.tensor([1, 2]), mg.tensor([1, 2]))


# ---- binary cross-entropy edges -----------------------------------------------------------------------
def test_bce_is_finite_at_zero_and_one():
    p = mg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = mg.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    eps = losses.bce_eps(mg.float32)
    assert eps == pytest.approx(np.finfo(np.float32).eps)
    np.testing.assert_allclose(loss.numpy()[:2], -np.log(eps), rtol=1e-3)
    np.testing.assert_allclose(loss.numpy()[2:], 0.0, atol=1e-6)
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


@pytest.mark.parametrize(
    "probabilities, found",
    [([0.5, 1.5], "1.5"), ([-0.25, 0.5], "-0.25"), ([float("nan"), 0.5], "nan"), ([3.0, -2.0], "-2")],
)
def test_bce_refuses_inputs_outside_zero_one_and_suggests_logits(probabilities, found):
    """Logits passed by mistake were clamped silently, with zero gradient; PyTorch raises, and so do we."""
    with pytest.raises(
        ValueError, match=rf"^binary_cross_entropy: the input must be in \[0, 1\], found {found} \(logits\? "
    ):
        F.binary_cross_entropy(mg.tensor(probabilities, requires_grad=True), mg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits takes them"):
        F.binary_cross_entropy(mg.tensor(probabilities), mg.tensor([1.0, 0.0]))


def test_bce_refuses_targets_outside_zero_one():
    with pytest.raises(ValueError, match=r"^binary_cross_entropy: the target must be in \[0, 1\], found 2$"):
        F.binary_cross_entropy(mg.tensor([0.5, 0.5]), mg.tensor([2.0, 0.0]))
    assert F.binary_cross_entropy(mg.zeros(0), mg.zeros(0), reduction="sum").item() == 0.0  # nothing to check


def test_bce_eps_can_be_chosen():
    out = F.binary_cross_entropy(t64([0.0]), t64([1.0]), eps=1e-3)
    np.testing.assert_allclose(out.item(), -np.log(1e-3))
    with pytest.raises(ValueError, match="eps"):
        F.binary_cross_entropy(t64([0.5]), t64([1.0]), eps=0.7)


def test_bce_with_logits_is_stable_at_huge_logits():
    x = mg.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    t = mg.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0])  # sigmoid(x) - t


def test_bce_with_logits_gradient_at_zero_logit():
    x = mg.tensor([0.0, 0.0, 0.0], requires_grad=True)
    t = mg.tensor([0.0, 1.0, 0.25])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="sum")
    np.testing.assert_allclose(loss.item(), 3 * np.log(2), rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5, 0.25])  # sigmoid(0) - t


def test_bce_with_logits_equals_bce_of_sigmoid():
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal(10) * 3, rng.random(10)
    a = F.binary_cross_entropy_with_logits(t64(x), t64(t))
    b = F.binary_cross_entropy(F.sigmoid(t64(x)), t64(t))
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-9)


def test_mnist_loss_is_the_chapter_formula():
    p = mg.tensor([0.9, 0.4, -1.5])
    t = mg.tensor([1, 0, 1])
    s = np_sigmoid(np.array([0.9, 0.4, -1.5]))
    np.testing.assert_allclose(F.mnist_loss(p, t).item(), np.mean([1 - s[0], s[1], 1 - s[2]]), rtol=1e-6)


# ---- cross-entropy and nll --------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(problem=class_problems())
@HYP
def test_cross_entropy_and_nll_match_numpy(problem, reduction):
    logits, target = problem
    picked = np_log_softmax(logits)[np.arange(len(target)), target]
    expected = np_reduce(-picked, reduction)
    close(F.cross_entropy(t64(logits), mg.tensor(target), reduction=reduction), expected, rtol=1e-9, atol=1e-12)
    log_probs = t64(np_log_softmax(logits))
    close(F.nll_loss(log_probs, mg.tensor(target), reduction=reduction), expected, rtol=1e-9, atol=1e-12)


@given(problem=class_problems())
@HYP
def test_cross_entropy_and_nll_gradients(problem):
    logits, target = problem
    y = mg.tensor(target)
    for reduction in REDUCTIONS:
        assert mg.gradcheck(lambda a, r=reduction: F.cross_entropy(a, y, reduction=r), [t64(logits)])
        assert mg.gradcheck(lambda a, r=reduction: F.nll_loss(a, y, reduction=r), [t64(logits)])


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
    x = t64(logits, requires_grad=True)
    F.cross_entropy(x, mg.tensor([2, 0]), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), np_softmax(logits) - np.eye(3)[[2, 0]], rtol=1e-12)


def test_cross_entropy_repeated_targets_accumulate():
    x = t64(np.zeros((3, 2)), requires_grad=True)
    F.cross_entropy(x, mg.tensor([1, 1, 1]), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5]] * 3)


def test_cross_entropy_is_stable_at_huge_logits():
    x = mg.tensor([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([0, 0, 1]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0], [-1, 1], [0.5, -0.5]], atol=1e-6)


def test_cross_entropy_target_checks():
    x = mg.randn(4, 3)
    with pytest.raises(ValueError, match=r"\(4, 1\).*reshape"):
        F.cross_entropy(x, mg.tensor([[0], [1], [2], [0]]))
    with pytest.raises(ValueError, match=r"\(4, 3\).*argmax"):
        F.cross_entropy(x, mg.tensor(np.eye(3, dtype=np.int64)[[0, 1, 2, 0]]))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        F.cross_entropy(x, mg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(x, mg.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\).*found 3"):
        F.cross_entropy(x, mg.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="found -1"):
        F.nll_loss(x, mg.tensor([0, -1, 2, 0]))
    with pytest.raises(ValueError, match=r"class dimension.*\(N, C\).*got shape \(\)"):
        F.cross_entropy(mg.tensor(1.0), mg.tensor(1))
    with pytest.raises(ValueError, match=r"shape \(\) for an input of shape \(3,\), got target shape \(1,\)"):
        F.cross_entropy(mg.randn(3), mg.tensor([1]))  # one sample (C,) takes a 0-d target
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 0]), reduction="batchmean")


# ---- shape mistakes are errors, not broadcasts ----------------------------------------------------------
@pytest.mark.parametrize("loss", [f for f, *_ in LOSSES], ids=LOSS_IDS)
def test_n_by_1_predictions_against_n_targets_raise(loss):
    predictions = mg.rand(5, 1)
    targets = mg.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(5,\).*reshape"):
        loss(predictions, targets)
    with pytest.raises(ValueError, match=r"\(5,\).*\(5, 1\).*reshape"):
        loss(targets, predictions)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        loss(mg.rand(2, 3), mg.rand(3))


# ---- devices (the "cuda" cases run where there is a GPU) ----------------------------------------------------
def test_losses_on_a_device_match_the_cpu(device):
    rng = np.random.default_rng(4)
    x, p = rng.standard_normal((6, 3)).astype(np.float32), rng.uniform(0.05, 0.95, (6, 3)).astype(np.float32)
    t = rng.integers(0, 2, (6, 3)).astype(np.float32)
    classes = mg.tensor(rng.integers(0, 3, 6))
    cases = [
        (F.mse_loss, x, t),
        (F.l1_loss, x, t),
        (F.binary_cross_entropy, p, t),
        (F.binary_cross_entropy_with_logits, x, t),
        (F.mnist_loss, x, t),
        (F.cross_entropy, x, classes),
        (F.nll_loss, np.log(p), classes),
    ]
    for loss, a, b in cases:
        for reduction in REDUCTIONS:
            on_cpu = mg.tensor(a, requires_grad=True)
            on_dev = mg.tensor(a, device=device, requires_grad=True)
            ref = loss(on_cpu, mg.tensor(b), reduction=reduction)
            out = loss(on_dev, mg.tensor(b).to(device), reduction=reduction)
            assert out.device == on_dev.device, loss.__name__
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
            ref.sum().backward()
            out.sum().backward()
            np.testing.assert_allclose(on_dev.grad.numpy(), on_cpu.grad.numpy(), rtol=1e-5, atol=1e-6)
    for fn in (F.softmax, F.log_softmax, F.relu, F.sigmoid, F.tanh):
        np.testing.assert_allclose(
            fn(mg.tensor(x, device=device)).numpy(), fn(mg.tensor(x)).numpy(), rtol=1e-5, atol=1e-6
        )


# ---- regression losses with a parameter -----------------------------------------------------------------
@given(data=st.data(), scale=st.sampled_from([0.0, 0.3, 2.0]))
@HYP
def test_smooth_l1_and_huber_with_their_parameter(data, scale):
    x, t = data.draw(pairs())
    out = F.smooth_l1_loss(t64(x), t64(t), reduction="none", beta=scale)
    if scale == 0:
        close(out, np.abs(x - t))
    else:
        close(out, ref_huber(x, t, scale) / scale, rtol=1e-9)
        close(F.huber_loss(t64(x), t64(t), reduction="sum", delta=scale), ref_huber(x, t, scale).sum(), rtol=1e-9)
        assert mg.gradcheck(lambda a, b: F.huber_loss(a, b, delta=scale), [t64(x), t64(t)])
        assert mg.gradcheck(lambda a: F.smooth_l1_loss(a, t64(t), beta=scale), [t64(x)])


def test_smooth_l1_and_huber_gradients_at_the_switch():
    x = t64([0.0, 2.0, -0.5, 0.5], requires_grad=True)
    F.huber_loss(x, t64([0.5, 0.0, 0.0, 0.0]), reduction="sum", delta=0.5).backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 0.5, -0.5, 0.5])  # clamp(d, -delta, delta)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)


# ---- kl_div ------------------------------------------------------------------------------------------------
def test_kl_div_reductions_log_target_and_zero_targets():
    rng = np.random.default_rng(5)
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    t = rng.dirichlet(np.ones(4), size=3)
    t[0, 1] = 0.0  # contributes 0, not nan
    pointwise = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0.0)
    close(F.kl_div(t64(x), t64(t), reduction="none"), pointwise)
    close(F.kl_div(t64(x), t64(t), reduction="batchmean"), pointwise.sum() / 3)
    close(F.kl_div(t64(x), t64(t)), pointwise.mean())
    close(F.kl_div(t64(x), t64(np.log(np.where(t > 0, t, 1e-300))), reduction="sum", log_target=True), pointwise.sum())
    assert mg.gradcheck(
        lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True), [t64(x), t64(np.log(t + 0.1))]
    )
    with pytest.raises(ValueError, match="'mean', 'sum', 'none' or 'batchmean'"):
        F.kl_div(t64(x), t64(t), reduction="avg")


# ---- weighted binary cross-entropy -------------------------------------------------------------------------
@given(data=st.data())
@HYP
def test_bce_weights_and_pos_weight_match_numpy(data):
    x, t = data.draw(pairs(floats(-10, 10), probabilities))
    w = data.draw(hnp.arrays(np.float64, x.shape[-1:], elements=floats(0.1, 3)), label="weight")
    pw = data.draw(hnp.arrays(np.float64, x.shape[-1:], elements=floats(0.1, 3)), label="pos_weight")
    p = np_sigmoid(x)
    close(F.binary_cross_entropy(t64(p), t64(t), t64(w), reduction="none"), w * ref_bce(p, t), rtol=1e-9)
    expected = w * -(pw * t * np.log(p) + (1 - t) * np.log(1 - p))
    out = F.binary_cross_entropy_with_logits(t64(x), t64(t), t64(w), reduction="sum", pos_weight=t64(pw))
    close(out, expected.sum(), rtol=1e-9)
    assert mg.gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, t64(w), pos_weight=t64(pw)), [t64(x), t64(t)]
    )


def test_bce_with_logits_pos_weight_is_stable_at_huge_logits():
    x = mg.tensor([1e4, -1e4], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, mg.tensor([1.0, 1.0]), pos_weight=mg.tensor([3.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 3e4])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -3.0])


def test_weights_must_broadcast_to_the_input():
    p, t = mg.rand(4, 3), mg.rand(4, 3)
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not broadcast to the input's shape \(4, 3\)"):
        F.binary_cross_entropy(p, t, mg.ones(4))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2, 4, 3\) does not broadcast"):
        F.binary_cross_entropy_with_logits(p, t, pos_weight=mg.ones(2, 4, 3))


# ---- similarities and distances ----------------------------------------------------------------------------
def np_norm(a, p, axis, keepdims=False):
    if p == np.inf:
        return np.abs(a).max(axis=axis, keepdims=keepdims)
    if p == 0:
        return (a != 0).sum(axis=axis, keepdims=keepdims).astype(a.dtype)
    return (np.abs(a) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


@given(data=st.data())
@HYP
def test_cosine_similarity_matches_numpy(data):
    s1, s2 = data.draw(broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    a = data.draw(hnp.arrays(np.float64, s1, elements=floats()), label="a")
    b = data.draw(hnp.arrays(np.float64, s2, elements=floats()), label="b")
    dim = data.draw(st.integers(-len(np.broadcast_shapes(s1, s2)), len(np.broadcast_shapes(s1, s2)) - 1), label="dim")
    a_, b_ = np.broadcast_arrays(a, b)
    expected = (a_ * b_).sum(dim) / (np.maximum(np_norm(a_, 2, dim), 1e-8) * np.maximum(np_norm(b_, 2, dim), 1e-8))
    close(F.cosine_similarity(t64(a), t64(b), dim=dim), expected, rtol=1e-9, atol=1e-12)
    if (np_norm(a_, 2, dim) > 0.1).all() and (np_norm(b_, 2, dim) > 0.1).all():
        assert mg.gradcheck(lambda x, y: mg.cosine_similarity(x, y, dim), [t64(a), t64(b)])


def test_cosine_similarity_clamps_the_norms_in_value_only_as_pytorch():
    b = t64([[1.0, 2.0]])
    for v, expected in (
        ([0.0, 0.0], [44721359.54999579, 89442719.09999159]),
        ([1e-9, 0.0], [40249223.595, 89442719.1]),
    ):
        a = t64([v], requires_grad=True)
        mg.cosine_similarity(a, b).sum().backward()
        np.testing.assert_allclose(a.grad.numpy()[0], expected, rtol=1e-9)
    np.testing.assert_allclose(F.cosine_similarity(t64([[0.3, 0.0]]), t64([[0.2, 0.0]]), eps=0.5).numpy(), [0.24])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, np.inf, 0.0])
@given(data=st.data())
@HYP
def test_pairwise_distance_matches_numpy(p, data):
    s1, s2 = data.draw(broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    a = data.draw(hnp.arrays(np.float64, s1, elements=floats()), label="a")
    b = data.draw(hnp.arrays(np.float64, s2, elements=floats()), label="b")
    keepdim = data.draw(st.booleans(), label="keepdim")
    d = a - b + 1e-6
    close(F.pairwise_distance(t64(a), t64(b), p=p, keepdim=keepdim), np_norm(d, p, -1, keepdim), rtol=1e-9)
    smooth = (np.abs(d) > 1e-3).all()
    if p == np.inf:  # no ties for the largest |d|
        top = np.sort(np.abs(d), axis=-1)
        smooth = smooth and (d.shape[-1] == 1 or (top[..., -1] - top[..., -2] > 1e-3).all())
    if smooth:
        assert mg.gradcheck(lambda x, y: mg.pairwise_distance(x, y, p, keepdim=keepdim), [t64(a), t64(b)])


def test_pairwise_distance_gradient_at_ties_and_p():
    x = t64([[1.0, 2.0]], requires_grad=True)
    F.pairwise_distance(x, t64([[0.0, 1.0]]), p=np.inf).sum().backward()  # tied: shared
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.5]])
    with pytest.raises(ValueError, match="p must be a non-negative number, got -1"):
        F.pairwise_distance(x, x, p=-1)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@given(data=st.data())
@HYP
def test_normalize_matches_numpy(p, data):
    a = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), elements=floats()))
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    close(F.normalize(t64(a), p=p, dim=dim), a / np.maximum(np_norm(a, p, dim, keepdims=True), 1e-12), rtol=1e-9)
    if (np.abs(a) > 1e-3).all():
        assert mg.gradcheck(lambda x: F.normalize(x, p, dim), [t64(a)])


def test_normalize_keeps_zero_vectors_and_their_gradient_finite():
    x = t64([[3.0, 4.0], [0.0, 0.0]], requires_grad=True)
    out = F.normalize(x)
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.0, 0.0]])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[1], [1e12, 1e12])  # 1 / eps, as PyTorch


# ---- loss modules -----------------------------------------------------------------------------------------------
def test_loss_modules_call_their_functions_with_their_options():
    rng = np.random.default_rng(6)
    x, t = t64(rng.standard_normal((3, 4))), t64(rng.uniform(0.1, 0.9, (3, 4)))
    w = t64(rng.uniform(0.5, 2, 4))
    cases = [
        (nn.MSELoss(reduction="sum"), F.mse_loss(x, t, reduction="sum")),
        (nn.L1Loss(), F.l1_loss(x, t)),
        (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss(x, t, beta=0.5)),
        (nn.HuberLoss(reduction="none", delta=2.0), F.huber_loss(x, t, reduction="none", delta=2.0)),
        (nn.BCEWithLogitsLoss(w, pos_weight=w), F.binary_cross_entropy_with_logits(x, t, w, pos_weight=w)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True), F.kl_div(x, t, "batchmean", log_target=True)),
        (nn.CosineSimilarity(dim=0), F.cosine_similarity(x, t, dim=0)),
        (nn.PairwiseDistance(p=1.0, keepdim=True), F.pairwise_distance(x, t, 1.0, keepdim=True)),
    ]
    for module, expected in cases:
        np.testing.assert_array_equal(module(x, t).numpy(), expected.numpy(), err_msg=repr(module))
    np.testing.assert_array_equal(nn.BCELoss(w)(t, t).numpy(), F.binary_cross_entropy(t, t, w).numpy())
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss()"
    assert repr(nn.PairwiseDistance()) == "PairwiseDistance(p=2.0, eps=1e-06, keepdim=False)"


# ---- the new losses on a device ------------------------------------------------------------------------
def test_new_losses_on_a_device_match_the_cpu(device):
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((4, 3)).astype(np.float32), rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    w = mg.tensor(rng.uniform(0.5, 2, 3).astype(np.float32))
    cases = [
        lambda a, b, w: F.smooth_l1_loss(a, b, beta=0.5),
        lambda a, b, w: F.huber_loss(a, b, reduction="none", delta=0.3),
        lambda a, b, w: F.kl_div(a, b, reduction="batchmean"),
        lambda a, b, w: F.binary_cross_entropy(a.sigmoid(), b, w),
        lambda a, b, w: F.binary_cross_entropy_with_logits(a, b, w, pos_weight=w),
        lambda a, b, w: F.cosine_similarity(a, b),
        lambda a, b, w: F.pairwise_distance(a, b, p=3.0),
        lambda a, b, w: F.normalize(a * b, p=1.0, dim=0),
    ]
    for loss in cases:
        cpu_args = mg.tensor(x, requires_grad=True), mg.tensor(t, requires_grad=True)
        dev_args = mg.tensor(x, device=device, requires_grad=True), mg.tensor(t, device=device, requires_grad=True)
        cpu, dev = loss(*cpu_args, w), loss(*dev_args, w.to(device))
        assert dev.device == dev_args[0].device
        np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)
        cpu.sum().backward()
        dev.sum().backward()
        for c, d in zip(cpu_args, dev_args):
            np.testing.assert_allclose(d.grad.numpy(), c.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "loss",
    [
        lambda a, b: F.smooth_l1_loss(a, b, reduction="sum"),
        lambda a, b: F.huber_loss(a, b, reduction="none"),
        lambda a, b: F.kl_div(a, b.sigmoid(), reduction="sum"),
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, mg.ones(3), reduction="sum", pos_weight=mg.ones(3)),
        lambda a, b: F.cosine_similarity(a, b),
        lambda a, b: F.pairwise_distance(a, b),
        lambda a, b: F.normalize(a * b, dim=0),
    ],
)
def test_new_losses_and_distances_take_empty_batches(loss):
    a, b = mg.zeros(0, 3, requires_grad=True), mg.zeros(0, 3, requires_grad=True)
    out = loss(a, b)
    assert out.numel() == 0 or out.item() == 0.0
    out.sum().backward()
    assert a.grad.shape == (0, 3) and b.grad.shape == (0, 3)
