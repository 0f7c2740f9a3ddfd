"""Convolutions and im2col (conv1d, conv2d, unfold, fold): values against naive loops written here,
gradients against float64 finite differences on hypothesis-drawn geometries (strides, paddings,
dilations, groups), second derivatives, PyTorch's errors, and the same results on every device."""

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
GEOMETRIES = settings(max_examples=20)


# ---- naive references: one loop iteration per output element -------------------------------------
def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i, oc, p, q in np.ndindex(n, o, oh, ow):
        group = oc // (o // groups)
        patch = xp[i, group * cg : (group + 1) * cg, p * sh : p * sh + dh * (kh - 1) + 1 : dh,
                   q * sw : q * sw + dw * (kw - 1) + 1 : dw]  # fmt: skip
        out[i, oc, p, q] = (patch * w[oc]).sum() + (0 if b is None else b[oc])
    return out


def naive_unfold(x, k, dilation, padding, stride):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (
        (h + 2 * padding - dilation * (k - 1) - 1) // stride + 1,
        (w + 2 * padding - dilation * (k - 1) - 1) // stride + 1,
    )
    out = np.zeros((n, c * k * k, oh * ow))
    for i, ch, a, b, p, q in np.ndindex(n, c, k, k, oh, ow):
        out[i, (ch * k + a) * k + b, p * ow + q] = xp[i, ch, p * stride + a * dilation, q * stride + b * dilation]
    return out


@st.composite
def conv_cases(draw, groups=True):
    """(x, w, b, stride, padding, dilation, groups): small float64 tensors over which at least one window fits."""
    g = draw(st.integers(1, 2)) if groups else 1
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    padding = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    size = [
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 4))
        for k, d, p in zip(kernel, dilation, padding)
    ]
    x = rng.standard_normal((n, g * cg, *size))
    w = rng.standard_normal((g * og, cg, *kernel))
    b = rng.standard_normal(g * og) if draw(st.booleans()) else None
    return x, w, b, stride, padding, dilation, g


# ---- conv2d ------------------------------------------------------------------------------------------------
@GEOMETRIES
@given(conv_cases())
def test_conv2d_matches_the_naive_loop(case):
    x, w, b, stride, padding, dilation, groups = case
    out = F.conv2d(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b), stride, padding, dilation, groups)
    np.testing.assert_allclose(out.numpy(), naive_conv2d(x, w, b, stride, padding, dilation, groups), atol=1e-12)


@GEOMETRIES
@given(conv_cases())
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b, stride, padding, dilation, groups = case
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w) + (() if b is None else (b,))]
    assert check_grad(
        lambda *t: F.conv2d(*t, stride=stride, padding=padding, dilation=dilation, groups=groups), *inputs
    )


def test_conv2d_second_derivatives():
    x, w = mg.tensor(rng.standard_normal((2, 2, 5, 4))), mg.tensor(rng.standard_normal((4, 1, 2, 3)))
    b = mg.tensor(rng.standard_normal(4))
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2), [x, w, b])


def test_conv2d_keeps_float32_and_takes_unbatched_input():
    x, w = rng.standard_normal((3, 6, 5)).astype(np.float32), rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    out = F.conv2d(mg.tensor(x), mg.tensor(w), padding=1)
    assert out.dtype == mg.float32 and out.shape == (2, 6, 5)
    np.testing.assert_allclose(out.numpy(), naive_conv2d(x[None], w, padding=(1, 1))[0], rtol=1e-5, atol=1e-5)
    assert mg.conv2d is F.conv2d


@pytest.mark.parametrize("kernel, dilation", [(3, 1), (4, 1), (2, 3), ((2, 5), (2, 1))])
def test_padding_same_keeps_the_size_and_valid_pads_nothing(kernel, dilation):
    x = rng.standard_normal((1, 2, 7, 6))
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    w = rng.standard_normal((3, 2, *k))
    same = F.conv2d(mg.tensor(x), mg.tensor(w), padding="same", dilation=dilation)
    assert same.shape == (1, 3, 7, 6)
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    # PyTorch pads d·(k-1) in all, the odd one at the end: check against explicit padding
    pads = [(di * (ki - 1) // 2, di * (ki - 1) - di * (ki - 1) // 2) for ki, di in zip(k, d)]
    padded = np.pad(x, ((0, 0), (0, 0), *pads))
    np.testing.assert_allclose(same.numpy(), naive_conv2d(padded, w, dilation=d), atol=1e-12)
    valid = F.conv2d(mg.tensor(x), mg.tensor(w), padding="valid", dilation=dilation)
    np.testing.assert_allclose(valid.numpy(), naive_conv2d(x, w, dilation=d), atol=1e-12)


# ---- conv1d --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 2, 2), (1, "same", 3, 1), (3, 2, 1, 2)]
)
def test_conv1d_matches_the_naive_loop_and_finite_differences(stride, padding, dilation, groups):
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 4 // groups, 3)), rng.standard_normal(6)
    out = F.conv1d(mg.tensor(x), mg.tensor(w), mg.tensor(b), stride, padding, dilation, groups)
    pad = (dilation, dilation) if padding == "same" else (padding, padding)
    expected = naive_conv2d(
        np.pad(x, ((0, 0), (0, 0), pad))[:, :, None], w[:, :, None], b, (1, stride), (0, 0), (1, dilation), groups
    )
    np.testing.assert_allclose(out.numpy(), expected[:, :, 0], atol=1e-12)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert check_grad(lambda *t: F.conv1d(*t, stride, padding, dilation, groups), *inputs)
    assert F.conv1d(mg.tensor(x[0]), mg.tensor(w), None, stride, padding, dilation, groups).shape == out.shape[1:]


# ---- unfold and fold ---------------------------------------------------------------------------------------
@GEOMETRIES
@given(st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 3), st.integers(0, 3), st.integers(0, 3))
def test_unfold_matches_the_naive_loop_and_fold_is_its_adjoint(k, dilation, padding, stride, extra_h, extra_w):
    span = max(dilation * (k - 1) + 1 - 2 * padding, 1)
    x = rng.standard_normal((2, 3, span + extra_h, span + extra_w))
    cols = F.unfold(mg.tensor(x), k, dilation, padding, stride)
    np.testing.assert_allclose(cols.numpy(), naive_unfold(x, k, dilation, padding, stride))
    y = rng.standard_normal(cols.shape)
    folded = F.fold(mg.tensor(y), x.shape[2:], k, dilation, padding, stride)
    assert folded.shape == x.shape
    np.testing.assert_allclose((folded.numpy() * x).sum(), (y * cols.numpy()).sum())  # <fold y, x> = <y, unfold x>


def test_unfold_and_fold_gradients_and_second_derivatives():
    x = mg.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert check_grad(lambda x: F.unfold(x, (2, 3), padding=1, stride=(1, 2)), x)
    cols = mg.tensor(rng.standard_normal((2 * 6, 15)), requires_grad=True)  # unbatched: (C·kh·kw, L)
    assert check_grad(lambda c: F.fold(c, (4, 5), (2, 3), padding=1, stride=(1, 2)), cols)
    assert gradgradcheck(lambda x: F.unfold(x, 2, stride=2) ** 2, [x])


def test_fold_of_unfold_counts_the_windows_each_element_is_in():
    ones = mg.ones(1, 1, 3, 3)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


# ---- errors, as PyTorch's ------------------------------------------------------------------------------------------
X, W = (
    mg.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32)),
    mg.tensor(rng.standard_normal((6, 4, 3, 3)).astype(np.float32)),
)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: F.conv2d(mg.ones(4, 5), W),
            r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[4, 5\]",
        ),
        (lambda: F.conv2d(X, mg.ones(6, 3, 3, 3)), r"expected input\[2, 4, 5, 5\] to have 3 channels, but got 4"),
        (lambda: F.conv2d(X, mg.ones(6, 2, 3, 3), groups=3), r"groups=3.*to have 6 channels, but got 4"),
        (lambda: F.conv2d(X, mg.ones(5, 2, 3, 3), groups=2), r"divisible by 2 at dimension 0.*\[5, 2, 3, 3\]"),
        (lambda: F.conv2d(X, mg.ones(6, 4, 7, 7)), r"padded input size per channel: \(5 x 5\). Kernel size: \(7 x 7\)"),
        (lambda: F.conv2d(X, W, stride=0), "non-positive stride"),
        (lambda: F.conv2d(X, W, padding=-1), "negative padding"),
        (lambda: F.conv2d(X, W, dilation=0), "non-positive dilation"),
        (lambda: F.conv2d(X, W, groups=0), "non-positive groups"),
        (lambda: F.conv2d(X, W, padding="same", stride=2), "padding='same' is not supported for strided"),
        (lambda: F.conv2d(X, W, padding="full"), "invalid padding string 'full'"),
        (
            lambda: F.conv2d(X, W, mg.ones(5)),
            r"expected bias to be 1-dimensional with 6 elements, but got bias of size \[5\]",
        ),
        (lambda: F.conv2d(X, W.double()), r"input type \(float32\) and weight type \(float64\)"),
        (lambda: F.conv2d(X, mg.ones(6, 4, 3)), "expected weight to be 4-dimensional"),
        (lambda: F.conv2d(X, W, stride=(1, 2, 3)), r"expected stride to be a single integer value or a list of 2"),
        (lambda: F.conv1d(X, W), r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
        (lambda: F.unfold(X, 7), "Kernel size can't be greater than actual input size"),
        (lambda: F.unfold(mg.ones(5), 2), r"expected 3D or 4D \(batch mode\) input"),
        (lambda: F.fold(mg.ones(2, 35, 9), (5, 5), 3), r"divisible by the product of kernel_size.*input.size\(1\)=35"),
        (
            lambda: F.fold(mg.ones(2, 36, 8), (5, 5), 3),
            r"number of sliding blocks 3 \* 3 = 9, but got input.size\(2\)=8",
        ),
    ],
)
def test_bad_arguments_raise_pytorchs_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


# ---- devices ------------------------------------------------------------------------------------------------------
def test_conv2d_on_a_device_matches_the_cpu(device):
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4, 9, 8), (6, 2, 3, 3), (6,)))
    results = []
    for where in ("cpu", device):
        xs = [mg.tensor(a, device=where, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(*xs, stride=2, padding=1, groups=2)
        (out * out).sum().backward()
        assert out.device == xs[0].device
        results.append([out.numpy()] + [t.grad.numpy() for t in xs])
    for on_cpu, on_device in zip(*results):
        np.testing.assert_allclose(on_device, on_cpu, rtol=1e-4, atol=1e-4)


# ---- conv_transpose2d ------------------------------------------------------------------------------------------
def naive_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation):
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    size = [(m - 1) * s - 2 * p + d * (k - 1) + e + 1
            for m, s, p, d, k, e in zip((h, wd), stride, padding, dilation, (kh, kw), output_padding)]  # fmt: skip
    out = np.zeros((n, og * groups, size[0] + 2 * padding[0], size[1] + 2 * padding[1]))
    for i, ch, p, q, u, v in np.ndindex(n, c, h, wd, kh, kw):
        group = ch // (c // groups)
        r, col = p * stride[0] + u * dilation[0], q * stride[1] + v * dilation[1]
        if r < out.shape[2] and col < out.shape[3]:
            out[i, group * og : (group + 1) * og, r, col] += x[i, ch, p, q] * w[ch, :, u, v]
    out = out[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]
    return out + (0 if b is None else b[:, None, None])


@GEOMETRIES
@given(st.data())
def test_conv_transpose2d_matches_the_naive_loop_and_finite_differences(data):
    groups, cg, og = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    kernel = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    stride = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    extra = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = tuple(
        data.draw(st.integers(0, max(0, ((n - 1) * s + d * (k - 1) + e) // 2)))
        for n, s, d, k, e in zip(size, stride, dilation, kernel, extra)
    )
    x = rng.standard_normal((2, groups * cg, *size))
    w = rng.standard_normal((groups * cg, og, *kernel))
    b = rng.standard_normal(groups * og) if data.draw(st.booleans()) else None
    args = (stride, padding, extra, groups, dilation)
    out = F.conv_transpose2d(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b), *args)
    np.testing.assert_allclose(out.numpy(), naive_conv_transpose2d(x, w, b, *args), atol=1e-12)
    inputs = [mg.tensor(a, requires_grad=True) for a in (x, w) + (() if b is None else (b,))]
    assert check_grad(lambda x, w, b=None: F.conv_transpose2d(x, w, b, *args), *inputs)


def test_conv_transpose2d_is_conv2ds_input_gradient_and_differentiates_twice():
    x, w = (
        mg.tensor(rng.standard_normal((2, 4, 7, 6)), requires_grad=True),
        mg.tensor(rng.standard_normal((6, 2, 3, 3))),
    )
    out = F.conv2d(x, w, stride=2, padding=1, groups=2)
    g = mg.tensor(rng.standard_normal(out.shape))
    out.backward(g)
    back = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1), groups=2)
    np.testing.assert_allclose(back.numpy(), x.grad.numpy(), atol=1e-12)
    assert gradgradcheck(lambda g, w: F.conv_transpose2d(g, w, stride=2, padding=1, groups=2), [g[:1, :, :2], w])
    assert F.conv_transpose2d(g[0], w, stride=2, padding=1, groups=2).shape == (4, 7, 5)  # unbatched


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.conv_transpose2d(X, mg.ones(3, 2, 3, 3)), r"expected input\[2, 4, 5, 5\] to have 3 channels"),
        (
            lambda: F.conv_transpose2d(X, mg.ones(4, 2, 3, 3), stride=2, output_padding=2),
            "output padding must be smaller",
        ),
        (lambda: F.conv_transpose2d(X, mg.ones(4, 2, 3, 3), padding=4), "Output size is too small"),
        (lambda: F.conv_transpose2d(X, mg.ones(4, 2, 3, 3), mg.ones(3)), "expected bias to be 1-dimensional with 2"),
        (lambda: F.conv_transpose2d(X, mg.ones(4, 2, 3, 3), groups=3), "divisible"),
        (lambda: F.conv_transpose2d(X, mg.ones(4, 2, 3, 3), stride=0), "stride and dilation must be positive"),
    ],
)
def test_conv_transpose2d_bad_arguments_raise_pytorchs_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()
