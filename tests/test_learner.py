"""Learner: training a small seeded problem, the printed table, the recorder, predict."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, DataLoaders, TensorDataset
from minigrad.learner import Learner, Recorder, _format_time
from minigrad.optim import SGD, Adam


class LinearModel:
    """x @ w + b from plain tensors; records the mode it was called in."""

    def __init__(self, n_in: int, seed: int = 0):
        gen = mg.Generator(seed)
        self.w = mg.randn(n_in, 1, generator=gen, requires_grad=True)
        self.b = mg.zeros(1, requires_grad=True)
        self.training = True
        self.calls: list[tuple[bool, bool]] = []  # (training, grad enabled) per call

    def parameters(self):
        yield self.w
        yield self.b

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def __call__(self, x):
        self.calls.append((self.training, mg.is_grad_enabled()))
        return x @ self.w + self.b


def mnist_loss(preds, targets):
    p = preds.sigmoid()
    return mg.where(targets == 1, 1 - p, p).mean()


def batch_accuracy(preds, targets):
    return ((preds.sigmoid() > 0.5) == (targets == 1)).float().mean()


def blobs(n: int, seed: int):
    """Two Gaussian blobs in 2-D, centred at (1, 1) (label 1) and (-1, -1) (label 0)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.5, (n, 2)) + np.where(y[:, None] == 1, 1.0, -1.0)
    return TensorDataset(mg.tensor(x.astype(np.float32)), mg.tensor(y.astype(np.float32).reshape(n, 1)))


def make_learner(n_train=300, n_valid=101, batch_size=32, **kwargs):
    dls = DataLoaders.from_datasets(
        blobs(n_train, 1), blobs(n_valid, 2), batch_size=batch_size, generator=mg.Generator(0)
    )
    kwargs.setdefault("metrics", batch_accuracy)
    kwargs.setdefault("show", False)
    return Learner(dls, LinearModel(2), mnist_loss, opt_func=SGD, lr=1.0, **kwargs)


def test_fits_a_seeded_problem_to_high_accuracy():
    learn = make_learner()
    assert learn.fit(5) is None  # a notebook shows the table, not a return value
    rec = learn.recorder
    assert rec.metrics["batch_accuracy"][-1] >= 0.97
    assert rec.valid_losses[-1] < rec.valid_losses[0] or rec.valid_losses[0] < 0.05
    assert rec.train_means[-1] < 0.1 and rec.train_losses[-1] < 0.2


def test_train_loss_is_fastais_smoothed_loss_and_the_mean_is_kept():
    learn = make_learner(n_train=320)
    learn.fit(2)
    rec, beta = learn.recorder, 0.98
    average = 0.0
    smoothed = []
    for count, loss in enumerate(rec.losses, 1):  # one fit: the average runs across its epochs
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta**count))
    per_epoch = len(rec.losses) // 2
    assert rec.train_losses == pytest.approx([smoothed[per_epoch - 1], smoothed[-1]], rel=1e-12)
    assert rec.train_means[1] == pytest.approx(np.mean(rec.losses[per_epoch:]), rel=1e-6)  # equal batches
    assert rec.train_losses[0] != pytest.approx(rec.train_means[0])


def test_training_is_reproducible():
    a, b = make_learner(), make_learner()
    a.fit(2)
    b.fit(2)
    assert a.recorder.losses == b.recorder.losses
    np.testing.assert_array_equal(a.model.w.numpy(), b.model.w.numpy())


def test_printed_table(capsys):
    learn = make_learner(show=True)
    learn.fit(3)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 4
    header = lines[0].split()
    assert header == ["epoch", "train_loss", "valid_loss", "batch_accuracy", "time"]
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    for epoch, line in enumerate(lines[1:]):
        cells = line.split()
        assert cells[0] == str(epoch)
        assert all(re.fullmatch(r"\d+\.\d{6}", c) for c in cells[1:4])
        assert re.fullmatch(r"\d\d:\d\d", cells[4])
        assert [m.start() for m in re.finditer(r"\S+", line)] == starts  # aligned under the header
        values = [float(c) for c in cells[1:4]]
        np.testing.assert_allclose(values, learn.recorder.values[epoch], atol=1e-6)
    assert err == ""  # stdout is not a terminal: no progress bar


def test_show_false_prints_nothing(capsys):
    make_learner(show=True).fit(1, show=False)
    make_learner().fit(1)
    assert capsys.readouterr() == ("", "")


def test_recorder_history_lengths():
    learn = make_learner(n_train=300, batch_size=32)
    learn.fit(2)
    learn.fit(1)
    rec = learn.recorder
    assert len(rec) == 3 and len(rec.train_losses) == len(rec.valid_losses) == len(rec.times) == 3
    assert len(rec.train_means) == 3
    assert len(rec.metrics["batch_accuracy"]) == 3 and len(rec.values) == 3 and len(rec.values[0]) == 3
    assert len(rec.losses) == 3 * len(learn.dls.train) == 3 * 10
    assert all(t > 0 for t in rec.times)
    # an epoch's mean train loss is its batches' losses, weighted by batch size (the last batch has 12 items)
    last_epoch = rec.losses[-10:]
    weights = [32] * 9 + [12]
    assert rec.train_means[-1] == pytest.approx(np.dot(last_epoch, weights) / 300, rel=1e-6)


def test_validation_averages_are_weighted_by_batch_size():
    learn = make_learner(n_valid=101, batch_size=32)  # batches of 32, 32, 32, 5
    learn.fit(1)
    x, y = learn.dls.valid.dataset.tensors
    with mg.no_grad():
        preds = learn.model(x)
        whole_loss = mnist_loss(preds, y).item()
        whole_acc = batch_accuracy(preds, y).item()
    valid_loss, acc = learn.validate()
    assert valid_loss == pytest.approx(whole_loss, rel=1e-5)
    assert acc == pytest.approx(whole_acc, rel=1e-6)
    assert learn.recorder.valid_losses[-1] == pytest.approx(whole_loss, rel=1e-5)


def test_model_modes_and_no_grad_during_validation():
    learn = make_learner(n_train=64, n_valid=64, batch_size=32)
    learn.fit(1)
    assert learn.model.calls == [(True, True)] * 2 + [(False, False)] * 2


def test_predict():
    learn = make_learner()
    learn.fit(2)
    x = mg.tensor([[2.0, 2.0], [-2.0, -2.0]])
    learn.model.train()
    out = learn.predict(x)
    assert out.shape == (2, 1) and not out.requires_grad
    assert out[0, 0].item() > 0 > out[1, 0].item()
    np.testing.assert_allclose(out.numpy(), (x @ learn.model.w + learn.model.b).numpy())
    assert learn.model.calls[-1] == (False, False)
    assert learn.model.training  # put back in the training mode it was in
    np.testing.assert_array_equal(learn.predict([[2.0, 2.0]]).numpy(), out.numpy()[:1])


def test_fit_lr_sets_the_optimizer_rate_and_opt_is_exposed():
    learn = make_learner()
    assert isinstance(learn.opt, SGD) and learn.opt.lr == 1.0
    learn.fit(1, lr=0.25)
    assert learn.opt.lr == 0.25 and learn.lr == 0.25
    with pytest.raises(ValueError, match="lr"):
        learn.fit(1, lr=0)
    with pytest.raises(ValueError, match="n_epoch"):
        learn.fit(-1)


def test_several_metrics_and_adam(capsys):
    def error_rate(preds, targets):
        return 1 - batch_accuracy(preds, targets)

    dls = DataLoaders.from_datasets(blobs(200, 3), blobs(64, 4), batch_size=16, generator=mg.Generator(1))
    learn = Learner(dls, LinearModel(2), mnist_loss, opt_func=Adam, lr=0.1, metrics=[batch_accuracy, error_rate])
    learn.fit(3)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == ["epoch", "train_loss", "valid_loss", "batch_accuracy", "error_rate", "time"]
    acc, err = learn.recorder.metrics["batch_accuracy"], learn.recorder.metrics["error_rate"]
    assert acc[-1] >= 0.95 and acc[-1] + err[-1] == pytest.approx(1.0)
    assert isinstance(learn.opt, Adam)


def test_with_minigrad_nn():
    nn = pytest.importorskip("minigrad.nn")
    from minigrad.nn.functional import mnist_loss as nn_mnist_loss

    mg.manual_seed(0)
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(np.float32).reshape(-1, 1)  # XOR of the signs: needs the hidden layer
    ds_train = TensorDataset(mg.tensor(x[:300]), mg.tensor(y[:300]))
    ds_valid = TensorDataset(mg.tensor(x[300:]), mg.tensor(y[300:]))
    dls = DataLoaders.from_datasets(ds_train, ds_valid, batch_size=20, generator=mg.Generator(2))
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    learn = Learner(dls, model, nn_mnist_loss, opt_func=Adam, lr=0.03, metrics=batch_accuracy, show=False)
    learn.fit(20)
    assert learn.recorder.metrics["batch_accuracy"][-1] >= 0.9


def test_construction_errors():
    dls = DataLoaders(DataLoader(range(4)), DataLoader(range(4)))
    model = LinearModel(2)
    with pytest.raises(TypeError, match="parameters"):
        Learner(dls, lambda x: x, mnist_loss)
    with pytest.raises(TypeError, match="loss_func"):
        Learner(dls, model, "mse")
    with pytest.raises(TypeError, match="metric"):
        Learner(dls, model, mnist_loss, metrics=["accuracy"])
    with pytest.raises(ValueError, match="lr"):
        Learner(dls, model, mnist_loss, lr=-1)


def test_format_time():
    assert _format_time(0.4) == "00:00" and _format_time(75) == "01:15" and _format_time(3725) == "1:02:05"


def test_lr_is_checked_like_the_optimizers_do():
    learn = Learner(DataLoaders(DataLoader(range(4)), DataLoader(range(4))), LinearModel(2), mnist_loss, show=False)
    for bad in (0, -1.0, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match=r"^Learner\.fit: lr must be"):
            learn.fit(1, lr=bad)
    assert learn.lr == learn.opt.lr == 1e-3


def test_recorder_values_rows():
    rec = Recorder(["acc"])
    rec.train_losses += [1.0, 0.5]
    rec.valid_losses += [0.9, 0.4]
    rec.metrics["acc"] += [0.6, 0.8]
    assert rec.values == [[1.0, 0.9, 0.6], [0.5, 0.4, 0.8]]


def test_batches_must_carry_targets():
    dls = DataLoaders(DataLoader(TensorDataset(mg.zeros(4, 2))), DataLoader(TensorDataset(mg.zeros(4, 2))))
    learn = Learner(dls, LinearModel(2), mnist_loss, show=False)
    with pytest.raises(TypeError, match=r"tuple \(inputs..., targets\).*length 1"):
        learn.fit(1)
    dls = DataLoaders(DataLoader(mg.zeros(4, 2)), DataLoader(mg.zeros(4, 2)))
    with pytest.raises(TypeError, match="got a Tensor"):
        Learner(dls, LinearModel(2), mnist_loss, show=False).fit(1)


def test_multiple_inputs_reach_the_model():
    class TwoInputs(LinearModel):
        def __call__(self, a, b):
            return super().__call__(a + b)

    ds = blobs(64, 7)
    x, y = ds.tensors
    dls = DataLoaders.from_datasets(TensorDataset(x * 0.5, x * 0.5, y), TensorDataset(x * 0.5, x * 0.5, y), 16)
    learn = Learner(dls, TwoInputs(2), mnist_loss, lr=1.0, metrics=batch_accuracy, show=False)
    learn.fit(3)
    assert learn.recorder.metrics["batch_accuracy"][-1] >= 0.95
