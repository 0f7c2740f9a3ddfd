"""interpolate (nearest, linear, bilinear with and without align_corners): values against a naive
per-pixel loop written here from PyTorch's source-index rules, gradients against float64 finite
differences, second derivatives, PyTorch's errors, and the same results on every device."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.nn import functional as F
from minigrad.testing import check_grad

rng = np.random.default_rng(0)


def source(o, n_in, n_out, scale, mode, align_corners):
    """PyTorch's rule: the (low, high, weight of high) input positions output o reads."""
    if mode == "nearest":
        i = min(math.floor(o * scale), n_in - 1)
        return i, i, 0.0
    if align_corners:
        s = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = max((o + 0.5) * scale - 0.5, 0.0)
    low = min(math.floor(s), n_in - 1)
    return low, min(low + 1, n_in - 1), s - low


def naive_interpolate(x, out, scales, mode, align_corners):
    images = x if x.ndim == 4 else x[:, :, None]
    out = out if x.ndim == 4 else (1, *out)
    scales = scales if x.ndim == 4 else (1.0, *scales)
    h, w = images.shape[2:]
    result = np.zeros(images.shape[:2] + tuple(out))
    for p, q in np.ndindex(*out):
        r0, r1, a = source(p, h, out[0], scales[0], mode, align_corners) if x.ndim == 4 else (0, 0, 0.0)
        c0, c1, b = source(q, w, out[1], scales[1], mode, align_corners)
        result[:, :, p, q] = (
            images[:, :, r0, c0] * (1 - a) * (1 - b) + images[:, :, r0, c1] * (1 - a) * b
            + images[:, :, r1, c0] * a * (1 - b) + images[:, :, r1, c1] * a * b
        )  # fmt: skip
    return result if x.ndim == 4 else result[:, :, 0]


CASES = [
    ("nearest", None, dict(size=(3, 8)), (4 / 3, 7 / 8)),
    ("nearest", None, dict(scale_factor=2), (0.5, 0.5)),
    ("nearest", None, dict(scale_factor=1.7), (1 / 1.7, 1 / 1.7)),
    ("nearest", None, dict(scale_factor=1.7, recompute_scale_factor=True), (4 / 6, 7 / 11)),
    ("bilinear", False, dict(size=(6, 3)), (4 / 6, 7 / 3)),
    ("bilinear", True, dict(size=(6, 3)), None),
    ("bilinear", None, dict(scale_factor=2.5), (0.4, 0.4)),
    ("bilinear", True, dict(size=(1, 1)), None),
]


@pytest.mark.parametrize("mode, align_corners, size, scales", CASES)
def test_interpolate_matches_the_naive_loop_and_finite_differences(mode, align_corners, size, scales):
    x = rng.standard_normal((2, 3, 4, 7))
    out = F.interpolate(mg.tensor(x), mode=mode, align_corners=align_corners, **size)
    expected = naive_interpolate(x, out.shape[2:], scales or (1.0, 1.0), mode, align_corners)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    t = mg.tensor(x[:1, :2], requires_grad=True)
    assert check_grad(lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **size), t)


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("linear", False), ("linear", True)])
def test_interpolate_of_signals(mode, align_corners):
    x = rng.standard_normal((2, 3, 5))
    out = F.interpolate(mg.tensor(x), size=8, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(out.numpy(), naive_interpolate(x, (8,), (5 / 8,), mode, align_corners), atol=1e-12)
    assert gradgradcheck(
        lambda t: F.interpolate(t, size=8, mode=mode, align_corners=align_corners) ** 2, [mg.tensor(x)]
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"),
            NotImplementedError,
            "mode 'bicubic' is not supported",
        ),
        (
            lambda x: F.interpolate(x, scale_factor=2, mode="linear"),
            NotImplementedError,
            "got 4D input, but linear mode needs 3D",
        ),
        (
            lambda x: F.interpolate(x, size=3, align_corners=True),
            ValueError,
            "align_corners option can only be set with",
        ),
        (lambda x: F.interpolate(x), ValueError, "either size or scale_factor"),
        (lambda x: F.interpolate(x, size=3, scale_factor=2), ValueError, "only one of them"),
        (lambda x: F.interpolate(x, scale_factor=0.1), ValueError, "output size must be 2 positive ints"),
    ],
)
def test_bad_arguments_raise_pytorchs_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(mg.ones(1, 2, 4, 4))


def test_interpolate_on_a_device_matches_the_cpu(device):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    results = []
    for where in ("cpu", device):
        t = mg.tensor(x, device=where, requires_grad=True)
        outs = [F.interpolate(t, scale_factor=2), F.interpolate(t, size=(3, 7), mode="bilinear", align_corners=True)]
        sum((o * o).sum() for o in outs).backward()
        assert outs[0].device == t.device and outs[0].dtype == mg.float32
        results.append([o.numpy() for o in outs] + [t.grad.numpy()])
    for on_cpu, on_device in zip(*results):
        np.testing.assert_allclose(on_device, on_cpu, rtol=1e-5, atol=1e-5)
