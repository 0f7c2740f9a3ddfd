"""A convolutional net on all ten digits of full MNIST, trained with fit_one_cycle: past 99% in 2 epochs.

fastbook's ``simple_cnn`` (chapter 13): blocks of a stride-2 convolution, batch norm and ReLU
halve the image each time, 28 -> 14 -> 7 -> 4 -> 2 -> 1, with twice the channels each block
(--width, 2 --width, ...; the book's net is --width 8), the last block giving the 10 class scores.
The pixels are scaled to [0, 1] and normalised by the training set's mean and std. A Learner trains
it with Adam and fastai's one-cycle schedule (lr up to --lr, momentum 0.95 -> 0.85 -> 0.95) on
shuffled batches of 128 (their order drawn from a Generator seeded with --seed), printing each
epoch's accuracy on the 10,000 test digits: 0.99 or more after 2 epochs with the defaults.

    python examples/mnist_cnn.py --data ../shared/data/mnist

``--lr-find PLOT`` first runs Learner.lr_find (which puts the weights back), prints its suggestion and
draws the loss against the learning rate in the PNG file PLOT (docs/images/lr_find.png comes from
``--lr-find docs/images/lr_find.png --epochs 0``).
"""

from __future__ import annotations

import time
from pathlib import Path

import cli
import mnist_data

import minigrad as mg
from minigrad import nn as mg_nn
from minigrad.data import DataLoaders, TensorDataset
from minigrad.learner import Learner
from minigrad.metrics import accuracy
from minigrad.nn.functional import cross_entropy
from minigrad.optim import Adam


def simple_cnn(width: int = 16, nn=mg_nn):
    """The net, built from `nn`'s layers: minigrad.nn, or torch.nn for the same net in PyTorch (the benchmark's)."""

    def conv(ni: int, nf: int, ks: int = 3, act: bool = True):
        layers = [nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks // 2), nn.BatchNorm2d(nf)]
        if act:
            layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    w = width
    return nn.Sequential(
        conv(1, w, ks=5),  # 14x14
        conv(w, 2 * w),  # 7x7
        conv(2 * w, 4 * w),  # 4x4
        conv(4 * w, 8 * w),  # 2x2
        conv(8 * w, 10, act=False),  # 1x1
        nn.Flatten(),
    )


def main() -> None:
    p = cli.parser(__doc__.splitlines()[0], data=mnist_data.idx_folder, data_help=mnist_data.IDX_HELP, jit=True)
    p.add_argument("--epochs", type=cli.non_negative_int, default=2, help="epochs, 0 for none (default: 2)")
    p.add_argument("--lr", type=cli.positive_float, default=1e-2, help="the one cycle's top lr (default: 0.01)")
    p.add_argument("--bs", type=cli.positive_int, default=128, help="batch size (default: 128)")
    p.add_argument("--width", type=cli.positive_int, default=16, help="channels of the first block (default: 16)")
    p.add_argument(
        "--limit", type=cli.positive_int, help="use only the first LIMIT training and test digits (default: all)"
    )
    p.add_argument("--lr-find", metavar="PLOT", type=Path, help="run lr_find first, drawing its plot in PLOT (a .png)")
    args = p.parse_args()

    start = time.perf_counter()
    folder = mnist_data.mnist_idx(args.data)
    train_x, train_y = mnist_data.mnist_digits(folder, "train", args.device)
    test_x, test_y = mnist_data.mnist_digits(folder, "test", args.device)
    if args.limit is not None:
        train_x, train_y, test_x, test_y = (t[: args.limit] for t in (train_x, train_y, test_x, test_y))
    mean, std = train_x.mean(), train_x.std(correction=0)
    print(
        f"{len(train_x)} training and {len(test_x)} test digits; training pixels mean {mean.item():.4f}, "
        f"std {std.item():.4f}"
    )
    train_x, test_x = ((x - mean) / std for x in (train_x, test_x))
    dls = DataLoaders.from_datasets(
        TensorDataset(train_x.view(-1, 1, 28, 28), train_y),
        TensorDataset(test_x.view(-1, 1, 28, 28), test_y),
        batch_size=args.bs,
        generator=mg.Generator(args.seed),
        valid_batch_size=1000,
    )
    mg.manual_seed(args.seed)
    model = simple_cnn(args.width).to(args.device)
    print(model)
    print(f"Adam, fit_one_cycle up to lr {args.lr:g}, batches of {args.bs}, {args.epochs} epochs")
    learn = Learner(dls, model, loss_func=cross_entropy, opt_func=Adam, lr=args.lr, metrics=accuracy, jit=args.jit)
    if args.lr_find is not None:
        print(f"lr_find: valley at lr {learn.lr_find(plot=args.lr_find):.2e}, plot in {args.lr_find}")
    learn.fit_one_cycle(args.epochs)
    cli.final_accuracy("mnist_cnn", cli.learner_accuracy(learn))
    times = learn.recorder.times
    if times:
        print(f"{sum(times) / len(times):.1f} s per epoch (training and validation)")
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    cli.run(main)
