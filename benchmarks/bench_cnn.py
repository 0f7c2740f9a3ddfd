"""One training epoch of the MNIST CNN (examples/mnist_cnn.py's simple_cnn): minigrad against PyTorch CPU.

The net is the example's: five stride-2 conv + batch norm (+ ReLU) blocks of 16, 32, 64, 128 and 10
channels, trained by Adam (lr 1e-3) with cross-entropy on batches of 128 of full MNIST's 60,000
training digits (normalised, shuffled once, the same order for both). The layers come from
``minigrad.nn`` and, for PyTorch, from ``torch.nn``: the same code builds both nets. Each epoch's
time is split into forward (model and loss), backward, and the optimizer's step.

Times are medians of interleaved epochs on one thread, in CPU seconds (``time.process_time``: on a
shared machine, wall-clock time also counts the time other processes hold the CPU). Peak memory is
the peak resident set size (Linux's ``VmHWM``; ``ru_maxrss`` elsewhere) of a fresh process that
loads the data, builds the net and runs one epoch: after the imports, before the epoch, and during
the epoch alone (on Linux the peak is reset before it, so loading the data does not hide it; it
counts the data, held all along).

PyTorch, when installed, runs as the other contender (it is not a dependency).

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py [--images N] [--rounds R]
"""

from __future__ import annotations

import timing  # first: it sets one thread before numpy loads

# isort: split
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.data import DataLoader, TensorDataset, URLs, download_data, read_idx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from mnist_cnn import simple_cnn  # noqa: E402

BESIDE_REPO = ROOT.parent / "shared" / "data" / "mnist"
BATCH, LR, PHASES = 128, 1e-3, ("forward", "backward", "step")
CLOCK = time.process_time  # CPU time: the machine may be shared, and both contenders use one thread


def load_train(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` training digits, (n, 1, 28, 28) float32 normalised, and int64 labels, shuffled once.
    Read from ``../shared/data/mnist`` beside the repository, else ``download_data(URLs.MNIST_IDX)``."""
    folder = BESIDE_REPO if BESIDE_REPO.is_dir() else download_data(URLs.MNIST_IDX)
    x = read_idx(folder / "train-images-idx3-ubyte.gz").numpy()[:n].astype(np.float32) / 255
    y = read_idx(folder / "train-labels-idx1-ubyte.gz").numpy()[:n].astype(np.int64)
    x = (x - x.mean()) / x.std()
    order = np.random.default_rng(0).permutation(len(x))
    return np.ascontiguousarray(x[order].reshape(-1, 1, 28, 28)), y[order]


def minigrad_epoch_factory(x: np.ndarray, y: np.ndarray, phases: list[dict]):
    """One epoch through DataLoader, the net, cross_entropy and Adam; each call appends its phase times."""
    dl = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=BATCH)
    mg.manual_seed(0)
    model = simple_cnn().train()
    opt = mg.optim.Adam(model.parameters(), lr=LR)

    def epoch():
        phases.append(timed_epoch(dl, lambda xb, yb: mg.nn.functional.cross_entropy(model(xb), yb), opt))

    return epoch


def torch_epoch_factory(torch, x: np.ndarray, y: np.ndarray, phases: list[dict]):
    """The same epoch in PyTorch, batches sliced from tensors (its DataLoader collates item by item)."""
    tx, ty = torch.tensor(x), torch.tensor(y)
    torch.manual_seed(0)
    model = simple_cnn(nn=torch.nn).train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def epoch():
        batches = ((tx[i : i + BATCH], ty[i : i + BATCH]) for i in range(0, len(tx), BATCH))
        phases.append(timed_epoch(batches, lambda xb, yb: torch.nn.functional.cross_entropy(model(xb), yb), opt))

    return epoch


def timed_epoch(batches, loss_of, opt) -> dict[str, float]:
    """Train on every (xb, yb) batch; the CPU seconds spent in each phase (forward, backward, step)."""
    spent = dict.fromkeys(PHASES, 0.0)
    for xb, yb in batches:
        t0 = CLOCK()
        loss = loss_of(xb, yb)
        t1 = CLOCK()
        loss.backward()
        t2 = CLOCK()
        opt.step()
        opt.zero_grad()
        t3 = CLOCK()
        for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2)):
            spent[name] += dt
    return spent


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB. VmHWM where there is one: ru_maxrss
    of a process started by fork and exec counts the peak of the process that forked it."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Make the peak resident set size the current one (Linux; elsewhere nothing)."""
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")


def peak_memory_child(which: str, images: int) -> None:
    """In a fresh process: load, build, run one epoch; print the peak RSS (MiB) along the way."""
    torch = timing.optional_torch() if which == "pytorch" else None
    start = peak_rss_mib()
    x, y = load_train(images)
    epoch = torch_epoch_factory(torch, x, y, []) if torch else minigrad_epoch_factory(x, y, [])
    before = peak_rss_mib()
    reset_peak_rss()
    epoch()
    print(json.dumps({"start": start, "before": before, "after": peak_rss_mib()}))


def peak_memory(which: str, images: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--images", str(images), "--memory-of", which],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=60000, help="training digits per epoch (default: all 60,000)")
    p.add_argument("--rounds", type=int, default=3, help="timed epochs per contender (default: 3)")
    p.add_argument("--memory-of", choices=("minigrad", "pytorch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_of:
        return peak_memory_child(args.memory_of, args.images)
    torch = timing.optional_torch()
    x, y = load_train(args.images)
    print(f"{len(x)} training digits, batches of {BATCH} ({-(-len(x) // BATCH)} per epoch), one thread")
    phases: dict[str, list[dict]] = {"minigrad": []}
    contenders = {"minigrad": minigrad_epoch_factory(x, y, phases["minigrad"])}
    if torch:
        name = f"pytorch {torch.__version__}"
        phases[name] = []
        contenders[name] = torch_epoch_factory(torch, x, y, phases[name])
    medians = timing.interleaved_medians(contenders, rounds=args.rounds, clock=CLOCK)
    title = "one epoch of simple_cnn (width 16) + cross_entropy + Adam, batch 128 (CPU seconds)"
    timing.report(title, medians, "minigrad", 1, "s")
    print("median CPU seconds per epoch by phase:")
    for name, runs in phases.items():
        split = {ph: statistics.median(run[ph] for run in runs[1:]) for ph in PHASES}  # runs[0]: the warm-up
        print(f"  {name:<28} " + "  ".join(f"{ph} {t:6.2f}" for ph, t in split.items()))
    print("peak resident memory (MiB) of a process running one epoch: after the imports, before the epoch, during it:")
    for which, name in (("minigrad", "minigrad"), ("pytorch", next(iter(phases.keys() - {"minigrad"}), None))):
        if name is not None:
            m = peak_memory(which, args.images)
            print(f"  {name:<28} {m['start']:7.0f} {m['before']:7.0f} {m['after']:7.0f}")


if __name__ == "__main__":
    main()
