"""batch_norm, layer_norm, group_norm, dropout and embedding: values against naive numpy written
here, batch_norm's running statistics against a hand computation (unbiased variance, momentum),
gradients against float64 finite differences (second derivatives too), dropout's seeded
reproducibility and scaling, PyTorch's errors, and the same results on every device."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.nn import functional as F
from minigrad.testing import check_grad

rng = np.random.default_rng(0)


def naive_normalized(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


# ---- batch norm --------------------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(st.sampled_from([(4, 3), (2, 3, 5), (3, 2, 4, 3)]), st.booleans())
def test_batch_norm_in_training_normalises_by_the_batch_and_matches_finite_differences(shape, affine):
    x = rng.standard_normal(shape) * 3 + 1
    w, b = (rng.standard_normal(shape[1]), rng.standard_normal(shape[1])) if affine else (None, None)
    axes = (0, *range(2, len(shape)))
    out = F.batch_norm(mg.tensor(x), None, None, *(None if a is None else mg.tensor(a) for a in (w, b)), training=True)
    expected = naive_normalized(x, axes, 1e-5)
    if affine:
        channel = (1, shape[1]) + (1,) * (len(shape) - 2)
        expected = expected * w.reshape(channel) + b.reshape(channel)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    assert check_grad(lambda *t: F.batch_norm(t[0], None, None, *t[1:], training=True, eps=1e-3), *inputs)


def test_batch_norm_updates_the_running_statistics_in_place_with_the_unbiased_variance():
    x = rng.standard_normal((4, 2, 3)) * 2 + 5
    running_mean, running_var = mg.tensor([1.0, -1.0], dtype=mg.float64), mg.tensor([2.0, 0.5], dtype=mg.float64)
    F.batch_norm(mg.tensor(x), running_mean, running_var, training=True, momentum=0.25)
    values = x.transpose(1, 0, 2).reshape(2, -1)  # per channel: 12 values
    mean, var = values.mean(1), values.var(1, ddof=1)
    np.testing.assert_allclose(running_mean.numpy(), 0.75 * np.array([1.0, -1.0]) + 0.25 * mean)
    np.testing.assert_allclose(running_var.numpy(), 0.75 * np.array([2.0, 0.5]) + 0.25 * var)


def test_batch_norm_in_evaluation_uses_the_running_statistics_and_leaves_them():
    x, w, b = rng.standard_normal((5, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    running_mean, running_var = mg.tensor(mean), mg.tensor(var)
    out = F.batch_norm(mg.tensor(x), running_mean, running_var, mg.tensor(w), mg.tensor(b), eps=1e-3)
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3) * w[:, None] + b[:, None]
    np.testing.assert_allclose(out.numpy(), expected)
    np.testing.assert_array_equal(running_mean.numpy(), mean)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert check_grad(lambda x, w, b: F.batch_norm(x, running_mean, running_var, w, b), *inputs)


def test_normalisations_differentiate_twice():
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal(2), rng.standard_normal(2)
    inputs = [mg.tensor(a) for a in (x, w, b)]
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), inputs)
    assert gradgradcheck(lambda x: F.layer_norm(x, (4,)) ** 2, inputs[:1])
    assert gradgradcheck(lambda x: F.group_norm(x, 1) ** 2, inputs[:1])


# ---- layer norm and group norm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("normalized_shape", [4, (3, 4), [2, 3, 4]])
def test_layer_norm_normalises_the_last_dims_and_matches_finite_differences(normalized_shape):
    x = rng.standard_normal((2, 2, 3, 4)) * 2 - 1
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    w, b = rng.standard_normal(shape), rng.standard_normal(shape)
    out = F.layer_norm(mg.tensor(x), normalized_shape, mg.tensor(w), mg.tensor(b), eps=1e-4)
    axes = tuple(range(4 - len(shape), 4))
    np.testing.assert_allclose(out.numpy(), naive_normalized(x, axes, 1e-4) * w + b, atol=1e-12)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert check_grad(lambda *t: F.layer_norm(t[0], normalized_shape, *t[1:]), *inputs)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_normalises_each_group_of_channels_per_sample(groups):
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal(4), rng.standard_normal(4)
    out = F.group_norm(mg.tensor(x), groups, mg.tensor(w), mg.tensor(b))
    grouped = naive_normalized(x.reshape(3, groups, -1), (2,), 1e-5).reshape(x.shape)
    np.testing.assert_allclose(out.numpy(), grouped * w[:, None] + b[:, None], atol=1e-12)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert check_grad(lambda *t: F.group_norm(t[0], groups, *t[1:]), *inputs)


# ---- dropout ------------------------------------------------------------------------------------------------------
def test_dropout_is_reproducible_from_a_seed_and_scales_what_it_keeps():
    x = mg.ones(200, 50)
    first, second = F.dropout(x, 0.3, generator=mg.Generator(7)), F.dropout(x, 0.3, generator=mg.Generator(7))
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    mg.manual_seed(3)
    third = F.dropout(x, 0.3)
    mg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.3).numpy(), third.numpy())
    values = first.numpy()
    assert set(np.unique(values)) == {0.0, np.float32(1 / 0.7)}
    assert abs((values == 0).mean() - 0.3) < 0.02  # 10,000 draws: 0.3 ± 5 standard deviations
    assert first.dtype == mg.float32


def test_dropout_gradient_uses_the_same_mask_and_evaluation_is_the_identity():
    x = mg.tensor(rng.standard_normal((6, 7)), requires_grad=True)
    out = F.dropout(x, 0.5, generator=mg.Generator(0))
    out.backward(mg.ones(6, 7, dtype=mg.float64))
    kept = out.numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, 2.0, 0.0))
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((6, 7)))
    np.testing.assert_array_equal(F.dropout(x, 0.0).numpy(), x.numpy())
    y = mg.ones(4, 5)
    assert F.dropout(y, 0.5, inplace=True, generator=mg.Generator(2)) is y
    np.testing.assert_array_equal(y.numpy(), F.dropout(mg.ones(4, 5), 0.5, generator=mg.Generator(2)).numpy())


# ---- embedding ------------------------------------------------------------------------------------------------------
def test_embedding_picks_rows_and_accumulates_their_gradients():
    w = rng.standard_normal((6, 3))
    idx = np.array([[1, 4, 1], [0, 5, 4]])
    weight = mg.tensor(w, requires_grad=True)
    out = F.embedding(mg.tensor(idx), weight, padding_idx=0, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.numpy(), w[idx])
    out.backward(mg.ones(2, 3, 3, dtype=mg.float64))
    counts = np.bincount(idx.ravel(), minlength=6)
    expected = np.where(counts > 0, 1.0, 0.0)  # each picked row: its count times 1 / count
    expected[0] = 0  # padding_idx
    np.testing.assert_array_equal(weight.grad.numpy(), np.repeat(expected[:, None], 3, 1))
    assert check_grad(lambda w: F.embedding(mg.tensor(idx), w) ** 2, mg.tensor(w, requires_grad=True))


def test_embedding_max_norm_renormalises_the_rows_picked_in_place():
    weight = mg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    F.embedding(mg.tensor([0, 1]), weight, max_norm=1.0)
    np.testing.assert_allclose(weight.numpy(), [[0.6, 0.8], [0.3, 0.4], [6.0, 8.0]], rtol=1e-6)


# ---- errors ----------------------------------------------------------------------------------------------------------
X = mg.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: F.batch_norm(X, mg.zeros(3), mg.ones(3), training=True),
            RuntimeError,
            "running_mean should contain 4 elements not 3",
        ),
        (lambda: F.batch_norm(X, None, None, mg.ones(3)), RuntimeError, "weight should contain 4 elements not 3"),
        (lambda: F.batch_norm(X, None, None), RuntimeError, "must be defined in evaluation mode"),
        (
            lambda: F.batch_norm(mg.ones(1, 4), None, None, training=True),
            ValueError,
            r"more than 1 value per channel when training, got input size \[1, 4\]",
        ),
        (
            lambda: F.layer_norm(X, (4,)),
            RuntimeError,
            r"normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size \[2, 4, 5, 5\]",
        ),
        (lambda: F.layer_norm(X, 5, mg.ones(4)), RuntimeError, r"expected weight of shape \[5\]"),
        (
            lambda: F.group_norm(X, 3),
            RuntimeError,
            r"divisible by num_groups, but got input of shape \[2, 4, 5, 5\] and num_groups=3",
        ),
        (lambda: F.dropout(X, 1.5), ValueError, "dropout probability has to be between 0 and 1, but got 1.5"),
        (
            lambda: F.embedding(mg.tensor([5]), mg.ones(3, 2)),
            IndexError,
            r"index out of range in self: indices must be in \[0, 3\), got \[5, 5\]",
        ),
        (lambda: F.embedding(mg.tensor([0.5]), mg.ones(3, 2)), RuntimeError, "expected integer indices"),
        (lambda: F.embedding(mg.tensor([0]), mg.ones(3)), RuntimeError, "'weight' must be 2-D"),
    ],
)
def test_bad_arguments_raise_pytorchs_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- devices ------------------------------------------------------------------------------------------------------
def test_normalisations_on_a_device_match_the_cpu(device):
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 6, 3, 2), (6,), (6,)))
    results = []
    for where in ("cpu", device):
        xs = [mg.tensor(a, device=where, requires_grad=True) for a in (x, w, b)]
        running = mg.zeros(6, device=where), mg.ones(6, device=where)
        outs = [
            F.batch_norm(xs[0], *running, xs[1], xs[2], training=True),
            F.batch_norm(xs[0], *running, xs[1], xs[2]),
            F.layer_norm(xs[0], (3, 2)),
            F.group_norm(xs[0], 3, xs[1], xs[2]),
            F.dropout(xs[0], 0.5, generator=mg.Generator(1)),
            F.embedding(mg.tensor([[1, 2], [2, 0]], device=where), xs[0].reshape(4, -1)),
        ]
        sum((o * o).sum() for o in outs).backward()
        assert all(o.device == xs[0].device for o in outs)
        results.append([o.numpy() for o in outs] + [t.grad.numpy() for t in xs] + [r.numpy() for r in running])
    for on_cpu, on_device in zip(*results):
        np.testing.assert_allclose(on_device, on_cpu, rtol=1e-4, atol=1e-5)
