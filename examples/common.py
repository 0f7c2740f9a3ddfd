"""What every example shares: its command line, finding the data, and loading MNIST as tensors."""

from __future__ import annotations

import argparse
from pathlib import Path

import minigrad as mg
from minigrad.data import (
    DataLoader,
    DataLoaders,
    TensorDataset,
    URLs,
    download_data,
    load_image_folder,
    read_idx,
    untar_data,
)

MNIST_SAMPLE_HELP = (
    "MNIST_SAMPLE as an archive (mnist_sample.tgz), its extracted folder, or a folder holding "
    "either (default: untar_data(URLs.MNIST_SAMPLE), downloading on first use)"
)


def parser(
    description: str, *, data: bool = True, data_help: str = MNIST_SAMPLE_HELP, seed: int = 42
) -> argparse.ArgumentParser:
    """An argument parser with the options the examples share: --data (if `data`), --seed, --device."""
    p = argparse.ArgumentParser(description=description)
    if data:
        p.add_argument("--data", metavar="PATH", help=data_help)
    p.add_argument("--seed", type=int, default=seed, help=f"random seed (default: {seed})")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    return p


def device(name: str) -> str:
    """A --device value that can be used here, or the reason it can't, as argparse reports it."""
    try:
        kind, _ = mg.backend.parse_device(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if kind == "cuda" and not mg.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: no CUDA GPU with cupy here ({mg.backend.CUDA_EXTRA_HINT})")
    return name


def mnist_sample(data: str | None) -> Path:
    """The extracted MNIST_SAMPLE folder (holding train/ and valid/) for a --data argument."""
    if data is None:
        return untar_data(URLs.MNIST_SAMPLE)
    path = Path(data).expanduser()
    for candidate in (path, path / "mnist_sample"):
        if (candidate / "train").is_dir() and (candidate / "valid").is_dir():
            return candidate
    for archive in (path, path / "mnist_sample.tgz"):
        if archive.is_file():
            return untar_data(archive)
    raise SystemExit(f"--data {data}: expected mnist_sample.tgz, its extracted folder, or a folder holding one")


def threes_and_sevens(root: Path, split: str, device: str) -> tuple[mg.Tensor, mg.Tensor]:
    """The 3s and the 7s of `split` ('train' or 'valid') as float tensors in [0, 1], (n, 28, 28)."""
    images, labels, classes = load_image_folder(root / split, classes=["3", "7"])
    pixels = images.to(device).float() / 255
    labels = labels.to(device)
    return pixels[labels == 0], pixels[labels == 1]


def flat_threes_and_sevens(root: Path, split: str, device: str) -> tuple[mg.Tensor, mg.Tensor]:
    """The chapter's x and y for `split`: x the 3s then the 7s, flattened to (n, 28*28) floats in [0, 1];
    y of shape (n, 1), 1 for a 3 and 0 for a 7 (int64, as the chapter's ``tensor([1]*... + [0]*...)``)."""
    threes, sevens = threes_and_sevens(root, split, device)
    x = mg.cat([threes, sevens]).view(-1, 28 * 28)
    y = mg.tensor([1] * len(threes) + [0] * len(sevens)).unsqueeze(1).to(device)
    return x, y


def threes_and_sevens_loaders(data: str | None, device: str, batch_size: int = 256) -> DataLoaders:
    """The chapter's ``dl`` and ``valid_dl`` over MNIST_SAMPLE (neither shuffled), as DataLoaders.

    The chapter builds its datasets as ``list(zip(train_x, train_y))``; a TensorDataset holds
    the same (x, y) pairs but is batched by slicing, without a Python loop per image.
    """
    root = mnist_sample(data)
    train = TensorDataset(*flat_threes_and_sevens(root, "train", device))
    valid = TensorDataset(*flat_threes_and_sevens(root, "valid", device))
    return DataLoaders(DataLoader(train, batch_size=batch_size), DataLoader(valid, batch_size=batch_size))


MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def mnist_idx(data: str | None) -> Path:
    """The folder holding full MNIST's four gzipped IDX files, for a --data argument."""
    if data is None:
        return download_data(URLs.MNIST_IDX)
    path = Path(data).expanduser()
    names = [name for pair in MNIST_FILES.values() for name in pair]
    for candidate in (path, path / "mnist"):
        if all((candidate / name).is_file() for name in names):
            return candidate
    raise SystemExit(f"--data {data}: expected a folder holding {', '.join(names)}")


def mnist_digits(folder: Path, split: str, device: str) -> tuple[mg.Tensor, mg.Tensor]:
    """Full MNIST's `split` ('train': 60,000, 'test': 10,000) as (n, 28*28) floats in [0, 1] and int64 labels."""
    images, labels = (read_idx(folder / name) for name in MNIST_FILES[split])
    x = images.to(device).float().view(-1, 28 * 28) / 255
    return x, labels.to(device).long()


def final_accuracy(name: str, value: float) -> None:
    """The last line every training example prints, the one its tests read."""
    print(f"{name}: final validation accuracy {value:.4f}")
