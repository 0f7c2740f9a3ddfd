"""cross_entropy and nll_loss with PyTorch's full semantics, against plain-Python loops written
here: inputs (C,), (N, C) and (N, C, d1, ...), class weights, ignore_index, label smoothing,
probability targets, every reduction; gradients against float64 finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]
IGNORE = -100
HYP = settings(max_examples=20)


# ---- the plain-Python reference ------------------------------------------------------------------------
def log_softmax_row(scores: list[float]) -> list[float]:
    m = max(scores)
    total = math.log(sum(math.exp(s - m) for s in scores))
    return [s - m - total for s in scores]


def rows(x: np.ndarray) -> list[tuple[tuple[int, ...], list[float]]]:
    """(the sample/position index, its C class scores) for x of shape (C,) or (N, C, d1, ...)."""
    if x.ndim == 1:
        return [((), x.tolist())]
    moved = np.moveaxis(x, 1, -1)
    return [(idx, moved[idx].tolist()) for idx in np.ndindex(*moved.shape[:-1])]


def reference(x, target, weight=None, ignore_index=IGNORE, reduction="mean", smoothing=0.0, log_probs=False):
    """PyTorch's documented formula, one sample at a time."""
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = [1.0] * c if weight is None else list(weight)
    losses, weights = [], []
    for idx, scores in rows(x):
        lp = scores if log_probs else log_softmax_row(scores)
        y = int(target[idx])
        if y == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[y] * lp[y]
        smooth = -sum(w[k] * lp[k] for k in range(c))
        losses.append((1 - smoothing) * nll + smoothing / c * smooth)
        weights.append(w[y])
    shape = target.shape
    if reduction == "none":
        return np.array(losses).reshape(shape)
    if reduction == "sum":
        return sum(losses)
    return sum(losses) / sum(weights) if weights else math.nan


def reference_probabilities(x, target, weight=None, reduction="mean", smoothing=0.0):
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = [1.0] * c if weight is None else list(weight)
    t_rows = dict(rows(target))
    losses = []
    for idx, scores in rows(x):
        lp = log_softmax_row(scores)
        t = [(1 - smoothing) * p + smoothing / c for p in t_rows[idx]]
        losses.append(-sum(w[k] * t[k] * lp[k] for k in range(c)))
    shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    if reduction == "none":
        return np.array(losses).reshape(shape)
    return sum(losses) if reduction == "sum" else (sum(losses) / len(losses) if losses else math.nan)


# ---- problems ------------------------------------------------------------------------------------
@st.composite
def problems(draw, min_n=0):
    """(logits, class indices with some ignored, class weights or None) of any supported rank."""
    c = draw(st.integers(1, 4))
    rank = draw(st.sampled_from(["unbatched", "batch", "positions"]))
    n = draw(st.integers(min_n, 4))
    lead = () if rank == "unbatched" else (n,)
    extra = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)) if rank == "positions" else []
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.uniform(-5, 5, lead + (c,) + tuple(extra))
    target = rng.integers(0, c, lead + tuple(extra))
    if draw(st.booleans()):
        target = np.where(rng.random(target.shape) < 0.3, IGNORE, target)
    weight = rng.uniform(0.1, 3, c) if draw(st.booleans()) else None
    return x, target, weight


def t64(a, requires_grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(out, expected):
    expected = np.asarray(expected, dtype=np.float64)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(problem=problems(), smoothing=st.sampled_from([0.0, 0.1, 1.0]))
@HYP
def test_cross_entropy_matches_the_loop(problem, reduction, smoothing):
    x, target, weight = problem
    w = None if weight is None else t64(weight)
    with np.errstate(invalid="ignore"):  # the mean over no (kept) target is nan, as in PyTorch
        out = F.cross_entropy(t64(x), mg.tensor(target), w, reduction=reduction, label_smoothing=smoothing)
    close(out, reference(x, target, weight, reduction=reduction, smoothing=smoothing))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(problem=problems())
@HYP
def test_nll_loss_matches_the_loop(problem, reduction):
    x, target, weight = problem
    w = None if weight is None else t64(weight)
    with np.errstate(invalid="ignore"):
        out = F.nll_loss(t64(x), mg.tensor(target), w, reduction=reduction)
    close(out, reference(x, target, weight, reduction=reduction, log_probs=True))


@given(problem=problems(min_n=1), smoothing=st.sampled_from([0.0, 0.2]))
@HYP
def test_cross_entropy_and_nll_gradients(problem, smoothing):
    x, target, weight = problem
    y, w = mg.tensor(target), None if weight is None else t64(weight)
    if (target == IGNORE).all():
        return  # nothing kept: the mean is nan
    for reduction in REDUCTIONS:
        assert mg.gradcheck(
            lambda a: F.cross_entropy(a, y, w, reduction=reduction, label_smoothing=smoothing), [t64(x)]
        )
        assert mg.gradcheck(lambda a: F.nll_loss(a, y, w, reduction=reduction), [t64(x)])


def test_weighted_mean_divides_by_the_weights_of_the_kept_targets():
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    y = mg.tensor([0, 1, IGNORE])
    w = mg.tensor([2.0, 3.0, 5.0])
    expected = (2 * -math.log(0.5) + 3 * -math.log(0.8)) / (2 + 3)
    assert F.nll_loss(t64(x), y, w).item() == pytest.approx(expected, rel=1e-12)
    assert F.nll_loss(t64(x), y, w, reduction="none").tolist()[2] == 0.0
    assert F.nll_loss(t64(x), mg.tensor([0, 1, 2]), ignore_index=2).item() == pytest.approx(
        (-math.log(0.5) - math.log(0.8)) / 2, rel=1e-12
    )


def test_all_ignored_or_empty_means_are_nan_and_sums_zero():
    x = mg.zeros(2, 3)
    with np.errstate(invalid="ignore"):
        assert math.isnan(F.cross_entropy(x, mg.tensor([IGNORE, IGNORE])).item())
        assert math.isnan(F.cross_entropy(mg.zeros(0, 3), mg.tensor(np.zeros(0, np.int64))).item())
        assert math.isnan(F.cross_entropy(mg.zeros(0, 3), mg.zeros(0, 3)).item())
    assert F.cross_entropy(mg.zeros(0, 3), mg.tensor(np.zeros(0, np.int64)), reduction="sum").item() == 0.0
    empty = mg.zeros(0, 3, requires_grad=True)
    F.cross_entropy(empty, mg.tensor(np.zeros(0, np.int64)), reduction="sum").backward()
    assert empty.grad.shape == (0, 3)


def test_ignore_index_may_be_outside_or_inside_the_classes():
    x = t64(np.random.default_rng(0).standard_normal((3, 4)))
    assert F.cross_entropy(x, mg.tensor([0, 9, 3]), ignore_index=9).item() == pytest.approx(
        reference(x.numpy(), np.array([0, 9, 3]), ignore_index=9), rel=1e-12
    )
    with pytest.raises(ValueError, match=r"in \[0, 4\) \(or ignore_index=-100\).*found 9"):
        F.cross_entropy(x, mg.tensor([0, 9, 3]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=st.integers(0, 2**16), smoothing=st.sampled_from([0.0, 0.3]), weighted=st.booleans())
@HYP
def test_probability_targets(seed, reduction, smoothing, weighted):
    rng = np.random.default_rng(seed)
    shape = [(3,), (2, 3), (2, 3, 2)][seed % 3]
    x = rng.uniform(-4, 4, shape)
    axis = 1 if len(shape) > 1 else 0
    t = np.moveaxis(rng.dirichlet(np.ones(3), size=shape[:axis] + shape[axis + 1 :]), -1, axis)  # sums to 1 along C
    w = rng.uniform(0.5, 2, 3) if weighted else None
    out = F.cross_entropy(t64(x), t64(t), None if w is None else t64(w), reduction=reduction, label_smoothing=smoothing)
    close(out, reference_probabilities(x, t, w, reduction, smoothing))
    assert mg.gradcheck(
        lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing), [t64(x), t64(t)]
    )


def test_probability_targets_equal_one_hot_class_indices():
    x = t64(np.random.default_rng(1).standard_normal((4, 3)))
    y = np.array([2, 0, 1, 2])
    one_hot = t64(np.eye(3)[y])
    for smoothing in (0.0, 0.25):
        a = F.cross_entropy(x, one_hot, label_smoothing=smoothing).item()
        b = F.cross_entropy(x, mg.tensor(y), label_smoothing=smoothing).item()
        assert a == pytest.approx(b, rel=1e-12)


def test_spatial_inputs_match_flattened_rows():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    flat_x, flat_y = np.moveaxis(x, 1, -1).reshape(-1, 3), y.reshape(-1)
    w = t64([0.5, 1.0, 2.0])
    a = F.cross_entropy(t64(x), mg.tensor(y), w, label_smoothing=0.1)
    b = F.cross_entropy(t64(flat_x), mg.tensor(flat_y), w, label_smoothing=0.1)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    assert F.cross_entropy(t64(x), mg.tensor(y), reduction="none").shape == (2, 4, 5)


def test_unbatched_input():
    x = t64([1.0, 2.0, 0.5])
    assert F.cross_entropy(x, mg.tensor(1)).item() == pytest.approx(-log_softmax_row([1.0, 2.0, 0.5])[1], rel=1e-12)
    assert F.cross_entropy(x, mg.tensor(1), reduction="none").shape == ()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: F.cross_entropy(mg.zeros(2, 3), mg.tensor([0, 1]), mg.ones(2)),
            ValueError,
            r"shape \(3,\), got shape \(2,\)",
        ),
        (
            lambda: F.cross_entropy(mg.zeros(2, 3), mg.tensor([0, 1]), label_smoothing=1.5),
            ValueError,
            "label_smoothing",
        ),
        (lambda: F.cross_entropy(mg.zeros(2, 3, 4), mg.tensor([0, 1])), ValueError, r"\(N, d1, \.\.\.\) = \(2, 4\)"),
        (lambda: F.nll_loss(mg.zeros(2, 3), mg.zeros(2, 3)), ValueError, r"got target shape \(2, 3\).*argmax\(1\)"),
        (lambda: F.cross_entropy(mg.zeros(2, 3), mg.tensor([[1, 0, 0], [0, 1, 0]])), ValueError, r"argmax\(1\)"),
        (lambda: F.nll_loss(mg.tensor([[0, 1]]), mg.tensor([0])), TypeError, "float tensor"),
        (lambda: F.cross_entropy(mg.zeros(2, 3), mg.tensor([0, 1]), reduction="batchmean"), ValueError, "reduction"),
    ],
)
def test_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_weight_is_a_constant():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    x = mg.tensor([[0.3, -0.2]], requires_grad=True)
    F.cross_entropy(x, mg.tensor([1]), w).backward()
    assert w.grad is None and x.grad is not None


# ---- modules ---------------------------------------------------------------------------------------
def test_loss_modules_call_their_functions():
    x = t64(np.random.default_rng(3).standard_normal((4, 3)))
    y, w = mg.tensor([0, 2, IGNORE, 1]), t64([1.0, 2.0, 0.5])
    module = nn.CrossEntropyLoss(weight=w, ignore_index=IGNORE, reduction="sum", label_smoothing=0.1)
    assert module(x, y).item() == F.cross_entropy(x, y, w, reduction="sum", label_smoothing=0.1).item()
    assert nn.NLLLoss(w)(x, y).item() == F.nll_loss(x, y, w).item()
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"  # as PyTorch


# ---- devices -----------------------------------------------------------------------------------------
def test_on_a_device_match_the_cpu(device):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    y = np.where(rng.random((3, 2)) < 0.3, IGNORE, rng.integers(0, 4, (3, 2)))
    w = np.array([1.0, 2.0, 0.5, 1.5], dtype=np.float32)
    p = rng.dirichlet(np.ones(4), size=3).astype(np.float32)
    for args, kwargs in [
        ((x, y, w), {"label_smoothing": 0.1}),
        ((x, y), {"reduction": "none"}),
        ((x[..., 0], p, w), {}),
    ]:
        on_cpu, on_dev = mg.tensor(args[0], requires_grad=True), mg.tensor(args[0], device=device, requires_grad=True)
        rest = [mg.tensor(a) for a in args[1:]]
        cpu = F.cross_entropy(on_cpu, *rest, **kwargs)
        dev = F.cross_entropy(on_dev, *[r.to(device) for r in rest], **kwargs)
        np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)
        cpu.sum().backward()
        dev.sum().backward()
        np.testing.assert_allclose(on_dev.grad.numpy(), on_cpu.grad.numpy(), rtol=1e-5, atol=1e-6)
