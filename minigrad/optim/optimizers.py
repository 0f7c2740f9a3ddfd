"""Optimizers: SGD (with momentum, dampening, Nesterov, weight decay) and Adam, as PyTorch has them.

An optimizer holds the parameters and, each step, turns their ``.grad`` into new
values. The update works on the raw arrays (numpy or cupy, whichever holds the
parameter), records no graph, and writes into each parameter's memory, as PyTorch's
optimizers do: views and other holders of the parameter see the new values, and a graph
recorded before the step that still needs the old ones refuses to run backward (the
version counters of :mod:`minigrad.versions`). No gradient array is ever written to.
Parameters that don't require grad (frozen) or have no ``.grad`` are left alone.

    >>> opt = SGD(model.parameters(), lr=0.1)
    >>> loss.backward(); opt.step(); opt.zero_grad()

Before changing anything, ``step()`` checks every gradient: a NaN or infinite value
raises ``FloatingPointError`` naming the parameter, and leaves all weights (and the
optimizer's state) as they were.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import versions
from ..backend import array_module, device_context, device_of, gpu_in_use, is_array, is_host, to_device
from ..tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """The parameters to update, their per-parameter state, and the shared bookkeeping.

    `params` is an iterable of tensors that require grad (a list, or the generator
    ``model.parameters()`` returns: it is read once). A tensor listed twice is kept once.
    `defaults` are the hyperparameters; each also becomes an attribute (``opt.lr``),
    which may be changed between steps. Subclasses implement :meth:`_update`.
    """

    lr: float
    initial_lr: float  # the rate a learning-rate scheduler started from (set by the first one)

    def __init__(self, params: Iterable[Tensor], defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__} takes an iterable of tensors, got a single tensor: wrap it in a list, e.g. [w]"
            )
        try:
            params = list(params)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__} takes an iterable of tensors (e.g. model.parameters()), "
                f"got {type(params).__name__}"
            ) from None
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty list of parameters: nothing to optimize")
        unique: list[Tensor] = []
        seen: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(
                    f"parameter {i} (shape {p.shape}) is the result of an op, not a leaf tensor: "
                    "only leaves receive .grad"
                )
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        self.params: list[Tensor] = unique
        self.defaults = dict(defaults)
        for name, value in self.defaults.items():
            setattr(self, name, value)
        self.state: dict[Tensor, dict[str, Any]] = {}  # per parameter (keyed by identity)

    # ---- the public interface ---------------------------------------------------------
    def step(self) -> None:
        """Update every parameter that has a gradient; those whose ``.grad`` is None are skipped."""
        gpu = gpu_in_use()
        for p, data, grad in self._checked_gradients():
            if gpu:  # the update, and any state it makes, on the parameter's device (its state follows it there)
                with device_context(data):
                    _follow(self.state.get(p, {}), data)
                    self._apply(p, data, grad)
            else:
                self._apply(p, data, grad)
            versions.written(data)

    def _apply(self, p: Tensor, data, grad) -> None:
        array_module(data).subtract(data, self._update(p, data, grad), out=data, casting="same_kind")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (the default), or to a fresh tensor of zeros.

        With ``set_to_none=False`` each gradient becomes a *new* zero tensor; the old gradient
        tensor and its array are left as they were.
        """
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with device_context(g.array):
                    p.grad = Tensor(array_module(g.array).zeros_like(g.array))

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.defaults)
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"

    # ---- for subclasses -------------------------------------------------------------------
    def _update(self, p: Tensor, data, grad):
        """How much to subtract from `p`, given its array `data` and gradient array `grad` (never modify either)."""
        raise NotImplementedError

    def _checked_gradients(self) -> list[tuple[Tensor, Any, Any]]:
        """[(param, its array, its gradient array)] for the params with a gradient, all checked first.

        Raises (changing nothing) when a gradient has the wrong shape or a NaN/inf value.
        """
        found = []
        pending = []  # (index, param, 0-d flag) for device arrays: synced together, after the loop
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None or not p._requires_grad:
                continue
            data, grad = p.array, g.array
            if grad.shape != data.shape:
                raise ValueError(f"parameter {i} has shape {data.shape} but its gradient has shape {grad.shape}")
            if is_host(grad):
                if not _all_finite(grad):
                    raise _non_finite(i, p)
            else:
                with device_context(grad):
                    pending.append((i, p, array_module(grad).isfinite(grad).all()))
            found.append((p, data, grad))
        for i, p, finite in pending:
            if not bool(finite):
                raise _non_finite(i, p)
        return found


def _follow(state: dict[str, Any], data: Any) -> None:
    """Move a parameter's state arrays to its device, where a ``Module.to`` has moved it since."""
    device = device_of(data)
    for key, value in state.items():
        if is_array(value) and not isinstance(value, np.generic) and device_of(value) != device:
            state[key] = to_device(value, device)


def _all_finite(grad: np.ndarray) -> bool:
    """Whether a host array holds no NaN or inf.

    The fast test is one BLAS dot product (a NaN or inf anywhere makes it non-finite),
    cheaper than ``isfinite(grad).all()`` at every size. Only when it is not finite (or
    the dtype has no BLAS dot) is every element checked, since the squares of huge but
    finite values (|g| > 1e19 in float32) overflow too; numpy may then warn of the overflow.
    """
    if grad.dtype.kind == "f" and grad.dtype.itemsize >= 4:
        try:
            if math.isfinite(np.vdot(grad, grad)):
                return True
        except FloatingPointError:  # np.seterr(over="raise")
            pass
    return bool(np.isfinite(grad).all())


def _non_finite(i: int, p: Tensor) -> FloatingPointError:
    return FloatingPointError(
        f"parameter {i} (shape {p.shape}) has a non-finite gradient (NaN or inf); no parameter was updated. "
        "Lower the learning rate, or look for a log of 0 or a division by 0 in the loss."
    )


def check_number(owner: str, name: str, value, *, positive: bool = False) -> float:
    """`value` as a float, when it is a finite real number that is >= 0 (> 0 if `positive`); else a
    ValueError naming `owner` (the function or class checking it), `name` and `value`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{owner}: {name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's update rule (``torch.optim.SGD``).

    For each parameter p with gradient g::

        g = g + weight_decay * p
        if momentum:
            b = g                                          on the first step
            b = momentum * b + (1 - dampening) * g         afterwards
            g = g + momentum * b   if nesterov   else   b
        p = p - lr * g
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        lr = check_number("SGD", "lr", lr, positive=True)
        momentum = check_number("SGD", "momentum", momentum)
        dampening = check_number("SGD", "dampening", dampening)
        weight_decay = check_number("SGD", "weight_decay", weight_decay)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=bool(nesterov)),
        )

    def _update(self, p, data, grad):
        g = grad
        if self.weight_decay:
            g = g + self.weight_decay * data
        momentum = self.momentum
        if momentum:
            state = self.state.get(p)
            if state is None:
                # the buffer must never be the gradient's own array, which its tensor still holds
                buf = g.copy() if g is grad else g
                self.state[p] = {"momentum_buffer": buf}
            else:
                buf = momentum * state["momentum_buffer"] + (1 - self.dampening) * g
                state["momentum_buffer"] = buf
            g = g + momentum * buf if self.nesterov else buf
        return self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's update rule (``torch.optim.Adam``, L2 weight decay).

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g              (m and v start at 0)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        lr = check_number("Adam", "lr", lr, positive=True)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not check_number("Adam", name, beta) < 1:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {beta!r}")
        eps = check_number("Adam", "eps", eps)
        weight_decay = check_number("Adam", "weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=(float(beta1), float(beta2)), eps=eps, weight_decay=weight_decay))

    def _update(self, p, data, grad):
        beta1, beta2 = self.betas
        g = grad
        if self.weight_decay:
            g = g + self.weight_decay * data
        xp = array_module(data)
        state = self.state.get(p)
        if state is None:  # the step count is a 0-d array updated in place, so minigrad.jit replays it
            state = self.state[p] = {
                "step": xp.zeros_like(data, dtype=np.int64, shape=()),  # on data's device
                "exp_avg": xp.zeros_like(data),
                "exp_avg_sq": xp.zeros_like(data),
            }
        t = state["step"]
        t += 1
        m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (g * g)
        denom = xp.sqrt(v)
        denom *= (1 / xp.sqrt(1 - beta2**t)).astype(data.dtype)  # denom is new: in place is safe
        denom += self.eps
        step = m * (self.lr / (1 - beta1**t)).astype(data.dtype)
        step /= denom
        return step
