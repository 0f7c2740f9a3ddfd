"""In-place ops, with PyTorch's rules: ``t.add_(x)``, ``t += x``, ``t[idx] = v``, ``t.zero_()``, ...

Each writes into the tensor's own memory and returns the tensor.

* When nothing needs a gradient (under ``no_grad()``, or no tensor involved requires grad)
  it only changes the values, in place: ``with no_grad(): w -= lr * w.grad`` updates the
  model's weight itself.
* Otherwise it is recorded. On a leaf that requires grad that is an error, as in PyTorch
  (its ``.grad`` would belong to values that no longer exist); on a view of a tensor that
  requires grad too (PyTorch rewrites the base's history; minigrad asks you to ``clone()``).
  On any other tensor the op runs out of place on a copy of the old value, the result is
  written into the tensor, and the tensor takes over the op's node: gradients flow through
  the copy to the tensor's earlier history.
* Every write bumps the version of the memory written (:mod:`minigrad.versions`): a backward
  that needs values overwritten since is an error naming the op, never a wrong gradient.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import versions
from ..backend import array_module, is_host, to_device
from ..random import Generator, default_generator
from ..tensor import Tensor, TensorLike, grad_mode, make, next_seq, record
from .conversion import astype
from .elementwise import add, clamp, div, mul, sub
from .indexing import _frozen, _index, _ints_first, check_bounds
from .operands import as_tensor, operand
from .registry import register
from .shape import broadcast_to

__all__: list[str] = []  # methods only: t.add_(x), t += x, t[i] = v, ...


def _needs_graph(t: Tensor, others: tuple) -> bool:
    if not (grad_mode.all_on or grad_mode.here.enabled):
        return False
    return t.requires_grad or any(o.__class__ is Tensor and o.requires_grad for o in others)


def _inplace(
    name: str, t: Tensor, others: tuple, write: Callable[[Any], Any], op: Callable[[Tensor], Tensor]
) -> Tensor:
    """Run in-place op `name` on `t`: ``write(t.array)`` changes the values in place when no
    gradient is needed; otherwise ``op(old)``, the op out of place on a copy of the old
    value, is recorded and written into `t`, which takes over its node."""
    if not _needs_graph(t, others):
        _write(name, t, others, write)
        return t
    if t.is_leaf and t.requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad is being used in an in-place operation "
            "(wrap the update in `with minigrad.no_grad():`, or work on a clone())"
        )
    if t.requires_grad and t.array.base is not None:
        raise RuntimeError(
            f"{name}: an in-place operation on a view of a tensor that requires grad is not supported; "
            "clone() the view first, or modify the tensor itself (t[index] = value)"
        )
    old = make(t.array.copy(), t._node)
    if t._node is not None:
        old._seq = t._seq  # it stands where t stood in the graph
    new = op(old)
    if new.shape != t.shape or not np.can_cast(new.dtype, t.dtype, "same_kind"):
        raise _write_error(name, t, others, ValueError(f"{name}: can't write the result into the tensor"))
    _write(name, t, (new,), lambda a: _assign(a, new.array))
    t._node = new._node
    t._requires_grad = new._requires_grad
    if new._node is not None:
        t._seq = next_seq()  # after the write, so the write is not "since" its own node
    return t


def _write(name: str, t: Tensor, others: tuple, write: Callable[[Any], Any]) -> None:
    """Write into t's array, explaining the failures minigrad can tell apart, and bump its version."""
    try:
        write(t.array)
    except (ValueError, TypeError) as e:
        raise _write_error(name, t, others, e) from None
    versions.written(t.array)


def _write_error(name: str, t: Tensor, others: tuple, error: Exception) -> Exception:
    shapes = [tuple(getattr(o, "shape", ())) for o in others]
    try:
        full = np.broadcast_shapes(t.shape, *shapes)
    except ValueError:
        full = None
    if full is not None and full != t.shape:
        return RuntimeError(f"{name}: output with shape {t.shape} doesn't match the broadcast shape {full}")
    for o in others:
        result = np.result_type(t.dtype, getattr(o, "dtype", o))
        if not np.can_cast(result, t.dtype, "same_kind"):
            return RuntimeError(f"{name}: result type {result} can't be cast to the desired output type {t.dtype}")
    flags = getattr(t.array, "flags", None)
    if flags is not None and not flags.writeable:
        return ValueError(f"{name}: this tensor's memory is read-only (it shares an array that is): clone() it first")
    return error


def _assign(array: Any, values: Any) -> None:
    array[...] = values


def _arithmetic(name: str, t: Tensor, other: TensorLike, alpha: float, op: Callable, write: Callable) -> Tensor:
    x, xd = operand(other)
    if alpha != 1:
        x, xd = mul(x, alpha), xd * alpha
    return _inplace(name, t, (x,), lambda a: write(a, xd), lambda old: op(old, x))


def add_(t: Tensor, other: TensorLike, *, alpha: float = 1) -> Tensor:
    """In place: t + alpha * other (``t += other``); returns t."""
    return _arithmetic("add_", t, other, alpha, add, operator.iadd)


def sub_(t: Tensor, other: TensorLike, *, alpha: float = 1) -> Tensor:
    """In place: t - alpha * other (``t -= other``); returns t."""
    return _arithmetic("sub_", t, other, alpha, sub, operator.isub)


def mul_(t: Tensor, other: TensorLike) -> Tensor:
    """In place: t * other (``t *= other``); returns t."""
    return _arithmetic("mul_", t, other, 1, mul, operator.imul)


def div_(t: Tensor, other: TensorLike) -> Tensor:
    """In place: t / other (``t /= other``); returns t (a float tensor: integers can't hold the result)."""
    return _arithmetic("div_", t, other, 1, div, operator.itruediv)


register(add_, "add_", "__iadd__", export=False)
register(sub_, "sub_", "__isub__", export=False)
register(mul_, "mul_", "__imul__", export=False)
register(div_, "div_", "__itruediv__", export=False)


def clamp_(t: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """In place: limit the values to [min, max]; returns the tensor."""
    if min is None and max is None:
        raise ValueError("clamp_ needs at least one of min and max")
    return _inplace(
        "clamp_", t, (), lambda a: array_module(a).clip(a, min, max, out=a), lambda old: clamp(old, min, max)
    )


register(clamp_, "clamp_", "clip_", export=False)


# ---- replacing the values ------------------------------------------------------------------------
def copy_(t: Tensor, src: TensorLike) -> Tensor:
    """In place: copy `src` (broadcast, cast, moved from any device) into this tensor; returns it."""
    src = as_tensor(src)
    values = to_device(src.array, t.device) if src.device != t.device else src.array
    return _inplace(
        "copy_",
        t,
        (src,),
        lambda a: _assign(a, values),
        lambda old: broadcast_to(astype(src.to(t.device), t.dtype), t.shape),
    )


register(copy_, "copy_", export=False)


def fill_(t: Tensor, value: TensorLike) -> Tensor:
    """In place: set every element to `value` (a number or a one-element tensor); returns the tensor."""
    v = as_tensor(value)
    if v.array.size != 1:
        raise RuntimeError(f"fill_ takes a number or a one-element tensor, got a tensor of shape {v.shape}")
    return _inplace("fill_", t, (v,), lambda a: _assign(a, v.array.reshape(())), lambda old: _filled(old, v))


def _filled(old: Tensor, v: Tensor) -> Tensor:
    array = array_module(old.array).full(old.shape, v.array.reshape(()), dtype=old.dtype)
    return record("fill_", array, (old, v), (old.array, v.array), _fill_grads)


_fill_grads = (lambda ops, g, out, x, v: g * 0, lambda ops, g, out, x, v: g)


def zero_(t: Tensor) -> Tensor:
    """In place: set every element to 0; returns the tensor."""
    return fill_(t, 0)


register(fill_, "fill_", export=False)
register(zero_, "zero_", export=False)


def _random_(name: str, t: Tensor, draw: Callable[[Any], Any]) -> Tensor:
    """In place: values drawn on the host by ``draw(numpy_generator)`` (a seed gives the same
    numbers on every device); no gradient flows to the old values."""
    if t.dtype.kind != "f":
        raise TypeError(f"{name} needs a float tensor, got dtype {t.dtype}")
    values = to_device(draw(default_generator.numpy).astype(t.dtype), t.device)
    constant = make(values)
    return _inplace(name, t, (), lambda a: _assign(a, values), lambda old: _filled(old, constant))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """In place: samples of a normal distribution with `mean` and `std`; returns the tensor."""
    rng = generator or default_generator
    return _random_("normal_", t, lambda _: rng.numpy.normal(mean, std, t.shape))


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """In place: samples of a uniform distribution on [a, b); returns the tensor."""
    rng = generator or default_generator
    return _random_("uniform_", t, lambda _: rng.numpy.uniform(a, b, t.shape))


register(normal_, "normal_", export=False)
register(uniform_, "uniform_", export=False)


# ---- t[index] = value ----------------------------------------------------------------------------
def setitem(t: Tensor, index: Any, value: TensorLike) -> None:
    """``t[index] = value``: ints, slices, bool masks, integer arrays (ints mixed with index
    arrays taken first, as by ``t[index]``); `value` a tensor, array or number, broadcast to
    the indexed shape."""
    index = _index(index, array_module(t.array))
    if not is_host(t.array):
        check_bounds(index, t.shape)
    steps = _steps(_frozen(index))
    v, vd = operand(value)
    if v.__class__ is Tensor and v.device != t.device:
        raise RuntimeError(f"t[index] = value: value is on {v.device}, but the tensor is on {t.device}")
    _inplace("setitem", t, (v,), lambda a: _put(a, steps, vd), lambda old: _index_put(old, steps, v))


def _steps(index: Any) -> tuple:
    """The index as the indexings to apply one after the other (two when PyTorch's order differs from numpy's)."""
    split = _ints_first(index)
    return (index,) if split is None else split


def _put(array: Any, steps: tuple, values: Any) -> None:
    for step in steps[:-1]:
        array = array[step]  # ints and slices only: a view, written through
    array[steps[-1]] = values


def _taken(g: Any, steps: tuple) -> Any:
    for step in steps:
        g = g[step]
    return g


def _index_put(old: Tensor, steps: tuple, value: Any) -> Tensor:
    """A copy of `old` with `value` written at the index `steps`, differentiable in both."""
    value = as_tensor(value)
    array = old.array.copy()
    _put(array, steps, value.array)
    hit = array_module(array).zeros(array.shape, dtype=bool)
    _put(hit, steps, True)
    grads = (lambda ops, g, out, x, v: ops.where(hit, 0, g), lambda ops, g, out, x, v: _taken(g, steps))
    return record("setitem", array, (old, value), (old.array, value.array), grads)


register(setitem, "__setitem__", export=False)
