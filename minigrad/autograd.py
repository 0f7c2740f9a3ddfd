"""Reverse-mode differentiation over the recorded graph.

Every op result that needs a gradient holds a node: ``(name, edges, inputs, arrays)``.
:func:`backward` orders the nodes reachable from the output so that each comes after
every node that uses it (an explicit stack, no recursion, so a chain of any length
works), then walks them once, applying each input's formula to the gradient arriving
at the node and summing what reaches each tensor. Afterwards the nodes are freed
unless ``retain_graph`` is asked for.

On raw arrays the formulas compute with the backend's :class:`~minigrad.backend.BackendMath`.
With ``create_graph=True`` they run on tensors and :mod:`minigrad.ops`, so the
gradients are recorded too and can be differentiated again. Broadcasting is undone here,
in one place: a gradient of broadcast shape is summed back to its input's shape
(:func:`sum_to`), and one that still does not fit is an error naming the op.
"""

from __future__ import annotations

import functools
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import ops, versions
from .backend import backend_math, copied, current_device, gpu_in_use, ones_like, use_device, use_device_of
from .tensor import RELEASED, Tensor, grad_mode, make, tensor

__all__ = ["backward", "no_grad", "enable_grad", "is_grad_enabled"]  # `grad` stays minigrad.autograd.grad


class _GradModeSwitch:
    """Context manager and decorator setting whether ops record the graph."""

    enabled: bool

    def __enter__(self):
        self._previous = grad_mode.set(self.enabled)

    def __exit__(self, *exc):
        grad_mode.set(self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeSwitch):
    """Ops inside record nothing: for evaluation and for updating weights."""

    enabled = False


class enable_grad(_GradModeSwitch):
    """Ops inside record the graph again, even within ``no_grad``."""

    enabled = True


def is_grad_enabled() -> bool:
    return grad_mode.enabled


def _graph_order(roots: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """(the op results reachable from `roots`, earliest first; the leaves reached).

    Found with an explicit stack, so graphs of any depth work. Backward takes them
    latest first, a valid order: every op's inputs were made before it.
    """
    nodes: list[Tensor] = []
    leaves: list[Tensor] = []
    seen = set(roots)
    stack = list(seen)
    while stack:
        t = stack.pop()
        node = t._node
        if node is None:
            leaves.append(t)
            continue
        if node is RELEASED:
            raise RuntimeError(
                "trying to backward through the graph a second time: its saved arrays were freed by the "
                "first backward. Pass retain_graph=True to the first backward() to keep them."
            )
        nodes.append(t)
        for _, x in node[1]:
            if x not in seen:
                seen.add(x)
                stack.append(x)
    nodes.sort(key=_creation_order)
    return nodes, leaves


_creation_order = operator.attrgetter("_seq")


def _propagate(roots, seeds, *, retain_graph: bool, create_graph: bool, targets=None) -> dict:
    """{tensor: gradient} of `roots` (seeded with `seeds`) for each target reached.

    Targets default to the leaves reached and the tensors that called retain_grad().
    """
    order, leaves = _graph_order(roots)
    if order and versions.last_write > order[0]._seq:  # something was written in place since
        _check_not_overwritten(order)
    if targets is None:
        targets = leaves + [t for t in order if t._retains_grad]
    passing = {t for t in targets if t._node is not None}  # non-leaf targets, caught on the way
    math = ops if create_graph else backend_math(roots[0].array)
    gpu = gpu_in_use()
    previous = current_device() if gpu else None
    pending: dict[Tensor, Any] = {}
    for root, g in zip(roots, seeds):
        pending[root] = pending[root] + g if root in pending else g
    found: dict[Tensor, Any] = {}
    try:  # each node's formulas run on its device, made current in turn (a graph may span GPUs)
        while order:  # popping lets each tensor be freed once it is done with
            t = order.pop()
            g = pending.pop(t, None)
            if g is None:
                continue
            if _hooks and id(t) in _hooks:
                g = _hooked(t, g, create_graph)
            if passing and t in passing:
                found[t] = g
            name, edges, inputs, arrays = t._node  # type: ignore[misc]  # every tensor in `order` has one
            if gpu:
                use_device_of(t.array)
            if create_graph:
                out, args = t, inputs
            else:
                out, args = t.array, arrays
            for formula, x in edges:
                gx = formula(math, g, out, *args)
                if gx.shape != x.array.shape:
                    gx = sum_to(gx, x.array.shape)
                    if gx.shape != x.array.shape:
                        raise _misshapen(name, inputs, x, gx)
                pending[x] = pending[x] + gx if x in pending else gx
            if not retain_graph:
                t._node = RELEASED
    finally:
        if previous is not None:
            use_device(previous)
    for t in targets:
        if t in pending:
            found[t] = _hooked(t, pending[t], create_graph) if _hooks and id(t) in _hooks else pending[t]
    return found


def _check_not_overwritten(order: list[Tensor]) -> None:
    """Raise if an in-place write since the graph was recorded makes its gradient wrong: a value
    a formula reads was overwritten, or a tensor took a new node after an op had used it."""
    for t in order:
        name, edges, inputs, arrays = t._node  # type: ignore[misc]
        for formula, x in edges:
            if x._node is not None and x._node is not RELEASED and x._seq > t._seq:
                raise RuntimeError(
                    f"a tensor used by {name} was modified in place afterwards (by {x._node[0]}), so the gradient "
                    "through its old value is lost: clone() it before modifying it, or modify it before using it"
                )
            reads_out, reads_inputs = versions.reads(formula)
            saved = [(i, a) for i, a in enumerate(arrays) if inputs[i].__class__ is Tensor]
            if reads_out:
                saved.append((-1, t.array))
            for i, array in saved:
                if (i == -1 or reads_inputs is None or i in reads_inputs) and versions.written_since(array, t._seq):
                    what = "its output" if i == -1 else f"its input {i}"
                    raise RuntimeError(
                        f"one of the values needed for the gradient of {name} ({what}, shape {tuple(array.shape)}) "
                        f"has been modified by an in-place operation since {name} ran: now at version "
                        f"{versions.version(array)}. Don't modify it in place (use an out-of-place op or "
                        "clone() it first), or compute the gradient before modifying it."
                    )


# ---- hooks ---------------------------------------------------------------------------------------
_hooks: dict[int, list[Callable]] = {}  # id(tensor) -> its hooks, in registration order


class RemovableHandle:
    """What ``Tensor.register_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, key: int, hook: Callable):
        self._key, self._hook = key, hook

    def remove(self) -> None:
        hooks = _hooks.get(self._key, [])
        if self._hook in hooks:
            hooks.remove(self._hook)
        if not hooks:
            _hooks.pop(self._key, None)


def add_hook(t: Tensor, hook: Callable) -> RemovableHandle:
    """Register ``hook(grad)`` for `t` (see ``Tensor.register_hook``); forgotten when `t` is freed."""
    if not callable(hook):
        raise TypeError(f"register_hook takes a callable, got {type(hook).__name__}")
    key = id(t)
    if key not in _hooks:
        weakref.finalize(t, _hooks.pop, key, None)
    _hooks.setdefault(key, []).append(hook)
    return RemovableHandle(key, hook)


def _hooked(t: Tensor, g: Any, create_graph: bool) -> Any:
    """The gradient `g` for `t` after its hooks, each given a tensor and free to return a new one."""
    grad = g if create_graph else make(g)
    for hook in list(_hooks[id(t)]):
        new = hook(grad)
        if new is not None:
            if not isinstance(new, Tensor) or new.shape != t.shape:
                raise RuntimeError(
                    f"a hook must return None or a tensor of the gradient's shape {t.shape}, got {new!r:.60}"
                )
            grad = new
    return grad if create_graph else grad.array


def sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back down to `shape` (works on arrays and tensors alike)."""
    lead = x.ndim - len(shape)
    if lead < 0:
        return x
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    if axes:
        x = x.sum(axes, keepdims=True)
    return x.reshape(shape) if lead and tuple(x.shape[lead:]) == shape else x


def _misshapen(name: str, inputs: tuple, x: Tensor, gx: Any) -> RuntimeError:
    """The error for a gradient formula whose result can't be summed back to its input's shape."""
    i = next(i for i, y in enumerate(inputs) if y is x)
    return RuntimeError(
        f"the gradient formula of {name} for its input {i} gave shape {tuple(gx.shape)}, which does not "
        f"fit that input's shape {x.shape}: the formula is wrong"
    )


def _delivered(results: dict, seeds) -> list[tuple[Tensor, Tensor]]:
    """[(tensor, its gradient as a tensor of its dtype)], no two sharing memory.

    A formula may pass an array straight through (d(a+b)/da = g), so one array can
    reach several tensors, or be the caller's seed. Each delivered gradient must be
    its own: arrays seen before, and views, are copied; fresh arrays are handed over.
    """
    seen = {id(s) for s in seeds}
    out = []
    for t, g in results.items():
        if isinstance(g, Tensor):  # recorded under create_graph: tensors are never written in place
            out.append((t, g if g.dtype == t.dtype else g.astype(t.dtype)))
            continue
        if isinstance(g, np.generic):  # numpy's 0-d results are scalars
            g = np.array(g, dtype=t.dtype)
        elif g.dtype != t.dtype or id(g) in seen or g.base is not None:
            g = g.astype(t.dtype, copy=True) if g.__class__ is np.ndarray else copied(g, t.dtype)
        seen.add(id(g))
        out.append((t, make(g)))
    return out


def _seed(t: Tensor, gradient, create_graph: bool):
    """The gradient backward starts from at `t`: ones for a scalar, else the caller's."""
    if not t.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the ops that made it has "
            "requires_grad=True (or it was computed under no_grad())"
        )
    if gradient is None:
        if t.array.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, got shape {t.shape}: "
                "pass backward(gradient=...) with a tensor of that shape"
            )
        ones = ones_like(t.array)
        return Tensor(ones) if create_graph else ones
    if not isinstance(gradient, Tensor):
        gradient = tensor(gradient, dtype=t.dtype, device=t.device)
    if gradient.shape != t.shape:
        raise RuntimeError(f"gradient has shape {gradient.shape}, but the output has shape {t.shape}")
    if gradient.device != t.device:
        raise RuntimeError(f"gradient is on {gradient.device}, but the output is on {t.device}")
    if create_graph:
        return gradient
    return gradient.array if gradient.dtype == t.dtype else gradient.array.astype(t.dtype)


def backward(tensor: Tensor, gradient=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    `gradient` (d(loss)/d(tensor)) is needed when `tensor` is not a scalar. The graph is
    freed afterwards unless `retain_graph` (which defaults to `create_graph`).
    """
    retain_graph = create_graph if retain_graph is None else retain_graph
    seed = _seed(tensor, gradient, create_graph)
    found = _propagate([tensor], [seed], retain_graph=retain_graph, create_graph=create_graph)
    for t, g in _delivered(found, [seed]):
        t.grad = g if t.grad is None else t.grad + g  # records only under create_graph


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple, without touching any ``.grad`` (as torch.autograd.grad).

    This differentiates tensors already computed, through their recorded graph. To
    differentiate a *function* instead, use :func:`minigrad.grad` (JAX's and Nx's
    transform), which calls this one.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    elif len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad(): grad_outputs has {len(grad_outputs)} entries but there are {len(outputs)} outputs: "
            "give one gradient (or None) per output"
        )
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} of grad() does not require grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = [_seed(t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    found = dict(
        _delivered(
            _propagate(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph, targets=inputs), seeds
        )
    )
    result: list[Tensor | None] = []
    for i, t in enumerate(inputs):
        if t in found:
            result.append(found[t])
        elif allow_unused:
            result.append(None)
        else:
            raise RuntimeError(f"input {i} of grad() was not used to compute the outputs (pass allow_unused=True)")
    return tuple(result)


Tensor.backward = backward  # t.backward(gradient=None, retain_graph=None, create_graph=False)
