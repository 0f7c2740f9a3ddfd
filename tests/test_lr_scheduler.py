"""Learning-rate schedules: values from PyTorch's formulas, written out by hand."""

from __future__ import annotations

import math

import pytest

import minigrad as mg
from minigrad.optim import SGD, Adam
from minigrad.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, OneCycleLR, StepLR


def sgd(lr: float = 0.1, momentum: float = 0.9) -> SGD:
    return SGD([mg.zeros(2, requires_grad=True)], lr=lr, momentum=momentum)


def trajectory(opt, sched, n: int) -> list[float]:
    lrs = []
    for _ in range(n):
        lrs.append(opt.lr)
        assert sched.get_last_lr() == [opt.lr]
        opt.step()
        sched.step()
    return lrs


def test_step_lr():
    opt = sgd()
    sched = StepLR(opt, step_size=3, gamma=0.5)
    assert sched.base_lrs == [0.1]
    assert trajectory(opt, sched, 8) == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025] * 2)


def test_cosine_annealing_goes_down_to_eta_min_and_back_up():
    opt = sgd()
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    expected = [0.02 + 0.08 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    assert trajectory(opt, sched, 9) == pytest.approx(expected)
    assert expected[4] == pytest.approx(0.02) and expected[8] == pytest.approx(0.1)


def test_lambda_lr_and_state_dict():
    opt = sgd()
    sched = LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    assert trajectory(opt, sched, 4) == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])
    state = sched.state_dict()
    assert state["last_epoch"] == 4 and "optimizer" not in state


def one_cycle_expected(n: int, max_lr: float, pct: float = 0.3, div: float = 25.0, final: float = 1e4):
    """PyTorch's two-phase cosine 1cycle, step by step: (lr, momentum)."""
    up_end, lo, hi = pct * n - 1, 0.85, 0.95
    out = []
    for t in range(n):
        if t <= up_end:
            p = t / up_end
            lr = max_lr + (max_lr / div - max_lr) * (1 + math.cos(math.pi * p)) / 2
            mom = lo + (hi - lo) * (1 + math.cos(math.pi * p)) / 2
        else:
            p = (t - up_end) / (n - 1 - up_end)
            low = max_lr / div / final
            lr = low + (max_lr - low) * (1 + math.cos(math.pi * p)) / 2
            mom = hi + (lo - hi) * (1 + math.cos(math.pi * p)) / 2
        out.append((lr, mom))
    return out


@pytest.mark.parametrize("make", [sgd, lambda: Adam([mg.zeros(2, requires_grad=True)])], ids=["sgd", "adam"])
def test_one_cycle_lr_and_momentum(make):
    opt = make()
    sched = OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=10)
    got = []
    for _ in range(20):
        got.append((opt.lr, opt.betas[0] if isinstance(opt, Adam) else opt.momentum))
        opt.step()
        sched.step()
    expected = one_cycle_expected(20, 0.5)
    assert [g[0] for g in got] == pytest.approx([e[0] for e in expected])
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected])
    assert got[0][0] == pytest.approx(0.5 / 25) and got[5][0] == pytest.approx(0.5)
    assert got[-1][0] == pytest.approx(0.5 / 25 / 1e4)
    with pytest.raises(ValueError, match="total_steps=20"):
        sched.step()  # step 21 of 20


def test_one_cycle_three_phase_and_errors():
    opt = sgd()
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, three_phase=True, pct_start=0.3)
    lrs = trajectory(opt, sched, 10)
    assert lrs[2] == pytest.approx(1.0) and lrs[4] == pytest.approx(0.04)  # up at 2, back at 4
    assert lrs[9] == pytest.approx(0.04 / 1e4)
    with pytest.raises(ValueError, match="total_steps, or both epochs"):
        OneCycleLR(sgd(), max_lr=1.0, epochs=2)
    with pytest.raises(ValueError, match="no momentum"):
        OneCycleLR(mg.optim.Optimizer([mg.zeros(1, requires_grad=True)], {"lr": 0.1}), max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        OneCycleLR(sgd(), max_lr=1.0, total_steps=5, anneal_strategy="exp")
