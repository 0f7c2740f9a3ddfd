"""What every example shares: its command line and loading MNIST_SAMPLE as tensors."""

from __future__ import annotations

import argparse
from pathlib import Path

import minigrad as mg
from minigrad.data import URLs, load_image_folder, untar_data


def parser(description: str, *, data: bool = True) -> argparse.ArgumentParser:
    """An argument parser with the options the examples share: --data (if `data`), --seed, --device."""
    p = argparse.ArgumentParser(description=description)
    if data:
        p.add_argument("--data", metavar="PATH",
                       help="MNIST_SAMPLE as an archive (mnist_sample.tgz), its extracted folder, or a folder "
                            "holding either (default: untar_data(URLs.MNIST_SAMPLE), downloading on first use)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    return p


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
