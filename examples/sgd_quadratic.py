"""fastbook chapter 4's roller coaster: fit a quadratic to noisy speeds by SGD, step by step.

Prints the loss at each step, falling; --save-dir draws the data and the fit to a PNG.

    python examples/sgd_quadratic.py --steps 10 --save-dir out/
"""

from __future__ import annotations

from pathlib import Path

import cli
from PIL import Image, ImageDraw

import minigrad as mg


def f(t: mg.Tensor, params: mg.Tensor) -> mg.Tensor:
    """The quadratic a*t^2 + b*t + c."""
    a, b, c = params
    return a * (t**2) + (b * t) + c


def mse(preds: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    return ((preds - targets) ** 2).mean()


def apply_step(time: mg.Tensor, speed: mg.Tensor, params: mg.Tensor, lr: float) -> tuple[mg.Tensor, float]:
    """One SGD step: predict, measure the loss, compute gradients, step the weights."""
    preds = f(time, params)
    loss = mse(preds, speed)
    loss.backward()
    with mg.no_grad():
        params.data = params.data - lr * params.grad.data
    params.grad = None
    return preds, loss.item()


def draw(time, speed, preds, path: Path, size=(480, 320), margin=30) -> None:
    """Speeds as dots and the fitted curve as a line, written as a PNG."""
    t, s, p = time.numpy(), speed.numpy(), preds.detach().numpy()
    lo, hi = min(s.min(), p.min()), max(s.max(), p.max())
    w, h = size

    def xy(ti, vi):
        return (
            margin + (ti - t.min()) / (t.max() - t.min()) * (w - 2 * margin),
            h - margin - (vi - lo) / (hi - lo) * (h - 2 * margin),
        )

    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    d.line([(margin, h - margin), (w - margin, h - margin)], fill="gray")
    d.line([(margin, margin), (margin, h - margin)], fill="gray")
    d.line([xy(ti, vi) for ti, vi in zip(t, p)], fill="red", width=2)
    for ti, vi in zip(t, s):
        x, y = xy(ti, vi)
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill="blue")
    d.text((margin + 5, 5), "speed (blue) and the fitted quadratic (red)", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    img.save(tmp, format="PNG")
    tmp.replace(path)


def main() -> None:
    p = cli.parser(__doc__.splitlines()[0])  # no --data: the data is made up, as in the chapter
    p.add_argument("--steps", type=cli.non_negative_int, default=10, help="SGD steps (default: 10)")
    p.add_argument("--lr", type=cli.positive_float, default=1e-5, help="learning rate (default: 1e-5)")
    p.add_argument(
        "--save-dir", metavar="DIR", type=cli.output_folder, help="draw the data and the fit to DIR/quadratic_fit.png"
    )
    args = p.parse_args()
    gen = mg.Generator(args.seed)

    time = mg.arange(0, 20, device=args.device).float()
    speed = mg.randn(20, generator=gen, device=args.device) * 3 + 0.75 * (time - 9.5) ** 2 + 1
    params = mg.randn(3, generator=gen, device=args.device).requires_grad_()

    for step in range(args.steps):
        preds, loss = apply_step(time, speed, params, args.lr)
        print(f"step {step:3d}  loss {loss:10.4f}")
    if args.save_dir:
        path = args.save_dir / "quadratic_fit.png"
        draw(time, speed, f(time, params), path)
        print(f"saved the plot to {path}")


if __name__ == "__main__":
    cli.run(main)
