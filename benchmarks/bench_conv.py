"""conv2d forward + backward on the shapes of a small MNIST CNN, against im2col written by hand in numpy.

Each layer is a 3x3 (5x5 for the first) convolution with stride 2 and padding 1 (2), batch 256,
as fastbook's ``simple_cnn``: (1, 28, 28) -> 8 -> 16 -> 32 -> 64 -> 10 channels. The gradient
is taken for the weight, the bias and (except for the first layer, as in a net) the input.
The hand-written numpy version is the textbook one: an ``as_strided`` view of the padded input,
one copy to (N, C·kh·kw, L) columns, a batched matmul, and col2im by adding back one kernel tap
at a time. PyTorch, when installed, runs as a third contender (it is not a dependency).

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv.py
"""

from __future__ import annotations

import timing  # first: it sets one thread before numpy loads

# isort: split
import numpy as np

import minigrad as mg
from minigrad.nn import functional as F

BATCH = 256
LAYERS = [(1, 8, 28, 5, 2), (8, 16, 14, 3, 1), (16, 32, 7, 3, 1), (32, 64, 4, 3, 1), (64, 10, 2, 3, 1)]
STRIDE = 2
rng = np.random.default_rng(0)


def conv_numpy(x, w, b, g, padding, input_grad):
    """Forward and hand-derived backward of conv2d (stride 2) by im2col; returns the gradients."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    oh, ow = (h + 2 * padding - k) // STRIDE + 1, (wd + 2 * padding - k) // STRIDE + 1
    p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    sn, sc, sh, sw = p.strides
    view = np.lib.stride_tricks.as_strided(p, (n, c, k, k, oh, ow), (sn, sc, sh, sw, STRIDE * sh, STRIDE * sw))
    cols = view.reshape(n, c * k * k, oh * ow)
    w2 = w.reshape(o, -1)
    out = (w2 @ cols).reshape(n, o, oh, ow) + b.reshape(o, 1, 1)
    g2 = g.reshape(n, o, oh * ow)
    gw = np.tensordot(g2, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    gb = g.sum((0, 2, 3))
    if not input_grad:
        return out, gw, gb
    gcols = (w2.T @ g2).reshape(n, c, k, k, oh, ow)
    gp = np.zeros_like(p)
    for i in range(k):
        for j in range(k):
            rows, columns = slice(i, i + STRIDE * (oh - 1) + 1, STRIDE), slice(j, j + STRIDE * (ow - 1) + 1, STRIDE)
            gp[:, :, rows, columns] += gcols[:, :, i, j]
    return out, gw, gb, gp[:, :, padding : padding + h, padding : padding + wd]


def time_layer(c: int, o: int, size: int, k: int, padding: int, torch) -> dict[str, float]:
    """Median seconds of one layer's forward + backward for each contender."""
    x = rng.standard_normal((BATCH, c, size, size), dtype=np.float32)
    w = rng.standard_normal((o, c, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(o, dtype=np.float32)
    out_size = (size + 2 * padding - k) // STRIDE + 1
    g = rng.standard_normal((BATCH, o, out_size, out_size), dtype=np.float32)
    input_grad = c != 1  # the images themselves need no gradient
    mx, mw, mb = (mg.tensor(a, requires_grad=r) for a, r in ((x, input_grad), (w, True), (b, True)))
    mgrad = mg.tensor(g)

    def run_minigrad():
        F.conv2d(mx, mw, mb, stride=STRIDE, padding=padding).backward(mgrad)
        mx.grad = mw.grad = mb.grad = None

    contenders = {"numpy by hand": lambda: conv_numpy(x, w, b, g, padding, input_grad), "minigrad": run_minigrad}
    if torch:
        tx, tw, tb = (torch.tensor(a, requires_grad=r) for a, r in ((x, input_grad), (w, True), (b, True)))
        tg = torch.tensor(g)

        def run_torch():
            torch.nn.functional.conv2d(tx, tw, tb, stride=STRIDE, padding=padding).backward(tg)
            tx.grad = tw.grad = tb.grad = None

        contenders[f"pytorch {torch.__version__}"] = run_torch
    return timing.interleaved_medians(contenders, rounds=15, number=3)


def main() -> None:
    torch = timing.optional_torch()
    totals: dict[str, float] = {}
    for c, o, size, k, padding in LAYERS:
        m = time_layer(c, o, size, k, padding, torch)
        title = f"conv2d ({BATCH}, {c}, {size}, {size}) -> {o} channels, {k}x{k}, forward + backward:"
        timing.report(title, m, "numpy by hand", unit=1e-3, unit_name="ms")
        for name, t in m.items():
            totals[name] = totals.get(name, 0.0) + t
    timing.report("all five layers:", totals, "numpy by hand", unit=1e-3, unit_name="ms")


if __name__ == "__main__":
    main()
