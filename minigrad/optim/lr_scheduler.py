"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: StepLR, CosineAnnealingLR, OneCycleLR, LambdaLR.

A scheduler sets its optimizer's ``lr`` (and, for OneCycleLR, its momentum) from the step count.
As in PyTorch, making it applies the value of step 0, and ``scheduler.step()`` is called after
``optimizer.step()``, once per epoch (once per batch for OneCycleLR)::

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = StepLR(opt, step_size=30, gamma=0.1)
    >>> for epoch in range(100):
    ...     train(...)  # opt.step() for each batch
    ...     sched.step()

minigrad's optimizers hold one group of parameters, so ``base_lrs`` and ``get_last_lr()`` are
lists of one learning rate, as PyTorch's are for an optimizer with one parameter group.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .optimizers import Optimizer, check_number

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"]


class LRScheduler:
    """The step count and the optimizer's starting rate; subclasses give :meth:`get_lr` for a step."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a minigrad optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{type(self).__name__}: last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            optimizer.initial_lr = optimizer.lr
        elif not hasattr(optimizer, "initial_lr"):
            raise KeyError("resuming with last_epoch >= 0 needs optimizer.initial_lr, set by an earlier scheduler")
        self.base_lrs: list[float] = [optimizer.initial_lr]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rates of step ``last_epoch``."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set."""
        return list(self._last_lr)

    def step(self) -> None:
        """Move to the next step and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self._last_lr = self.get_lr()
        self.optimizer.lr = self._last_lr[0]

    def state_dict(self) -> dict:
        """The scheduler's state (everything but the optimizer and functions), to resume it."""
        return {k: v for k, v in vars(self).items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        self.step_size, self.gamma = step_size, check_number("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: from base_lr down to
    eta_min in T_max steps (and, past them, back up along the same cosine, as PyTorch)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be an int >= 1, got {T_max!r}")
        self.T_max, self.eta_min = T_max, check_number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [cosine(base, self.eta_min, self.last_epoch / self.T_max) for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float], last_epoch: int = -1):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.lr_lambda(self.last_epoch) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), as PyTorch's: stepped once per batch, over `total_steps`
    (or ``epochs * steps_per_epoch``) steps.

    The rate rises from ``max_lr / div_factor`` to `max_lr` over the first `pct_start` of the steps
    (reached at step ``pct_start * total_steps - 1``), then falls to ``max_lr / div_factor /
    final_div_factor`` at the last step, along cosines (``anneal_strategy="cos"``) or lines
    ("linear"). The momentum (SGD's ``momentum``, Adam's ``beta1``) moves the other way, from
    `max_momentum` to `base_momentum` and back, when `cycle_momentum`. With `three_phase`, the rate
    comes back to its start over a second `pct_start` of the steps, then falls to the minimum.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if not 0 <= check_number("OneCycleLR", "pct_start", pct_start) <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal = cosine if anneal_strategy == "cos" else linear
        max_lr = check_number("OneCycleLR", "max_lr", max_lr, positive=True)
        initial = max_lr / check_number("OneCycleLR", "div_factor", div_factor, positive=True)
        minimum = initial / check_number("OneCycleLR", "final_div_factor", final_div_factor, positive=True)
        low = check_number("OneCycleLR", "base_momentum", base_momentum)
        high = check_number("OneCycleLR", "max_momentum", max_momentum)
        n = self.total_steps
        # (last step of the phase, (lr at its start, at its end), (momentum at its start, at its end))
        if three_phase:
            self.phases = [
                (pct_start * n - 1, (initial, max_lr), (high, low)),
                (2 * pct_start * n - 2, (max_lr, initial), (low, high)),
                (n - 1, (initial, minimum), (high, high)),
            ]
        else:
            self.phases = [(pct_start * n - 1, (initial, max_lr), (high, low)), (n - 1, (max_lr, minimum), (low, high))]
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            get_momentum(optimizer)  # refuses an optimizer without one
            if last_epoch == -1:
                set_momentum(optimizer, high)
        if last_epoch == -1:
            optimizer.lr = initial  # becomes initial_lr, the base rate
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self._at(self.last_epoch)[0]]

    def step(self) -> None:
        super().step()
        if self.cycle_momentum:
            set_momentum(self.optimizer, self._at(self.last_epoch)[1])

    def _at(self, step: int) -> tuple[float, float]:
        """(lr, momentum) at `step`."""
        if step >= self.total_steps + 1:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times with total_steps={self.total_steps}: "
                "make total_steps (or epochs * steps_per_epoch) cover every batch"
            )
        start = 0.0
        for i, (end, lrs, moms) in enumerate(self.phases):
            if step <= end or i == len(self.phases) - 1:
                pct = (step - start) / (end - start) if end > start else 1.0
                return self.anneal(*lrs, pct), self.anneal(*moms, pct)
            start = end
        raise AssertionError("unreachable: the last phase always matches")


def cosine(start: float, end: float, pct: float) -> float:
    """From `start` (pct 0) to `end` (pct 1) along half a cosine."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def linear(start: float, end: float, pct: float) -> float:
    """From `start` (pct 0) to `end` (pct 1) along a line."""
    return start + (end - start) * pct


def get_momentum(optimizer: Optimizer) -> float:
    """The optimizer's momentum: SGD's ``momentum`` or Adam's ``beta1``."""
    defaults = getattr(optimizer, "defaults", {})
    if "betas" in defaults:
        return optimizer.betas[0]  # type: ignore[attr-defined]
    if "momentum" in defaults:
        return optimizer.momentum  # type: ignore[attr-defined]
    raise ValueError(f"{type(optimizer).__name__} has no momentum (nor betas) to cycle: pass cycle_momentum=False")


def set_momentum(optimizer: Optimizer, value: float) -> None:
    """Set SGD's ``momentum`` or Adam's ``beta1`` to `value`."""
    if "betas" in optimizer.defaults:
        optimizer.betas = (value, optimizer.betas[1])  # type: ignore[attr-defined]
    else:
        optimizer.momentum = value  # type: ignore[attr-defined]


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    def positive(name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"OneCycleLR: {name} must be an int >= 1, got {value!r}")
        return value

    if total_steps is not None:
        return positive("total_steps", total_steps)
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
    return positive("epochs", epochs) * positive("steps_per_epoch", steps_per_epoch)
