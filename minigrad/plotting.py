"""Line plots saved as PNG images, drawn with pillow (no matplotlib): what ``Learner.lr_find`` shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["save_line_plot"]

_INK, _GRID, _LINE, _MARK = (0, 0, 0), (225, 225, 225), (31, 119, 180), (214, 39, 40)


def save_line_plot(
    path: str | Path,
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    mark: tuple[float, float] | None = None,
    title: str = "",
    size: tuple[int, int] = (640, 420),
) -> Path:
    """Draw ys against xs (a log-scale x axis if `log_x`), with axis labels, ticks and a red dot at
    `mark`; save it as a PNG at `path` and return the path."""
    points = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y) and (x > 0 or not log_x)]
    if len(points) < 2:
        raise ValueError(f"a line plot needs at least 2 finite points, got {len(points)}")
    fx = math.log10 if log_x else float
    x0, x1 = min(fx(x) for x, _ in points), max(fx(x) for x, _ in points)
    y0, y1 = min(y for _, y in points), max(y for _, y in points)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    width, height = size
    left, right, top, bottom = 72, 20, 34 if title else 16, 56
    font = ImageFont.load_default(13)

    def at(x: float, y: float) -> tuple[float, float]:
        u = left + (fx(x) - x0) / (x1 - x0) * (width - left - right)
        return u, top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    x_ticks = [10.0**k for k in range(math.ceil(x0), math.floor(x1) + 1)] if log_x else _nice_ticks(x0, x1)
    for x in x_ticks:
        u, _ = at(x, y0)
        d.line([(u, top), (u, height - bottom)], fill=_GRID)
        d.text(
            (u, height - bottom + 6),
            f"1e{round(math.log10(x))}" if log_x else f"{x:g}",
            fill=_INK,
            font=font,
            anchor="mt",
        )
    for y in _nice_ticks(y0, y1):
        _, v = at(10**x0 if log_x else x0, y)
        d.line([(left, v), (width - right, v)], fill=_GRID)
        d.text((left - 6, v), f"{y:.4g}", fill=_INK, font=font, anchor="rm")
    d.rectangle([left, top, width - right, height - bottom], outline=_INK)
    d.line([at(x, y) for x, y in points], fill=_LINE, width=2)
    if mark is not None:
        u, v = at(*mark)
        d.ellipse([u - 5, v - 5, u + 5, v + 5], fill=_MARK)
    d.text(((left + width - right) / 2, height - 8), xlabel, fill=_INK, font=font, anchor="mb")
    if title:
        d.text(((left + width - right) / 2, 8), title, fill=_INK, font=font, anchor="mt")
    label = Image.new("RGB", (int(d.textlength(ylabel, font=font)) + 4, 18), "white")
    ImageDraw.Draw(label).text((2, 2), ylabel, fill=_INK, font=font)
    label = label.rotate(90, expand=True)
    img.paste(label, (6, (top + height - bottom - label.height) // 2))
    path = Path(path)
    img.save(path, format="PNG")
    return path


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values (multiples of 1, 2 or 5 times a power of ten) in [low, high]."""
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]
