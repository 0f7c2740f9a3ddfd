"""einsum: sums of products named by subscripts, as torch.einsum.

The gradient for each operand is another einsum: of the output's gradient with the other
operands, giving that operand's subscripts. Two cases need a step more: a letter only that
operand has (summed away) gets the gradient broadcast along it, and a letter repeated in it
(a diagonal, as in 'ii->i') gets the gradient put back on that diagonal.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..backend import array_module
from ..tensor import Tensor, TensorLike, record
from .operands import as_tensor, same_device
from .registry import register

__all__ = ["einsum"]

_LETTERS = string.ascii_letters


def _parse(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output, with '...' spelled out as unused letters
    (right-aligned, as broadcasting) and numpy's implicit output when there is no '->'."""
    eq = equation.replace(" ", "")
    bad = set(eq.replace("...", "").replace("->", "")) - set(_LETTERS + ",")
    if bad or eq.count("->") > 1:
        raise ValueError(f"einsum: {equation!r} is not an equation of letters, ',', '...' and one '->'")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operand(s), got {len(shapes)}")
    widths = []
    for written, shape in zip(inputs, shapes):
        width = len(shape) - len(written.replace("...", ""))
        if width < 0 or (width and "..." not in written):
            raise ValueError(f"einsum: subscripts {written!r} don't fit an operand of shape {shape}")
        widths.append(width)
    free = [c for c in _LETTERS if c not in eq]
    ellipsis = "".join(free[: max(widths, default=0)])
    subs = [s.replace("...", ellipsis[len(ellipsis) - w :]) for s, w in zip(inputs, widths)]
    if arrow:
        out = rhs.replace("...", ellipsis)
    else:
        counts = Counter("".join(s.replace("...", "") for s in inputs))
        out = ellipsis + "".join(sorted(c for c, k in counts.items() if k == 1))
    if len(set(out)) != len(out) or not set(out) <= set("".join(subs)):
        raise ValueError(f"einsum: the output of {equation!r} repeats a letter or names one no operand has")
    return subs, out


def _grad(i: int, subs: list[str], out: str, shape: tuple[int, ...], xp: Any) -> Callable:
    """The gradient formula for operand i."""
    mine = subs[i]
    letters = "".join(dict.fromkeys(mine))  # each letter once, in order
    others = [s for j, s in enumerate(subs) if j != i]
    reached = set(out).union(*others)
    kept = "".join(c for c in letters if c in reached)
    equation = ",".join([out, *others]) + "->" + kept
    size = {c: shape[mine.index(c)] for c in letters}
    summed_away = tuple(size[c] if c in kept else 1 for c in letters) if kept != letters else None
    diagonal = None
    if letters != mine:  # the gradient lies on the diagonal of the repeated letters
        n = len(letters)
        diagonal = tuple(
            xp.arange(size[c]).reshape(tuple(size[c] if k == letters.index(c) else 1 for k in range(n))) for c in mine
        )

    def formula(ops, g, out, *xs):
        grad = ops.einsum(equation, g, *(x for j, x in enumerate(xs) if j != i))
        if summed_away is not None:
            grad = ops.broadcast_to(grad.reshape(summed_away), tuple(size[c] for c in letters))
        return grad if diagonal is None else ops.add_at(grad, shape, diagonal)

    return formula


def einsum(equation: str, *operands: TensorLike | Sequence[TensorLike]) -> Tensor:
    """The sum of products of `operands`' elements named by `equation`, as torch.einsum:
    ``einsum('ij,jk->ik', a, b)`` is a @ b; '...' stands for broadcast leading dims; without
    '->' the output has the letters used once, in alphabetical order."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [as_tensor(t) for t in operands]
    if not ts:
        raise ValueError("einsum needs at least one operand")
    same_device("einsum", ts)
    subs, out = _parse(equation, [t.shape for t in ts])
    canonical = ",".join(subs) + "->" + out
    arrays = tuple(t.array for t in ts)
    xp = array_module(arrays[0])
    try:
        array = xp.einsum(canonical, *arrays)
    except ValueError as e:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ValueError(f"einsum: {equation!r} doesn't fit operands of shapes {shapes}: {e}") from None
    grads = tuple(_grad(i, subs, out, t.shape, xp) for i, t in enumerate(ts))
    return record("einsum", array, tuple(ts), arrays, grads)


register(einsum)
