"""minigrad.metrics: accuracy and the chapter's batch_accuracy, against numpy, and their shape checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.metrics import accuracy, batch_accuracy, binary_accuracy


def is_plain_scalar(t):
    return isinstance(t, mg.Tensor) and t.shape == () and t.dtype == mg.float32 and not t.requires_grad


@given(st.integers(1, 20), st.integers(2, 6), st.data())
@settings(max_examples=30, deadline=None)
def test_accuracy_of_logits_is_the_argmax_match_rate(n, c, data):
    logits = data.draw(hnp.arrays(np.float32, (n, c), elements=st.floats(-10, 10, width=32), unique=True))
    target = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    out = accuracy(mg.tensor(logits), mg.tensor(target))
    assert is_plain_scalar(out)
    assert out.item() == pytest.approx(np.mean(logits.argmax(-1) == target))


def test_accuracy_of_class_indices():
    out = accuracy(mg.tensor([0, 2, 1, 1]), mg.tensor([0, 1, 1, 2]))
    assert is_plain_scalar(out) and out.item() == 0.5
    assert accuracy(mg.tensor([[1, 2], [3, 4]]), mg.tensor([[1, 0], [3, 4]])).item() == 0.75
    # batched logits: (B, N, C) against (B, N)
    logits = mg.tensor([[[0.1, 0.9], [0.8, 0.2]], [[0.3, 0.7], [0.6, 0.4]]])
    assert accuracy(logits, mg.tensor([[1, 0], [0, 0]])).item() == 0.75


def test_accuracy_does_not_record_a_graph():
    logits = mg.randn(4, 3, requires_grad=True)
    out = accuracy(logits * 2, mg.tensor([0, 1, 2, 0]))
    assert not out.requires_grad and out.is_leaf


def test_accuracy_shape_and_dtype_errors():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\).*reshape"):
        accuracy(mg.tensor([[0], [1], [2], [0]]), mg.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\).*binary_accuracy"):
        accuracy(mg.randn(4, 1), mg.tensor([0, 1, 1, 0]))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4,\)"):
        accuracy(mg.randn(3, 2), mg.tensor([0, 1, 2, 0]))
    with pytest.raises(TypeError, match="binary_accuracy"):
        accuracy(mg.tensor([0.2, 0.9]), mg.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class indices"):
        accuracy(mg.randn(2, 3), mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        accuracy(mg.zeros(0, 3), mg.zeros(0, dtype=mg.int64))


def chapter_batch_accuracy(xb, yb):
    preds = 1 / (1 + np.exp(-xb))
    return ((preds > 0.5) == yb).mean()


@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=8), elements=st.floats(-5, 5, width=32)),
    st.data(),
)
@settings(max_examples=30, deadline=None)
def test_binary_accuracy_is_the_chapters_batch_accuracy(p, data):
    t = data.draw(hnp.arrays(np.float32, p.shape, elements=st.sampled_from([0.0, 1.0])))
    expected = chapter_batch_accuracy(p.astype(np.float64), t)
    for fn in (binary_accuracy, batch_accuracy):
        out = fn(mg.tensor(p), mg.tensor(t))
        assert is_plain_scalar(out)
        # sigmoid in float32 may round exactly 0.5 for |p| < 1e-7: keep clear of the threshold
        if np.abs(p).min() > 1e-6:
            assert out.item() == pytest.approx(expected)


def test_binary_accuracy_options_and_target_dtypes():
    probs = mg.tensor([0.2, 0.6, 0.9, 0.4])
    assert binary_accuracy(probs, mg.tensor([0, 1, 1, 1]), sigmoid=False).item() == 0.75
    assert binary_accuracy(probs, mg.tensor([False, True, True, True]), sigmoid=False).item() == 0.75
    assert binary_accuracy(probs, mg.tensor([0.0, 0.0, 1.0, 0.0]), threshold=0.7, sigmoid=False).item() == 1.0
    logits = mg.tensor([[-2.0], [3.0]], requires_grad=True)
    out = batch_accuracy(logits, mg.tensor([[0.0], [1.0]]))
    assert out.item() == 1.0 and not out.requires_grad


def test_binary_accuracy_rejects_broadcasting_shapes():
    with pytest.raises(ValueError, match=r"predictions shape \(5, 1\).*targets shape \(5,\).*reshape"):
        batch_accuracy(mg.randn(5, 1), mg.tensor([0.0, 1.0, 1.0, 0.0, 1.0]))


def test_metrics_on_a_device(device):
    logits = mg.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], device=device)
    out = accuracy(logits, mg.tensor([1, 0, 0], device=device))
    assert out.device == logits.device and out.item() == pytest.approx(2 / 3)
    out = batch_accuracy(mg.tensor([-1.0, 2.0], device=device), mg.tensor([0.0, 0.0], device=device))
    assert out.device == logits.device and out.item() == 0.5
