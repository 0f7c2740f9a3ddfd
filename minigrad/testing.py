"""Hypothesis strategies for property-testing code built on minigrad.

    >>> from hypothesis import given
    >>> from minigrad.testing import check_grad, tensors
    >>> @given(tensors(elements=(0.1, 10)))          # log is smooth on (0, inf)
    ... def test_log_grad(x):
    ...     assert check_grad(lambda t: t.log(), x)

Values are always finite. Keep them off the points where a function is not
differentiable with ``avoid`` (``avoid=(0.0,)`` for abs and relu) and ``margin``,
and away from each other with ``distinct`` (no ties for max, min, maximum).
Needs hypothesis, a test extra: ``import minigrad`` never imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck
from .tensor import DType, Tensor, tensor

Shape = tuple[int, ...]
Elements = tuple[float, float] | st.SearchStrategy


def _allowed_intervals(low: float, high: float, avoid: Sequence[float], margin: float) -> list[tuple[float, float]]:
    """[low, high] without the open intervals (p - margin, p + margin) around each point p."""
    intervals = []
    start = low
    for p in sorted(avoid):
        if p - margin > start:
            intervals.append((start, min(p - margin, high)))
        start = max(start, p + margin)
    if start <= high:
        intervals.append((start, high))
    if not intervals:
        raise ValueError(f"no values left in [{low}, {high}] once {tuple(avoid)} +/- {margin} are avoided")
    return intervals


def _element_strategy(
    dtype: np.dtype, elements: Elements, avoid: Sequence[float], margin: float, distinct: float | None
) -> st.SearchStrategy:
    def away(v) -> bool:
        return all(abs(v - p) >= margin for p in avoid)

    if distinct is not None and (dtype.kind != "f" or isinstance(elements, st.SearchStrategy)):
        raise ValueError("distinct needs a float dtype and elements given as (min, max)")
    if isinstance(elements, st.SearchStrategy):
        return elements.filter(away) if avoid else elements
    low, high = elements
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        ints = st.integers(math.ceil(low), math.floor(high))
        return ints.filter(away) if avoid else ints
    intervals = _allowed_intervals(low, high, avoid, margin)  # raises when nothing is left
    if distinct is None:
        return st.one_of(*(st.floats(a, b) for a, b in intervals))
    grid = st.integers(0, math.floor((high - low) / distinct)).map(lambda k: low + k * distinct)
    return grid.filter(away) if avoid else grid  # different grid points are `distinct` apart


def arrays(
    shape: Shape | st.SearchStrategy | None = None,
    dtype: DType = "float64",
    elements: Elements = (-10.0, 10.0),
    *,
    avoid: Sequence[float] = (),
    margin: float = 0.1,
    distinct: float | None = None,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 4,
) -> st.SearchStrategy[np.ndarray]:
    """Strategy of host numpy arrays with finite values.

    shape: a fixed shape, a strategy of shapes, or None for shapes drawn with
        `min_dims`..`max_dims` axes of `min_side`..`max_side` elements (0 allows empty arrays).
    elements: ``(min, max)`` bounds, or a strategy of Python numbers.
    avoid, margin: keep every value at least `margin` from each point in `avoid`, where the
        function under test is not differentiable (0 for abs and relu, clamp bounds, ...).
    distinct: when given (float dtypes), every two values are at least this far apart, up to
        rounding to `dtype` (no ties): they are drawn from a grid with that spacing.
    """
    dtype = np.dtype(dtype)
    if shape is None:
        shape = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    draw_dtype = np.float64 if dtype.kind == "f" else dtype  # drawn exactly, then rounded to dtype
    strategy = hnp.arrays(
        draw_dtype,
        shape,
        elements=_element_strategy(dtype, elements, avoid, margin, distinct),
        unique=distinct is not None,
    )
    return strategy.map(lambda a: a.astype(dtype))


def tensors(
    shape: Shape | st.SearchStrategy | None = None,
    dtype: DType = "float64",
    elements: Elements = (-10.0, 10.0),
    *,
    requires_grad: bool = False,
    device: str = "cpu",
    **options: Any,
) -> st.SearchStrategy[Tensor]:
    """Strategy of leaf tensors with finite values: :func:`arrays` (whose `options` it takes:
    `avoid`, `margin`, `distinct`, `min_dims`, `max_dims`, `min_side`, `max_side`) made into
    tensors with `requires_grad` on `device`, as :func:`minigrad.tensor` does."""
    return arrays(shape, dtype, elements, **options).map(
        lambda a: tensor(a, device=device, requires_grad=requires_grad)
    )


def broadcastable_shapes(
    n: int = 2, *, min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Strategy of `n` shapes that broadcast together (size-1 and missing axes included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda b: b.input_shapes)


def axes(
    ndim: int, *, allow_none: bool = True, allow_tuple: bool = True, allow_negative: bool = True
) -> st.SearchStrategy[int | tuple[int, ...] | None]:
    """Strategy of valid `axis` arguments for a tensor of rank `ndim`, as numpy takes them.

    An int, a tuple of distinct axes (possibly empty) or None; negative axes count from the end.
    """
    if ndim < 0:
        raise ValueError(f"ndim must be non-negative, got {ndim}")

    def signed(a: int) -> st.SearchStrategy[int]:
        return st.sampled_from([a, a - ndim]) if allow_negative else st.just(a)

    choices: list[st.SearchStrategy[Any]] = []
    if allow_none:
        choices.append(st.none())
    if ndim > 0:
        choices.append(st.integers(0, ndim - 1).flatmap(signed))
    if allow_tuple:
        subsets = st.lists(st.sampled_from(range(ndim)), unique=True, max_size=ndim) if ndim else st.just([])
        choices.append(subsets.flatmap(lambda axs: st.tuples(*(signed(a) for a in axs))))
    if not choices:
        raise ValueError(f"no valid axis for ndim={ndim} without None or tuples")
    return st.one_of(*choices)


def check_grad(
    fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> bool:
    """True when fn's gradients match float64 central differences; raises GradcheckError otherwise."""
    return gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
