"""The examples' data: finding MNIST_SAMPLE and full MNIST for a --data argument, and loading them as tensors."""

from __future__ import annotations

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

SAMPLE_HELP = (
    "MNIST_SAMPLE as an archive (mnist_sample.tgz), its extracted folder, or a folder holding "
    "either (default: untar_data(URLs.MNIST_SAMPLE), downloading on first use)"
)
IDX_HELP = (
    "a folder holding full MNIST's four gzipped IDX files (train-images-idx3-ubyte.gz, ...), or one "
    "holding them in mnist/ (default: download_data(URLs.MNIST_IDX), downloading on first use)"
)
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


# ---- MNIST_SAMPLE: the 3s and 7s of chapter 4 ------------------------------------------------------------
def sample_source(path: Path) -> Path:
    """The MNIST_SAMPLE folder (holding train/ and valid/) or archive that `path` is or holds."""
    for folder in (path, path / "mnist_sample"):
        if (folder / "train").is_dir() and (folder / "valid").is_dir():
            return folder
    for archive in (path, path / "mnist_sample.tgz"):
        if archive.is_file():
            return archive
    raise ValueError("expected mnist_sample.tgz, its extracted folder, or a folder holding one")


def mnist_sample(source: Path | None) -> Path:
    """The extracted MNIST_SAMPLE folder for what ``sample_source`` found (None: download it).

    An archive is extracted by untar_data, whose cache knows which archive it extracted: another
    one, or the same one changed, is extracted again.
    """
    if source is None:
        return untar_data(URLs.MNIST_SAMPLE)
    return untar_data(source) if source.is_file() else source


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


def threes_and_sevens_loaders(source: Path | None, device: str, batch_size: int = 256) -> DataLoaders:
    """The chapter's ``dl`` and ``valid_dl`` over MNIST_SAMPLE (neither shuffled), as DataLoaders.

    The chapter builds its datasets as ``list(zip(train_x, train_y))``; a TensorDataset holds
    the same (x, y) pairs but is batched by slicing, without a Python loop per image.
    """
    root = mnist_sample(source)
    train = TensorDataset(*flat_threes_and_sevens(root, "train", device))
    valid = TensorDataset(*flat_threes_and_sevens(root, "valid", device))
    return DataLoaders(DataLoader(train, batch_size=batch_size), DataLoader(valid, batch_size=batch_size))


# ---- full MNIST: the four IDX files ---------------------------------------------------------------------
def idx_folder(path: Path) -> Path:
    """The folder holding full MNIST's four gzipped IDX files: `path`, or `path`/mnist."""
    names = [name for pair in MNIST_FILES.values() for name in pair]
    for folder in (path, path / "mnist"):
        if all((folder / name).is_file() for name in names):
            return folder
    raise ValueError(f"expected a folder holding {', '.join(names)} (or holding them in mnist/)")


def mnist_idx(folder: Path | None) -> Path:
    """The folder of the four IDX files: what ``idx_folder`` found, or (None) downloaded."""
    return download_data(URLs.MNIST_IDX) if folder is None else folder


def mnist_digits(folder: Path, split: str, device: str) -> tuple[mg.Tensor, mg.Tensor]:
    """Full MNIST's `split` ('train': 60,000, 'test': 10,000) as (n, 28*28) floats in [0, 1] and int64 labels."""
    images, labels = (read_idx(folder / name) for name in MNIST_FILES[split])
    x = images.to(device).float().view(-1, 28 * 28) / 255
    return x, labels.to(device).long()
