"""The Learner: a model, its data, a loss and an optimizer, trained epoch by epoch as fastai does.

    >>> learn = Learner(dls, model, loss_func=mnist_loss, opt_func=SGD, metrics=batch_accuracy)
    >>> learn.fit(10, lr=1.0)
    epoch     train_loss  valid_loss  batch_accuracy  time
    0         0.636857    0.503549    0.495584        00:00
    ...

Each epoch trains on ``dls.train`` (``model.train()``), then evaluates on ``dls.valid``
under :func:`minigrad.no_grad` (``model.eval()``), and prints one row. As in fastai,
``train_loss`` is the *smoothed* training loss: an exponential moving average of the batch
losses (beta 0.98, debiased, restarted by each ``fit``), read at the end of the epoch. The
validation loss and metrics are means over the batches *weighted by batch size*: for a loss
or a metric that averages over the items of a batch, that is its exact mean over the whole
data set, however the last batch falls. Everything shown is kept in ``learn.recorder``, with
the plain (size-weighted) mean training loss of each epoch in ``recorder.train_means``.

``fit_one_cycle`` trains with fastai's one-cycle schedule of the learning rate and momentum,
and ``lr_find`` runs the learning-rate range test (see ``docs/learner.md``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .autograd import no_grad
from .jit import jit as capture
from .optim import SGD
from .optim.lr_scheduler import cosine, get_momentum, set_momentum
from .optim.optimizers import check_number
from .plotting import save_line_plot
from .progress import progress_over
from .tensor import Tensor, tensor

__all__ = ["Learner", "Recorder"]


class Recorder:
    """The history of training: one entry per epoch (across all ``fit`` calls), and every batch's loss."""

    def __init__(self, metric_names: list[str]):
        self.metric_names = metric_names
        self.train_losses: list[float] = []  # per epoch: the smoothed loss at its end, as fastai shows
        self.train_means: list[float] = []  # per epoch: the mean batch loss, weighted by batch size
        self.valid_losses: list[float] = []  # per epoch
        self.metrics: dict[str, list[float]] = {name: [] for name in metric_names}  # per epoch
        self.times: list[float] = []  # seconds per epoch (training and validation)
        self.losses: list[float] = []  # per training batch
        self.lrs: list[float] = []  # per training batch: the learning rate it was trained at
        self.moms: list[float] = []  # per training batch: the momentum (SGD's, or Adam's beta1; NaN if none)

    @property
    def values(self) -> list[list[float]]:
        """One row per epoch: [train_loss, valid_loss, *metrics], as fastai's ``recorder.values``."""
        columns = [self.train_losses, self.valid_losses, *self.metrics.values()]
        return [list(row) for row in zip(*columns)]

    def __len__(self) -> int:
        return len(self.train_losses)

    def __repr__(self) -> str:
        return f"Recorder({len(self)} epochs, {len(self.losses)} batches)"


class Learner:
    """Train `model` on ``dls.train`` with `loss_func` and the optimizer ``opt_func(params, lr)``.

    `dls` has ``.train`` and ``.valid`` loaders (:class:`minigrad.data.DataLoaders`), each
    yielding ``(x, y)`` batches (or ``(x1, ..., xn, y)``: the model gets all but the last).
    `model` is anything callable with ``.parameters()``; its ``train()``/``eval()`` are
    called when it has them. `metrics` is a callable ``(preds, targets) -> scalar`` or a
    list of them, computed on the validation set. `show=False` prints nothing. `jit=True`
    trains with the step captured by :func:`minigrad.jit` (the same numbers, less overhead).
    """

    def __init__(
        self,
        dls,
        model,
        loss_func: Callable,
        opt_func: Callable = SGD,
        lr: float = 1e-3,
        metrics: Callable | Iterable[Callable] | None = None,
        show: bool = True,
        jit: bool = False,
    ):
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(f"model must be callable and have .parameters(), got {type(model).__name__}")
        if not callable(loss_func):
            raise TypeError(f"loss_func must be callable, got {type(loss_func).__name__}")
        if metrics is None:
            metrics = []
        elif callable(metrics):
            metrics = [metrics]
        else:
            metrics = list(metrics)
        for m in metrics:
            if not callable(m):
                raise TypeError(f"each metric must be callable, got {type(m).__name__}")
        self.dls = dls
        self.model = model
        self.loss_func = loss_func
        self.opt_func = opt_func
        self.lr = check_number("Learner", "lr", lr, positive=True)
        self.metrics = metrics
        self.show = show
        self.opt = opt_func(model.parameters(), self.lr)
        self.recorder = Recorder(_unique_names([_name(m) for m in metrics]))
        self._step = capture(self._train_step) if jit else self._train_step
        self.lr_finder: tuple[list[float], list[float]] | None = None  # lr_find's (lrs, losses)

    # ---- training -------------------------------------------------------------------------
    def fit(self, n_epoch: int, lr: float | None = None, show: bool | None = None) -> None:
        """Train for `n_epoch` epochs (at `lr` if given, which then stays the optimizer's rate)."""
        _check_epochs(n_epoch)
        if lr is not None:
            self.lr = self.opt.lr = check_number("Learner.fit", "lr", lr, positive=True)
        self._fit(n_epoch, show, None)

    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float | None = None,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
        show: bool | None = None,
    ) -> None:
        """Train for `n_epoch` epochs with fastai's one-cycle schedule, set before each batch.

        At the fraction ``pos`` of all the batches done, the learning rate rises from
        ``lr_max / div`` to `lr_max` (default: the Learner's ``lr``) along half a cosine until
        ``pos = pct_start``, then falls along another to ``lr_max / div_final``; the momentum
        (SGD's ``momentum``, Adam's ``beta1``, when the optimizer has one) goes the other way,
        ``moms[0]`` to ``moms[1]`` and back to ``moms[2]``. The values of each batch are kept in
        ``recorder.lrs`` and ``recorder.moms``. With ``jit=True`` every batch replays one program,
        which reads the rate and momentum anew (docs/jit.md, *Hyperparameters*).
        """
        _check_epochs(n_epoch)
        lr_max = self.lr if lr_max is None else check_number("Learner.fit_one_cycle", "lr_max", lr_max, positive=True)
        if not 0 < check_number("Learner.fit_one_cycle", "pct_start", pct_start) < 1:
            raise ValueError(f"Learner.fit_one_cycle: pct_start must be in (0, 1), got {pct_start!r}")
        lrs = (lr_max / div, lr_max, lr_max / div_final)
        has_momentum = not math.isnan(_momentum(self.opt))
        n_iter, done = n_epoch * len(self.dls.train), 0

        def before_batch() -> None:
            nonlocal done
            pos = done / n_iter
            phase, start, end = (0, 0.0, pct_start) if pos < pct_start else (1, pct_start, 1.0)
            self.opt.lr = cosine(lrs[phase], lrs[phase + 1], (pos - start) / (end - start))
            if has_momentum:
                set_momentum(self.opt, cosine(moms[phase], moms[phase + 1], (pos - start) / (end - start)))
            done += 1

        self._fit(n_epoch, show, before_batch)

    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_it: int = 100,
        stop_div: bool = True,
        plot: str | Path | None = "lr_find.png",
    ) -> float:
        """The learning-rate range test (Smith; fastai's ``lr_find``): train for up to `num_it` batches
        (in train mode, repeating the training set if needed), the rate growing exponentially from
        `start_lr` to `end_lr`, and record the smoothed loss (beta 0.98) at each rate; stop early once
        it passes 4 times its minimum (with `stop_div`) or is no longer finite.

        Then the model's weights and buffers, its mode, and the optimizer's state and hyperparameters
        are put back as they were. Returns the suggested learning rate by fastai's *valley* rule: in
        the middle of the longest run of falling loss (a subsequence, skipping the first tenth of
        the points and the last five). The curve is kept in ``self.lr_finder`` as ``(lrs, losses)`` and,
        unless `plot` is None, drawn as a PNG at `plot` (log-scale learning rate on x).
        """
        start_lr = check_number("Learner.lr_find", "start_lr", start_lr, positive=True)
        end_lr = check_number("Learner.lr_find", "end_lr", end_lr, positive=True)
        if isinstance(num_it, bool) or not isinstance(num_it, int) or num_it < 2:
            raise ValueError(f"Learner.lr_find: num_it must be an int >= 2, got {num_it!r}")
        saved = _Snapshot(self.model, self.opt)
        try:
            lrs, losses = self._range_test(start_lr, end_lr, num_it, stop_div)
        finally:
            saved.restore()
        self.lr_finder = (lrs, losses)
        if len(losses) < 2:
            raise RuntimeError(
                f"lr_find: the loss diverged after {len(losses)} batch(es), at lr {start_lr:g}: lower start_lr"
            )
        best = _valley(lrs, losses, skip_start=num_it // 10, skip_end=5)
        if plot is not None:
            save_line_plot(
                plot, lrs, losses, xlabel="learning rate (log scale)", ylabel="smoothed training loss", log_x=True,
                mark=(lrs[best], losses[best]), title=f"lr_find: valley at {lrs[best]:.2e}",
            )  # fmt: skip
        return lrs[best]

    def _range_test(self, start_lr: float, end_lr: float, num_it: int, stop_div: bool) -> tuple[list, list]:
        """(learning rates, smoothed losses) of the range test's batches."""
        opt = self.opt
        _set_mode(self.model, training=True)
        smooth, best = SmoothedLoss(), math.inf
        lrs: list[float] = []
        losses: list[float] = []
        while len(lrs) < num_it:
            for batch in self.dls.train:
                opt.lr = start_lr * (end_lr / start_lr) ** (len(lrs) / num_it)
                _split(batch)  # checked: (inputs..., targets)
                try:
                    loss = self._train_step(*batch)
                except FloatingPointError:  # a gradient blew up: diverged
                    return lrs, losses
                smooth.add(_to_float(loss.array))
                if not math.isfinite(smooth.value):
                    return lrs, losses
                lrs.append(opt.lr)
                losses.append(smooth.value)
                best = min(best, smooth.value)
                if (stop_div and smooth.value > 4 * best) or len(lrs) == num_it:
                    return lrs, losses
            if not lrs:
                raise ValueError("the training DataLoader gave no batches")
        return lrs, losses

    def _fit(self, n_epoch: int, show: bool | None, before_batch: Callable[[], None] | None) -> None:
        show = self.show if show is None else show
        table = _Table(["epoch", "train_loss", "valid_loss", *self.recorder.metric_names, "time"]) if show else None
        smooth = SmoothedLoss()
        for epoch in range(n_epoch):
            start = time.perf_counter()
            label = f"epoch {epoch + 1}/{n_epoch}" if show else None
            train_mean = self._train_epoch(label, smooth, before_batch)
            train_loss = smooth.value
            valid_loss, *metric_values = self._validate(self.dls.valid, label)
            elapsed = time.perf_counter() - start
            rec = self.recorder
            rec.train_losses.append(train_loss)
            rec.train_means.append(train_mean)
            rec.valid_losses.append(valid_loss)
            for name, value in zip(rec.metric_names, metric_values):
                rec.metrics[name].append(value)
            rec.times.append(elapsed)
            if table is not None:
                values = (f"{v:.6f}" for v in (train_loss, valid_loss, *metric_values))
                table.row([str(epoch), *values, _format_time(elapsed)])

    def _train_step(self, *batch) -> Tensor:
        """One batch: the loss, its gradients, the optimizer's step; the loss is returned."""
        xs, y = batch[:-1], batch[-1]
        loss = self.loss_func(self.model(*xs), y)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return loss

    def _train_epoch(self, label: str | None, smooth: SmoothedLoss, before_batch: Callable[[], None] | None) -> float:
        opt, rec = self.opt, self.recorder
        _set_mode(self.model, training=True)
        losses, sizes = [], []
        for batch in _batches(self.dls.train, label and f"{label} train"):
            if before_batch is not None:
                before_batch()
            rec.lrs.append(opt.lr)
            rec.moms.append(_momentum(opt))
            _, y = _split(batch)
            loss = self._step(*batch)
            losses.append(loss.array)  # converted at the end of the epoch: no GPU sync per batch
            sizes.append(_batch_size(y))
        if not losses:
            raise ValueError("the training DataLoader gave no batches")
        values = [_to_float(v) for v in losses]
        self.recorder.losses.extend(values)
        for v in values:
            smooth.add(v)
        return _weighted_mean(values, sizes)

    def validate(self, dl=None) -> list[float]:
        """[valid_loss, *metrics] over `dl` (default ``dls.valid``), batch-size weighted, without gradients."""
        return self._validate(self.dls.valid if dl is None else dl, None)

    def _validate(self, dl, label: str | None) -> list[float]:
        model = self.model
        _set_mode(model, training=False)
        columns: list[list[Any]] = [[] for _ in range(1 + len(self.metrics))]
        sizes = []
        with no_grad():
            for batch in _batches(dl, label and f"{label} valid"):
                xs, y = _split(batch)
                preds = model(*xs)
                columns[0].append(_scalar(self.loss_func(preds, y)))
                for column, metric in zip(columns[1:], self.metrics):
                    column.append(_scalar(metric(preds, y)))
                sizes.append(_batch_size(y))
        if not sizes:
            raise ValueError("the validation DataLoader gave no batches")
        return [_weighted_mean([_to_float(v) for v in column], sizes) for column in columns]

    def predict(self, x) -> Tensor:
        """The model's output for `x` (a batch), in eval mode and without recording gradients."""
        model = self.model
        was_training = getattr(model, "training", None)
        if not isinstance(x, Tensor):
            x = tensor(x)
        _set_mode(model, training=False)
        try:
            with no_grad():
                return model(x)
        finally:
            if was_training:
                _set_mode(model, training=True)

    def __repr__(self) -> str:
        return f"Learner(model={type(self.model).__name__}, opt={self.opt!r}, epochs={len(self.recorder)})"


class _Snapshot:
    """A copy of a model's state (weights, buffers, mode) and its optimizer's, to put back later."""

    def __init__(self, model, opt):
        self.model, self.opt = model, opt
        self.state = model.state_dict() if hasattr(model, "state_dict") else None
        self.training = getattr(model, "training", None)
        self.hypers = {name: getattr(opt, name) for name in getattr(opt, "defaults", {})}
        opt_state = getattr(opt, "state", None)
        self.opt_state = None
        if isinstance(opt_state, dict):
            self.opt_state = {p: {k: _copied(v) for k, v in s.items()} for p, s in opt_state.items()}

    def restore(self) -> None:
        if self.state is not None:
            self.model.load_state_dict(self.state)
        if self.training is not None:
            _set_mode(self.model, self.training)
        for name, value in self.hypers.items():
            setattr(self.opt, name, value)
        if self.opt_state is not None:
            self.opt.state = self.opt_state
        self.opt.zero_grad()


def _copied(value):
    """A copy of an array (numpy or cupy); other values (step counts) as they are."""
    return value.copy() if hasattr(value, "copy") else value


def _valley(lrs: list[float], losses: list[float], skip_start: int, skip_end: int) -> int:
    """fastai's valley rule: the longest falling subsequence of `losses` (ignoring the first
    `skip_start` and last `skip_end` points, unless too few would remain), n points long and ending
    at index e; the suggestion is the point n / 2 before e (fastai's, within one point)."""
    lo, hi = skip_start, len(losses) - skip_end
    if hi - lo < 2:
        lo, hi = 0, len(losses)
    length = [1] * hi  # length[i]: of the longest falling subsequence ending at i
    for i in range(lo, hi):
        for j in range(lo, i):
            if losses[j] > losses[i]:
                length[i] = max(length[i], length[j] + 1)
    end = max(range(lo, hi), key=lambda i: (length[i], -i))
    return end - length[end] // 2


class SmoothedLoss:
    """fastai's smoothed loss: an exponential moving average of the batch losses, debiased
    (``avg = beta * avg + (1 - beta) * loss``, shown as ``avg / (1 - beta ** count)``)."""

    def __init__(self, beta: float = 0.98):
        self.beta, self.average, self.count = beta, 0.0, 0

    def add(self, loss: float) -> None:
        self.average = self.beta * self.average + (1 - self.beta) * loss
        self.count += 1

    @property
    def value(self) -> float:
        return self.average / (1 - self.beta**self.count) if self.count else math.nan


def _check_epochs(n_epoch) -> None:
    if isinstance(n_epoch, bool) or not isinstance(n_epoch, int) or n_epoch < 0:
        raise ValueError(f"n_epoch must be an int >= 0, got {n_epoch!r}")


def _momentum(opt) -> float:
    """The optimizer's momentum (SGD's, or Adam's beta1), NaN when it has none."""
    try:
        return get_momentum(opt)
    except ValueError:
        return math.nan


def _batches(dl, label: str | None):
    """The batches of `dl`, with a progress bar labelled `label` on a terminal (none if `label` is None)."""
    return dl if label is None else progress_over(dl, label, keep=False)


def _split(batch) -> tuple[Sequence, Any]:
    """(the model's inputs, the target) of an (x, y) or (x1, ..., xn, y) batch."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"each batch must be a tuple (inputs..., targets), got a {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
            + ": build the dataset from (x, y) pairs, e.g. TensorDataset(x, y) or list(zip(x, y))"
        )
    return batch[:-1], batch[-1]


def _set_mode(model, training: bool) -> None:
    switch = getattr(model, "train" if training else "eval", None)
    if callable(switch):
        switch()


def _scalar(value):
    """A metric's or loss's value, still on its device when it is a tensor (synced once per epoch)."""
    if isinstance(value, Tensor):
        if value.array.size != 1:
            raise ValueError(f"a loss or metric must be a scalar, got a tensor of shape {value.shape}")
        return value.array
    return value


def _to_float(v) -> float:
    """A Python float from a number or a one-element array (numpy or cupy)."""
    return float(v.item()) if hasattr(v, "item") else float(v)


def _batch_size(y) -> int:
    shape = getattr(y, "shape", None)
    if shape:
        return shape[0]
    try:
        return len(y)
    except TypeError:
        return 1


def _weighted_mean(values: list[float], sizes: list[int]) -> float:
    return sum(v * n for v, n in zip(values, sizes)) / sum(sizes)


def _name(metric) -> str:
    fn = getattr(metric, "func", metric)  # functools.partial
    return getattr(fn, "__name__", type(fn).__name__)


def _unique_names(names: list[str]) -> list[str]:
    out = []
    for name in names:
        candidate, k = name, 1
        while candidate in out:
            k += 1
            candidate = f"{name}_{k}"
        out.append(candidate)
    return out


def _format_time(seconds: float) -> str:
    """mm:ss, or h:mm:ss past an hour (as fastai)."""
    t = int(seconds)
    h, m, s = t // 3600, t // 60 % 60, t % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _Table:
    """fastai's console table: names padded to 8 characters, two spaces between columns."""

    def __init__(self, names: list[str]):
        self.widths = [max(len(n), 8) for n in names]
        self._print("  ".join(n.ljust(w) for n, w in zip(names, self.widths)))

    def row(self, cells: list[str]) -> None:
        self._print("  ".join(c.ljust(w) for c, w in zip(cells, self.widths)))

    @staticmethod
    def _print(line: str) -> None:
        print(line.rstrip(), flush=True)
