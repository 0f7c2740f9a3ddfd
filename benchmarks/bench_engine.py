"""Cost of the engine itself, against the same work written by hand in numpy.

(a) forward and backward of a chain of 200 elementwise ops (add, mul, sigmoid, relu in
    turn) on (8, 8) float32 tensors, reported per op: small tensors, so this is the
    per-op overhead of recording and replaying the graph.
(b) one forward and backward step of relu(x @ w + b).sum() with x (4096, 1024),
    w (1024, 1024): big tensors, so this is the arithmetic.

"minigrad jit" is the same step captured by ``minigrad.jit`` and replayed. PyTorch, when
installed, runs as another contender (it is not a dependency).

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py
"""

from __future__ import annotations

import timing  # first: it sets one thread before numpy loads

# isort: split
import numpy as np

import minigrad as mg

CHAIN = 200
rng = np.random.default_rng(0)


def chain_inputs():
    x = rng.standard_normal((8, 8), dtype=np.float32)
    params = [rng.standard_normal((8, 8), dtype=np.float32) * 0.5 + 1 for _ in range(CHAIN // 2)]
    return x, params


def chain_numpy(x, params):
    """Forward, then the hand-derived backward; returns the gradients of x and the params."""
    saved, h, p = [], x, iter(params)
    for i in range(CHAIN):
        kind = i % 4
        if kind == 0:
            saved.append(None)
            h = h + next(p)
        elif kind == 1:
            w = next(p)
            saved.append((h, w))
            h = h * w
        elif kind == 2:
            h = 1 / (1 + np.exp(-h))
            saved.append(h)
        else:
            h = np.maximum(h, 0)
            saved.append(h)
    g, grads = np.ones_like(h), []
    for i in reversed(range(CHAIN)):
        kind, s = i % 4, saved[i]
        if kind == 0:
            grads.append(g)
        elif kind == 1:
            grads.append(g * s[0])
            g = g * s[1]
        elif kind == 2:
            g = g * s * (1 - s)
        else:
            g = g * (s > 0)
    return g, grads


def chain_autograd(x, params, sigmoid, relu):
    """The chain through an autograd library (minigrad or PyTorch: they share these names)."""
    h, p = x, iter(params)
    for i in range(CHAIN):
        kind = i % 4
        if kind == 0:
            h = h + next(p)
        elif kind == 1:
            h = h * next(p)
        elif kind == 2:
            h = sigmoid(h)
        else:
            h = relu(h)
    h.sum().backward()


def matmul_numpy(x, w, b):
    z = x @ w + b
    out = np.maximum(z, 0)
    loss = out.sum()
    g = (z > 0).astype(np.float32)  # d loss / d z
    return loss, x.T @ g, g.sum(0)


def matmul_minigrad(x, w, b):
    loss = (x @ w + b).relu().sum()
    loss.backward()
    return loss


def main() -> None:
    torch = timing.optional_torch()
    x, params = chain_inputs()
    xt = mg.tensor(x, requires_grad=True)
    pts = [mg.tensor(p, requires_grad=True) for p in params]

    def run_minigrad():
        xt.grad = None
        for p in pts:
            p.grad = None
        chain_autograd(xt, pts, mg.sigmoid, mg.relu)

    contenders = {
        "numpy by hand": lambda: chain_numpy(x, params),
        "minigrad": run_minigrad,
        "minigrad jit": mg.jit(run_minigrad),
    }
    if torch:
        tx = torch.tensor(x, requires_grad=True)
        tps = [torch.tensor(p, requires_grad=True) for p in params]

        def run_torch():
            for t in [tx, *tps]:
                t.grad = None
            chain_autograd(tx, tps, torch.sigmoid, torch.relu)

        contenders[f"pytorch {torch.__version__}"] = run_torch
    m = timing.interleaved_medians(contenders, rounds=15, number=20)
    timing.report(
        f"(a) chain of {CHAIN} elementwise ops on (8, 8), forward + backward, per op:", m, "numpy by hand", per=CHAIN
    )

    X = rng.standard_normal((4096, 1024), dtype=np.float32)
    W = rng.standard_normal((1024, 1024), dtype=np.float32) * 0.03
    B = np.zeros(1024, dtype=np.float32)
    wt, bt, xt2 = mg.tensor(W, requires_grad=True), mg.tensor(B, requires_grad=True), mg.tensor(X)

    def run_minigrad_mm():
        wt.grad = bt.grad = None
        matmul_minigrad(xt2, wt, bt)

    contenders = {
        "numpy by hand": lambda: matmul_numpy(X, W, B),
        "minigrad": run_minigrad_mm,
        "minigrad jit": mg.jit(run_minigrad_mm),
    }
    if torch:
        TX, TW, TB = torch.tensor(X), torch.tensor(W, requires_grad=True), torch.tensor(B, requires_grad=True)

        def run_torch_mm():
            TW.grad = TB.grad = None
            torch.relu(TX @ TW + TB).sum().backward()

        contenders[f"pytorch {torch.__version__}"] = run_torch_mm
    m = timing.interleaved_medians(contenders, rounds=15)
    timing.report(
        "(b) relu(x @ w + b).sum(), x (4096, 1024), w (1024, 1024), forward + backward:",
        m,
        "numpy by hand",
        unit=1e-3,
        unit_name="ms",
    )


if __name__ == "__main__":
    main()
