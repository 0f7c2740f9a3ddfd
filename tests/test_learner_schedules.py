"""Learner.fit_one_cycle (fastai's lr and momentum schedule) and Learner.lr_find (the range test)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from PIL import Image

import minigrad as mg
from minigrad import nn
from minigrad.data import DataLoaders, TensorDataset
from minigrad.learner import Learner
from minigrad.nn.functional import cross_entropy
from minigrad.optim import SGD, Adam


def blobs(n: int, seed: int) -> TensorDataset:
    """Three Gaussian blobs in 4-D, one per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.eye(3, 4) * 2
    x = rng.normal(0, 0.7, (n, 4)) + centres[y]
    return TensorDataset(mg.tensor(x.astype(np.float32)), mg.tensor(y))


def make_learner(opt_func=partial(SGD, momentum=0.9), lr=0.1, n_train=320, batch_size=32):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    dls = DataLoaders.from_datasets(blobs(n_train, 1), blobs(96, 2), batch_size=batch_size, generator=mg.Generator(0))
    return Learner(dls, model, cross_entropy, opt_func=opt_func, lr=lr, show=False)


def fastai_one_cycle(pos: float, lr_max: float) -> tuple[float, float]:
    """fastai's combined_cos(0.25, ...) for the lr and the momentum at `pos`."""

    def cos(start, end, p):
        return start + (1 + math.cos(math.pi * (1 - p))) * (end - start) / 2

    if pos < 0.25:
        return cos(lr_max / 25, lr_max, pos / 0.25), cos(0.95, 0.85, pos / 0.25)
    return cos(lr_max, lr_max / 1e5, (pos - 0.25) / 0.75), cos(0.85, 0.95, (pos - 0.25) / 0.75)


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
def test_fit_one_cycle_follows_fastais_schedule(adam):
    learn = make_learner(opt_func=Adam if adam else partial(SGD, momentum=0.9))
    learn.fit_one_cycle(2, lr_max=0.2)
    rec = learn.recorder
    n = 2 * 10  # 320 / 32 batches per epoch
    expected = [fastai_one_cycle(i / n, 0.2) for i in range(n)]
    assert rec.lrs == pytest.approx([e[0] for e in expected])
    assert rec.moms == pytest.approx([e[1] for e in expected])
    assert rec.lrs[0] == pytest.approx(0.2 / 25) and max(rec.lrs) == pytest.approx(0.2)
    assert rec.lrs.index(max(rec.lrs)) == 5 and rec.moms[5] == pytest.approx(0.85)
    assert len(rec) == 2 and rec.valid_losses[-1] < rec.valid_losses[0] + 0.05


def test_fit_one_cycle_defaults_to_the_learners_lr_and_trains():
    learn = make_learner(opt_func=SGD, lr=0.5)
    assert learn.validate()[0] > 0.9
    learn.fit_one_cycle(3)  # lr_max: the Learner's lr; plain SGD has momentum 0: it is cycled too, as PyTorch
    assert max(learn.recorder.lrs) == pytest.approx(0.5, rel=1e-2)  # 30 batches: the peak falls between two
    assert learn.validate()[0] < 0.3
    with pytest.raises(ValueError, match="pct_start"):
        learn.fit_one_cycle(1, pct_start=1.0)


def test_lr_find_restores_the_weights_the_optimizer_and_the_mode():
    learn = make_learner(opt_func=partial(SGD, momentum=0.9), lr=0.1)
    learn.fit(1)  # gives the optimizer momentum buffers to restore
    learn.model.eval()
    before = {k: v.numpy().copy() for k, v in learn.model.state_dict().items()}
    opt_state = {id(p): s["momentum_buffer"].copy() for p, s in learn.opt.state.items()}
    learn.lr_find(num_it=30, plot=None)
    after = learn.model.state_dict()
    assert all(np.array_equal(before[k], after[k].numpy()) for k in before)
    assert all(np.array_equal(opt_state[id(p)], s["momentum_buffer"]) for p, s in learn.opt.state.items())
    assert learn.opt.lr == 0.1 and learn.opt.momentum == 0.9 and not learn.model.training
    assert len(learn.recorder) == 1  # the range test adds no epoch


def test_lr_find_suggests_a_rate_in_the_valley_and_plots(tmp_path):
    learn = make_learner(opt_func=partial(SGD, momentum=0.9), lr=0.1, n_train=640)
    suggestion = learn.lr_find(plot=tmp_path / "lr.png")
    lrs, losses = learn.lr_finder
    assert lrs[0] == pytest.approx(1e-7) and lrs[1] / lrs[0] == pytest.approx(10 ** (8 / 100))
    assert len(lrs) == 100 or losses[-1] > 4 * min(losses)  # ran to the end, or stopped on divergence
    at = lrs.index(suggestion)
    assert 1e-3 < suggestion < 1.0 and losses[at + 5] < losses[at]  # the loss still falls past it
    with Image.open(tmp_path / "lr.png") as img:
        img.load()
        assert img.format == "PNG" and img.size == (640, 420)
        assert len(img.getcolors(1 << 16)) > 3  # axes, curve, marker: not a blank image


def test_lr_find_stops_when_the_loss_diverges():
    learn = make_learner(lr=0.1)
    learn.lr_find(start_lr=1e-4, end_lr=1e6, num_it=100, plot=None)
    lrs, losses = learn.lr_finder
    assert len(lrs) < 100 and lrs[-1] < 1e6
    assert losses[-1] > 4 * min(losses) or not all(math.isfinite(v) for v in losses[-1:])
