"""One training epoch of the chapter's linear model on MNIST_SAMPLE: minigrad against hand-written numpy.

The model is ``Linear(784, 1)`` with ``mnist_loss``, trained by SGD at lr 1.0 on batches
of 256 (not shuffled) over the 12,396 training images (pixels / 255, float32, flattened
to 784). minigrad runs the plain loop through ``DataLoader`` and ``SGD``::

    for xb, yb in dl:
        loss = mnist_loss(model(xb), yb); loss.backward(); opt.step(); opt.zero_grad()

numpy runs the same arithmetic with hand-derived gradients on contiguous slices. A
third row, minigrad with the model written from bare tensors (``xb @ w + b``), separates
the cost of ``nn.Linear`` from the engine's.

PyTorch, when installed, runs as another contender (it is not a dependency).

Run:  cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench_epoch.py
"""

from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import common` from any working directory

import common  # noqa: E402  (sets one thread before numpy loads)
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.data import DataLoader, TensorDataset, load_image_folder  # noqa: E402
from minigrad.optim import SGD  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BATCH, LR = 256, 1.0


def load_train(tmp: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x (n, 784) float32 in [0, 1], y (n, 1) float32: 1 for threes, 0 for sevens)."""
    with tarfile.open(DATA / "mnist_sample.tgz") as tar:
        members = [m for m in tar.getmembers() if "/train/" in m.name or m.isdir()]
        tar.extractall(tmp, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    images, labels, classes = load_image_folder(tmp / "mnist_sample" / "train")
    assert classes == ["3", "7"], classes
    x = (images.numpy().astype(np.float32) / 255).reshape(len(images), 28 * 28)
    y = (labels.numpy() == 0).astype(np.float32).reshape(-1, 1)
    return x, y


def numpy_epoch_factory(x: np.ndarray, y: np.ndarray):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((784, 1)) * 0.01).astype(np.float32)
    b = np.zeros(1, dtype=np.float32)

    def epoch():
        nonlocal w, b
        for i in range(0, len(x), BATCH):
            xb, yb = x[i : i + BATCH], y[i : i + BATCH]
            s = 1 / (1 + np.exp(-(xb @ w + b)))
            is_three = yb == 1
            loss = np.where(is_three, 1 - s, s).mean()  # noqa: F841  (computed, as the loop does)
            dz = np.where(is_three, -1.0, 1.0).astype(np.float32) * (s * (1 - s)) / len(xb)
            w = w - LR * (xb.T @ dz)
            b = b - LR * dz.sum(0)

    return epoch


def minigrad_epoch_factory(x: np.ndarray, y: np.ndarray, bare: bool):
    dl = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=BATCH, shuffle=False)
    try:
        if bare:
            raise ImportError
        from minigrad.nn import Linear
        from minigrad.nn.functional import mnist_loss

        mg.manual_seed(0)
        model = Linear(784, 1)
        params = list(model.parameters())
    except ImportError:
        gen = mg.Generator(0)
        w = (mg.randn(784, 1, generator=gen) * 0.01).detach().requires_grad_()
        b = mg.zeros(1, requires_grad=True)
        params = [w, b]

        def model(xb):
            return xb @ w + b

        def mnist_loss(preds, targets):
            p = preds.sigmoid()
            return mg.where(targets == 1, 1 - p, p).mean()

    opt = SGD(params, lr=LR)

    def epoch():
        for xb, yb in dl:
            loss = mnist_loss(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()

    return epoch


def torch_epoch_factory(torch, x: np.ndarray, y: np.ndarray):
    """The same loop in PyTorch, batches sliced from tensors (its DataLoader collates item by item)."""
    tx, ty = torch.tensor(x), torch.tensor(y)
    torch.manual_seed(0)
    model = torch.nn.Linear(784, 1)
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def epoch():
        for i in range(0, len(tx), BATCH):
            xb, yb = tx[i : i + BATCH], ty[i : i + BATCH]
            s = model(xb).sigmoid()
            loss = torch.where(yb == 1, 1 - s, s).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()

    return epoch


def main() -> None:
    torch = common.optional_torch()
    with tempfile.TemporaryDirectory() as tmp:
        x, y = load_train(Path(tmp))
    print(f"{len(x)} training images, {int(y.sum())} threes; batches of {BATCH} ({-(-len(x) // BATCH)} per epoch)")
    contenders = {
        "numpy (by hand)": numpy_epoch_factory(x, y),
        "minigrad (nn.Linear)": minigrad_epoch_factory(x, y, bare=False),
        "minigrad (bare tensors)": minigrad_epoch_factory(x, y, bare=True),
    }
    if torch:
        contenders[f"pytorch {torch.__version__}"] = torch_epoch_factory(torch, x, y)
    medians = common.interleaved_medians(contenders, rounds=15, number=3)
    common.report(
        "one epoch of Linear(784, 1) + mnist_loss + SGD, batch 256",
        medians,
        baseline="numpy (by hand)",
        unit=1e-3,
        unit_name="ms",
    )


if __name__ == "__main__":
    main()
