"""Pooling (max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d, adaptive_max_pool2d): values and
indices against naive loops written here, gradients against float64 finite differences on
hypothesis-drawn geometries (kernels, strides, paddings, dilations, ceil_mode), the max's gradient
going to one element among ties, PyTorch's errors, and the same results on every device."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.nn import functional as F
from minigrad.testing import check_grad

rng = np.random.default_rng(0)
GEOMETRIES = settings(max_examples=25)


# ---- naive references: one loop iteration per output element ----------------------------------------
def out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    count = (math.ceil(span / s) if ceil_mode else span // s) + 1
    return count - 1 if ceil_mode and (count - 1) * s >= n + p else count


def naive_max_pool2d(x, k, s, p, d, ceil_mode):
    n, c, h, w = x.shape
    oh, ow = out_size(h, k[0], s[0], p[0], d[0], ceil_mode), out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    out, idx = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow), dtype=np.int64)
    for i, ch, a, b in np.ndindex(n, c, oh, ow):
        best, where = -np.inf, -1
        for u, v in np.ndindex(*k):
            r, q = a * s[0] - p[0] + u * d[0], b * s[1] - p[1] + v * d[1]
            if 0 <= r < h and 0 <= q < w and x[i, ch, r, q] > best:
                best, where = x[i, ch, r, q], r * w + q
        out[i, ch, a, b], idx[i, ch, a, b] = best, where
    return out, idx


def naive_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad):
    n, c, h, w = x.shape
    oh, ow = out_size(h, k[0], s[0], p[0], 1, ceil_mode), out_size(w, k[1], s[1], p[1], 1, ceil_mode)
    out = np.zeros((n, c, oh, ow))
    for i, ch, a, b in np.ndindex(n, c, oh, ow):
        r0, q0 = a * s[0] - p[0], b * s[1] - p[1]
        r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
        size = (r1 - r0) * (q1 - q0)
        r0, q0, r1, q1 = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
        total = x[i, ch, r0:r1, q0:q1].sum()
        out[i, ch, a, b] = total / (size if count_include_pad else (r1 - r0) * (q1 - q0))
    return out


def naive_adaptive(x, size, reduce):
    n, c, h, w = x.shape
    out = np.zeros((n, c, *size))
    for a, b in np.ndindex(*size):
        rows = slice(a * h // size[0], -(-(a + 1) * h // size[0]))
        columns = slice(b * w // size[1], -(-(b + 1) * w // size[1]))
        out[:, :, a, b] = reduce(x[:, :, rows, columns], axis=(2, 3))
    return out


@st.composite
def pool_cases(draw, dilation=True):
    """(x, kernel, stride, padding, dilation, ceil_mode): distinct float64 values (no ties), padding
    at most half the dilated kernel, at least one window."""
    k = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    s = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2))) if dilation else (1, 1)
    p = tuple(draw(st.integers(0, (di * (ki - 1) + 1) // 2)) for ki, di in zip(k, d))
    size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 7)) for ki, di, pi in zip(k, d, p)]
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = rng.permutation(n * c * size[0] * size[1]).reshape(n, c, *size) / 4.0
    return x, k, s, p, d, draw(st.booleans())


# ---- max ------------------------------------------------------------------------------------------------------
@GEOMETRIES
@given(pool_cases())
def test_max_pool2d_matches_the_naive_loop_and_finite_differences(case):
    x, k, s, p, d, ceil_mode = case
    out, idx = F.max_pool2d(mg.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    expected, expected_idx = naive_max_pool2d(x, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(idx.numpy(), expected_idx)
    assert idx.dtype == mg.int64
    assert check_grad(lambda t: F.max_pool2d(t, k, s, p, d, ceil_mode), mg.tensor(x, requires_grad=True))


def test_max_pool2d_gives_the_gradient_to_the_first_of_tied_maxima():
    x = mg.ones(1, 1, 2, 3, requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # each window's max is at its top left (not shared)
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 0], [0, 0, 0]])


def test_max_pool2d_propagates_nan_and_defaults_stride_to_the_kernel():
    x = mg.tensor([[[[1.0, np.nan, 3.0, 4.0], [np.nan, 2.0, 5.0, 1.0]]]], requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), [[[[np.nan, 5.0]]]])
    np.testing.assert_array_equal(idx.numpy(), [[[[4, 6]]]])  # the last NaN, as PyTorch's CPU kernel
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 0, 0, 0], [1, 0, 1, 0]]]])


@pytest.mark.parametrize("k, s, p, d, ceil_mode", [(3, 2, 1, 1, False), (2, 2, 0, 2, True), (3, 1, 1, 1, True)])
def test_max_pool1d_is_max_pool2d_of_height_1(k, s, p, d, ceil_mode):
    x = rng.permutation(2 * 3 * 9).reshape(2, 3, 9) / 8.0
    out, idx = F.max_pool1d(mg.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    expected, expected_idx = naive_max_pool2d(x[:, :, None], (1, k), (1, s), (0, p), (1, d), ceil_mode)
    np.testing.assert_array_equal(out.numpy(), expected[:, :, 0])
    np.testing.assert_array_equal(idx.numpy(), expected_idx[:, :, 0])
    assert F.max_pool1d(mg.tensor(x[0]), k, s, p, d, ceil_mode).shape == out.shape[1:]  # unbatched
    assert check_grad(lambda t: F.max_pool1d(t, k, s, p, d, ceil_mode), mg.tensor(x, requires_grad=True))


# ---- average ----------------------------------------------------------------------------------------------------
@GEOMETRIES
@given(pool_cases(dilation=False), st.booleans())
def test_avg_pool2d_matches_the_naive_loop_and_finite_differences(case, count_include_pad):
    x, k, s, p, _, ceil_mode = case
    out = F.avg_pool2d(mg.tensor(x), k, s, p, ceil_mode, count_include_pad)
    np.testing.assert_allclose(out.numpy(), naive_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad), atol=1e-12)
    t = mg.tensor(x, requires_grad=True)
    assert check_grad(lambda t: F.avg_pool2d(t, k, s, p, ceil_mode, count_include_pad), t)


def test_avg_pool2d_divisor_override_and_unbatched_input_and_avg_pool1d():
    x = rng.standard_normal((3, 6, 5))
    out = F.avg_pool2d(mg.tensor(x), 3, 2, 1, divisor_override=4)
    np.testing.assert_allclose(out.numpy(), naive_avg_pool2d(x[None], (3, 3), (2, 2), (1, 1), False, True)[0] * 9 / 4)
    signal = rng.standard_normal((2, 3, 8))
    pooled = F.avg_pool1d(mg.tensor(signal), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    expected = naive_avg_pool2d(signal[:, :, None], (1, 3), (1, 2), (0, 1), True, False)[:, :, 0]
    np.testing.assert_allclose(pooled.numpy(), expected)
    assert check_grad(lambda t: F.avg_pool1d(t, 3, 2, 1, True, False), mg.tensor(signal, requires_grad=True))


# ---- adaptive -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 2, (3, 2), (4, 5), (None, 3), (7, 6), (9, 8)])
def test_adaptive_pools_match_the_naive_loop_and_finite_differences(size):
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 8.0
    pair = (size, size) if isinstance(size, int) else (size[0] or 7, size[1])
    np.testing.assert_allclose(F.adaptive_avg_pool2d(mg.tensor(x), size).numpy(), naive_adaptive(x, pair, np.mean))
    values, idx = F.adaptive_max_pool2d(mg.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(values.numpy(), naive_adaptive(x, pair, np.max))
    flat = x.reshape(2, 3, -1)
    picked = np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2)  # the indices point at the maxima
    np.testing.assert_array_equal(picked, values.numpy().reshape(2, 3, -1))
    t = mg.tensor(x[:, :1], requires_grad=True)
    assert check_grad(lambda t: F.adaptive_avg_pool2d(t, size), t)
    assert check_grad(lambda t: F.adaptive_max_pool2d(t, size), t)


def test_pools_differentiate_twice():
    x = mg.tensor(rng.permutation(2 * 5 * 4).reshape(1, 2, 5, 4) / 8.0)
    assert gradgradcheck(lambda t: F.max_pool2d(t, 2, 1, 1, ceil_mode=True) ** 2, [x])
    assert gradgradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False) ** 2, [x])
    assert gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 3)) ** 2, [x])
    assert gradgradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 3)) ** 2, [x])


# ---- errors, as PyTorch's --------------------------------------------------------------------------------
X = mg.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.max_pool2d(X, 7), "Kernel size can't be greater than actual input size"),
        (lambda: F.max_pool2d(X, 3, padding=2), "pad should be at most half of effective kernel size, but got pad=2"),
        (lambda: F.avg_pool2d(X, 3, padding=2), "pad should be at most half of effective kernel size"),
        (lambda: F.max_pool2d(X, 0), "kernel size should be greater than zero"),
        (lambda: F.max_pool2d(X, 2, stride=0), "non-positive stride"),
        (
            lambda: F.max_pool2d(mg.ones(5), 2),
            r"expected non-empty 3D or 4D \(batch mode\) input, got input of size \[5\]",
        ),
        (lambda: F.max_pool2d(mg.ones(2, 0, 4, 4), 2), "non-empty"),
        (lambda: F.max_pool1d(X, 2), r"expected non-empty 2D or 3D"),
        (lambda: F.max_pool2d(mg.ones(1, 1, 4, 4, dtype=mg.int64), 2), "expected a float input, got dtype int64"),
        (lambda: F.avg_pool2d(X, 2, divisor_override=0), "divisor must be not zero"),
        (lambda: F.max_pool2d(X, (2, 2, 2)), "expected kernel_size to be a single integer value or a list of 2"),
    ],
)
def test_bad_arguments_raise_pytorchs_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


# ---- devices ------------------------------------------------------------------------------------------------------
def test_pools_on_a_device_match_the_cpu(device):
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    pools = [
        lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        lambda t: F.avg_pool2d(t, 2, count_include_pad=False, padding=1),
        lambda t: F.adaptive_avg_pool2d(t, (3, 4)),
        lambda t: F.adaptive_max_pool2d(t, (4, 4)),
    ]
    for pool in pools:
        results = []
        for where in ("cpu", device):
            t = mg.tensor(x, device=where, requires_grad=True)
            out = pool(t)
            (out * out).sum().backward()
            assert out.device == t.device
            results.append((out.numpy(), t.grad.numpy()))
        for on_cpu, on_device in zip(*results):
            np.testing.assert_allclose(on_device, on_cpu, rtol=1e-5, atol=1e-6)
