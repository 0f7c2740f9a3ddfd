"""On a machine with a CUDA GPU and cupy: the CUDA tests, then benchmark (b) on the GPU against
the same step written by hand in cupy (the target: minigrad within 1.05x of it).

(b) one forward and backward step of relu(x @ w + b).sum() with x (4096, 1024), w (1024, 1024),
    float32, as in bench_engine.py; every call ends with a device synchronize.

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
        sync()

    m = timing.interleaved_medians({"cupy by hand": by_hand, "minigrad": minigrad}, rounds=21, number=5)
    timing.report("(b) on the GPU, forward + backward (target: minigrad <= 1.05x cupy by hand):", m, "cupy by hand",
                  unit=1e-3, unit_name="ms")  # fmt: skip
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
