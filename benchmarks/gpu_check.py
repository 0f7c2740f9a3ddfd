"""On a machine with a CUDA GPU and cupy: the CUDA tests, then benchmark (b) on the GPU against
the same step written by hand in cupy (the target: minigrad within 1.05x of it), and what
minigrad.jit saves on a small step there.

(b) one forward and backward step of relu(x @ w + b).sum() with x (4096, 1024), w (1024, 1024),
    float32, as in bench_engine.py; every call ends with a device synchronize.
(c) one training step of the chapter's linear model (Linear(784, 1), mnist_loss, SGD) on a batch
    of 256 random images: eager against jitted, where Python's per-op cost is all there is.

Run:  python benchmarks/gpu_check.py     (from the project root; exits 1 when a test fails)
"""

from __future__ import annotations

import subprocess
import sys

import timing  # first: it sets one thread before numpy loads

# isort: split
import bench_engine
import numpy as np

import minigrad as mg


def main() -> int:
    if not mg.cuda.is_available():
        print("no CUDA GPU with cupy here: nothing to check")
        return 1
    cp = mg.backend.cupy()
    name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    print(f"{mg.cuda.device_count()} GPU(s), device 0: {name.decode() if isinstance(name, bytes) else name}")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "tests/test_cuda.py"], check=False)

    rng = np.random.default_rng(0)
    X = cp.asarray(rng.standard_normal((4096, 1024), dtype=np.float32))
    W = cp.asarray(rng.standard_normal((1024, 1024), dtype=np.float32) * 0.03)
    B = cp.zeros(1024, dtype=np.float32)
    xt, wt, bt = mg.Tensor(X), mg.Tensor(W, requires_grad=True), mg.Tensor(B, requires_grad=True)
    sync = cp.cuda.Device().synchronize

    def by_hand():
        bench_engine.matmul_numpy(X, W, B)  # numpy's functions on cupy arrays run cupy's
        sync()

    def minigrad():
        wt.grad = bt.grad = None
        bench_engine.matmul_minigrad(xt, wt, bt)

    jitted = mg.jit(minigrad)  # a replay runs the recorded array calls only: the synchronize stays outside
    contenders = {"cupy by hand": by_hand, "minigrad": synced(minigrad, sync), "minigrad jit": synced(jitted, sync)}
    m = timing.interleaved_medians(contenders, rounds=21, number=5)
    timing.report("(b) on the GPU, forward + backward (target: minigrad <= 1.05x cupy by hand):", m, "cupy by hand",
                  unit=1e-3, unit_name="ms")  # fmt: skip
    m = timing.interleaved_medians(linear_model_steps(sync), rounds=21, number=50)
    timing.report("(c) on the GPU, one step of the linear model:", m, "minigrad", unit=1e-6, unit_name="us")
    return tests.returncode


def linear_model_steps(sync) -> dict:
    """{"minigrad": eager step, "minigrad jit": the same step jitted}, each on its own model, on "cuda"."""
    from minigrad.nn import Linear
    from minigrad.nn.functional import mnist_loss
    from minigrad.optim import SGD

    gen = mg.Generator(0)
    xb, yb = mg.rand(256, 784, generator=gen).cuda(), (mg.rand(256, 1, generator=gen) > 0.5).float().cuda()
    steps = {}
    for name in ("minigrad", "minigrad jit"):
        mg.manual_seed(0)
        model = Linear(784, 1).cuda()
        opt = SGD(model.parameters(), lr=1.0)

        def step(model=model, opt=opt):
            mnist_loss(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()

        steps[name] = synced(mg.jit(step) if name.endswith("jit") else step, sync)
    return steps


def synced(fn, sync):
    """fn, then a device synchronize (the GPU's work counted in the time)."""

    def run():
        fn()
        sync()

    return run


if __name__ == "__main__":
    sys.exit(main())
