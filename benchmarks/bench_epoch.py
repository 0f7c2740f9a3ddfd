"""One training epoch of the chapter's linear model on MNIST_SAMPLE: minigrad against hand-written numpy.

The model is ``Linear(784, 1)`` with ``mnist_loss``, trained by SGD at lr 1.0 on batches
of 256 (not shuffled) over the 12,396 training images (pixels / 255, float32, flattened
to 784). minigrad runs the plain loop through ``DataLoader`` and ``SGD``::

    for xb, yb in dl:
        loss = mnist_loss(model(xb), yb); loss.backward(); opt.step(); opt.zero_grad()

numpy runs the same arithmetic with hand-derived gradients on contiguous slices. A
third row, minigrad with the model written from bare tensors (``xb @ w + b``), separates
the cost of ``nn.Linear`` from the engine's; "jit" rows run each batch's step captured by
``minigrad.jit``. A second table does the same for the chapter's simple_net
(Linear(784, 30), ReLU, Linear(30, 1), SGD at lr 0.1).

PyTorch, when installed, runs as another contender (it is not a dependency).

The data is MNIST_SAMPLE: ``../shared/data/mnist_sample.tgz`` beside the repository when it is
there, else ``untar_data(URLs.MNIST_SAMPLE)`` (a copy in $MINIGRAD_DATA, the cache, or a download).

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_epoch.py
"""

from __future__ import annotations

import timing  # first: it sets one thread before numpy loads

# isort: split
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.data import DataLoader, TensorDataset, URLs, load_image_folder, untar_data
from minigrad.nn import Linear, ReLU, Sequential
from minigrad.nn.functional import mnist_loss
from minigrad.optim import SGD

BESIDE_REPO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist_sample.tgz"
BATCH, LR, NET_LR, HIDDEN = 256, 1.0, 0.1, 30


def load_train() -> tuple[np.ndarray, np.ndarray]:
    """(x (n, 784) float32 in [0, 1], y (n, 1) float32: 1 for threes, 0 for sevens)."""
    root = untar_data(BESIDE_REPO if BESIDE_REPO.is_file() else URLs.MNIST_SAMPLE)
    images, labels, classes = load_image_folder(root / "train")
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


def minigrad_epoch_factory(x: np.ndarray, y: np.ndarray, bare: bool, jit: bool = False, hidden: int = 0):
    """The loop through DataLoader and SGD, on nn.Linear and F.mnist_loss, or (`bare`) on tensors
    w and b with the chapter's own mnist_loss; with `jit`, the step captured by minigrad.jit; with
    `hidden`, simple_net with that many hidden units."""
    dl = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=BATCH, shuffle=False)
    if bare:
        gen = mg.Generator(0)
        w = (mg.randn(784, 1, generator=gen) * 0.01).detach().requires_grad_()
        b = mg.zeros(1, requires_grad=True)
        params = [w, b]

        def model(xb):
            return xb @ w + b

        def loss_func(preds, targets):
            p = preds.sigmoid()
            return mg.where(targets == 1, 1 - p, p).mean()

    else:
        mg.manual_seed(0)
        model = Sequential(Linear(784, hidden), ReLU(), Linear(hidden, 1)) if hidden else Linear(784, 1)
        params = list(model.parameters())
        loss_func = mnist_loss
    opt = SGD(params, lr=NET_LR if hidden else LR)

    def step(xb, yb):
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()

    run = mg.jit(step) if jit else step

    def epoch():
        for xb, yb in dl:
            run(xb, yb)

    return epoch


def numpy_net_epoch_factory(x: np.ndarray, y: np.ndarray, hidden: int):
    """simple_net by hand: forward, the hand-derived backward, and the SGD update, per batch."""
    rng = np.random.default_rng(0)
    w1 = (rng.uniform(-1, 1, (hidden, 784)) / 28).astype(np.float32)
    b1 = np.zeros(hidden, dtype=np.float32)
    w2 = (rng.uniform(-1, 1, (1, hidden)) / np.sqrt(hidden)).astype(np.float32)
    b2 = np.zeros(1, dtype=np.float32)

    def epoch():
        nonlocal w1, b1, w2, b2
        for i in range(0, len(x), BATCH):
            xb, yb = x[i : i + BATCH], y[i : i + BATCH]
            z1 = xb @ w1.T + b1
            h = np.maximum(z1, 0)
            s = 1 / (1 + np.exp(-(h @ w2.T + b2)))
            is_three = yb == 1
            loss = np.where(is_three, 1 - s, s).mean()  # noqa: F841  (computed, as the loop does)
            dz = np.where(is_three, -1.0, 1.0).astype(np.float32) * (s * (1 - s)) / len(xb)
            dh = (dz @ w2) * (z1 > 0)
            w2 = w2 - NET_LR * (dz.T @ h)
            b2 = b2 - NET_LR * dz.sum(0)
            w1 = w1 - NET_LR * (dh.T @ xb)
            b1 = b1 - NET_LR * dh.sum(0)

    return epoch


def torch_epoch_factory(torch, x: np.ndarray, y: np.ndarray, hidden: int = 0):
    """The same loop in PyTorch, batches sliced from tensors (its DataLoader collates item by item);
    simple_net with `hidden` units when given."""
    tx, ty = torch.tensor(x), torch.tensor(y)
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 1)) if hidden else nn.Linear(784, 1)
    opt = torch.optim.SGD(model.parameters(), lr=NET_LR if hidden else LR)

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
    torch = timing.optional_torch()
    x, y = load_train()
    print(f"{len(x)} training images, {int(y.sum())} threes; batches of {BATCH} ({-(-len(x) // BATCH)} per epoch)")
    contenders = {
        "numpy (by hand)": numpy_epoch_factory(x, y),
        "minigrad (nn.Linear)": minigrad_epoch_factory(x, y, bare=False),
        "minigrad (bare tensors)": minigrad_epoch_factory(x, y, bare=True),
        "minigrad jit (nn.Linear)": minigrad_epoch_factory(x, y, bare=False, jit=True),
        "minigrad jit (bare tensors)": minigrad_epoch_factory(x, y, bare=True, jit=True),
    }
    if torch:
        contenders[f"pytorch {torch.__version__}"] = torch_epoch_factory(torch, x, y)
    medians = timing.interleaved_medians(contenders, rounds=15, number=3)
    timing.report(
        "one epoch of Linear(784, 1) + mnist_loss + SGD, batch 256",
        medians,
        baseline="numpy (by hand)",
        unit=1e-3,
        unit_name="ms",
    )
    contenders = {
        "numpy (by hand)": numpy_net_epoch_factory(x, y, HIDDEN),
        "minigrad": minigrad_epoch_factory(x, y, bare=False, hidden=HIDDEN),
        "minigrad jit": minigrad_epoch_factory(x, y, bare=False, jit=True, hidden=HIDDEN),
    }
    if torch:
        contenders[f"pytorch {torch.__version__}"] = torch_epoch_factory(torch, x, y, HIDDEN)
    medians = timing.interleaved_medians(contenders, rounds=15, number=3)
    timing.report(
        f"one epoch of simple_net (784-{HIDDEN}-1) + mnist_loss + SGD, batch 256",
        medians,
        baseline="numpy (by hand)",
        unit=1e-3,
        unit_name="ms",
    )


if __name__ == "__main__":
    main()
