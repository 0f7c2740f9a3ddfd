"""fastbook chapter 4's baseline: classify 3s and 7s by their distance to the ideal (mean) 3 and 7.

On MNIST_SAMPLE it prints 0.9168 for the valid 3s, 0.9854 for the 7s, 0.9511 on average.

    python examples/pixel_similarity.py --data ../shared/data/mnist_sample.tgz --save-dir out/
"""

from __future__ import annotations

import cli
import mnist_data

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.data import get_image_files, load_image, save_image


def mnist_distance(a: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    """Mean absolute difference over the last two axes (the pixels), broadcasting over the rest."""
    return (a - b).abs().mean((-1, -2))


def main() -> None:
    p = cli.parser(__doc__.splitlines()[0], data=mnist_data.sample_source, data_help=mnist_data.SAMPLE_HELP)
    p.add_argument(
        "--save-dir", metavar="DIR", type=cli.output_folder, help="write the ideal 3 and 7 there as PNG images"
    )
    args = p.parse_args()
    mg.manual_seed(args.seed)
    root = mnist_data.mnist_sample(args.data)

    threes, sevens = mnist_data.threes_and_sevens(root, "train", args.device)
    print(f"training images: {len(threes)} threes, {len(sevens)} sevens, each {tuple(threes.shape[1:])}")
    mean3, mean7 = threes.mean(0), sevens.mean(0)  # the ideal 3 and 7
    if args.save_dir:
        for name, ideal in (("ideal_3.png", mean3), ("ideal_7.png", mean7)):
            save_image(ideal.cpu(), args.save_dir / name)
        print(f"saved the ideal 3 and 7 to {args.save_dir}")

    a_3 = load_image(get_image_files(root / "train" / "3")[1]).to(args.device).float() / 255  # the chapter's threes[1]
    print(
        f"one 3 against the ideal 3: L1 {(a_3 - mean3).abs().mean().item():.4f}, "
        f"RMSE {((a_3 - mean3) ** 2).mean().sqrt().item():.4f}"
    )
    print(
        f"one 3 against the ideal 7: L1 {F.l1_loss(a_3, mean7).item():.4f}, "
        f"RMSE {F.mse_loss(a_3, mean7).sqrt().item():.4f}"
    )

    valid3, valid7 = mnist_data.threes_and_sevens(root, "valid", args.device)

    def is_3(x: mg.Tensor) -> mg.Tensor:
        return mnist_distance(x, mean3) < mnist_distance(x, mean7)

    accuracy_3s = is_3(valid3).float().mean().item()
    accuracy_7s = (1 - is_3(valid7).float()).mean().item()
    print(
        f"validation accuracy: 3s {accuracy_3s:.4f}, 7s {accuracy_7s:.4f}, "
        f"average {(accuracy_3s + accuracy_7s) / 2:.4f}"
    )


if __name__ == "__main__":
    cli.run(main)
