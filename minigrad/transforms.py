"""Function transforms, as Nx's ``grad`` / ``value_and_grad`` and JAX's: differentiate f itself.

Arguments may be tensors or nested tuples, lists and dicts of them (the chapter's
``params = (weights, bias)``); each gradient comes back in the structure of its argument.
The inputs' ``.grad`` is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import autograd
from .creation import zeros_like
from .tensor import Tensor

__all__ = ["grad", "value_and_grad"]


def _map_tree(fn, tree, path="arg"):
    """Apply `fn(tensor, path)` to every tensor in a nest of tuples, lists and dicts."""
    if isinstance(tree, Tensor):
        return fn(tree, path)
    if isinstance(tree, dict):
        return {k: _map_tree(fn, v, f"{path}[{k!r}]") for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_map_tree(fn, v, f"{path}[{i}]") for i, v in enumerate(tree))
    raise TypeError(
        f"{path} is a {type(tree).__name__}: differentiated arguments must be tensors or "
        "tuples, lists and dicts of tensors"
    )


def _watched(tree, path: str, leaves: list):
    """A copy of `tree` whose tensors are fresh leaves requiring grad, appended to `leaves`."""

    def watch(t: Tensor, p: str) -> Tensor:
        if t.dtype.kind != "f":
            raise TypeError(f"{p} has dtype {t.dtype}: only float tensors can be differentiated")
        leaf = Tensor(t.array, requires_grad=True)
        leaves.append(leaf)
        return leaf

    return _map_tree(watch, tree, path)


def value_and_grad(f: Callable[..., Tensor], argnums: int | tuple[int, ...] = 0) -> Callable[..., tuple[Tensor, Any]]:
    """A function returning ``(f(*args), gradient of f with respect to args[argnums])``.

    f must return a scalar tensor. With a tuple `argnums` the gradient is a tuple, one per argument.
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def value_and_grad_f(*positional: Any, **kwargs: Any) -> tuple[Tensor, Any]:
        args = list(positional)
        leaves: list[Tensor] = []
        for i in nums:
            if i >= len(args):
                raise TypeError(f"argnums {i} is out of range: the function got {len(args)} positional argument(s)")
            args[i] = _watched(args[i], f"argument {i}", leaves)
        with autograd.enable_grad():
            value = f(*args, **kwargs)
        if not isinstance(value, Tensor) or value.array.size != 1:
            shape = value.shape if isinstance(value, Tensor) else type(value).__name__
            raise TypeError(f"grad needs f to return a scalar tensor, got {shape}")
        grads = autograd.grad(value, leaves, allow_unused=True) if value.requires_grad else [None] * len(leaves)
        by_leaf = {id(leaf): zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, grads)}
        trees = tuple(_map_tree(lambda t, p: by_leaf[id(t)], args[i]) for i in nums)
        return value.detach(), trees[0] if isinstance(argnums, int) else trees

    return value_and_grad_f


def grad(f: Callable[..., Tensor], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function returning the gradient of scalar-valued f with respect to args[argnums] (as JAX's grad).

    This transforms a *function*: it watches the arguments, calls f and differentiates the
    result. To differentiate tensors already computed, use :func:`minigrad.autograd.grad`
    (PyTorch's), on which this is built.
    """
    vg = value_and_grad(f, argnums)
    return lambda *args, **kwargs: vg(*args, **kwargs)[1]
