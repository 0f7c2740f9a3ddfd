"""minigrad.jit: a replayed step gives eager's results bit for bit, and each guard catches a stale replay."""

from __future__ import annotations

import math
import tracemalloc
import warnings

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from shared_data import SAMPLE, needs_sample

import minigrad as mg
from minigrad import nn
from minigrad.jit.program import numbers_converted
from minigrad.nn.functional import mnist_loss
from minigrad.optim import SGD, Adam


def batches(n: int, bs: int = 64, features: int = 784, seed: int = 0) -> list[tuple[mg.Tensor, mg.Tensor]]:
    rng = np.random.default_rng(seed)
    return [
        (
            mg.tensor(rng.random((bs, features), dtype=np.float32)),
            mg.tensor((rng.random((bs, 1)) > 0.5).astype(np.float32)),
        )
        for _ in range(n)
    ]


def linear_model(seed: int = 0) -> tuple[object, list[mg.Tensor]]:
    """The chapter's linear1 on bare tensors: xb @ weights + bias."""
    gen = mg.Generator(seed)
    weights = mg.randn(784, 1, generator=gen).requires_grad_()
    bias = mg.randn(1, generator=gen).requires_grad_()
    return (lambda xb: xb @ weights + bias), [weights, bias]


def simple_net(seed: int = 0) -> tuple[object, list[mg.Tensor]]:
    mg.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 1))
    return net, list(net.parameters())


def train(make_model, data, jitted: bool, opt_func=SGD, lr: float = 1.0, **opt_kwargs):
    """(the parameters' arrays after training, the losses, the step) for one pass over `data`."""
    model, params = make_model()
    step = training_step(model, opt_func(params, lr=lr, **opt_kwargs))
    run = mg.jit(step) if jitted else step
    losses = [run(xb, yb) for xb, yb in data]
    return [p.numpy().copy() for p in params], losses, run


def training_step(model, opt):
    """The chapter's step: mnist_loss, backward, the optimizer's step; returns the loss."""

    def step(xb, yb):
        loss = mnist_loss(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return step


def assert_same(eager, jitted) -> None:
    (params_e, losses_e, _), (params_j, losses_j, _) = eager, jitted
    for a, b in zip(params_e, params_j):
        assert np.array_equal(a, b)
    for a, b in zip(losses_e, losses_j):
        assert a.requires_grad == b.requires_grad
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("make_model", [linear_model, simple_net], ids=["linear", "simple_net"])
def test_training_loops_are_bit_identical_to_eager(make_model):
    data = batches(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing falls back to eager
        jitted = train(make_model, data, jitted=True)
    assert jitted[2].program is not None
    assert_same(train(make_model, data, jitted=False), jitted)


@needs_sample
def test_real_mnist_sample_linear_model_and_simple_net():
    from minigrad.data import load_image_folder, untar_data

    images, labels, _ = load_image_folder(untar_data(SAMPLE) / "train")
    order = np.random.default_rng(0).permutation(len(images))[: 256 * 6]
    x = (images.numpy()[order].astype(np.float32) / 255).reshape(-1, 784)
    y = (labels.numpy()[order] == 0).astype(np.float32).reshape(-1, 1)
    data = [(mg.tensor(x[i : i + 256]), mg.tensor(y[i : i + 256])) for i in range(0, len(x), 256)]
    for make_model in (linear_model, simple_net):
        assert_same(train(make_model, data, jitted=False), train(make_model, data, jitted=True))


def test_adam_with_a_learning_rate_schedule_100_steps():
    data = batches(4, bs=16, features=784)
    results = []
    for jitted in (False, True):
        model, params = simple_net()
        opt = Adam(params, lr=1e-2)
        step = training_step(model, opt)
        run = mg.jit(step) if jitted else step
        losses = []
        for i in range(100):
            opt.lr = 1e-2 * 0.5 ** (i // 25)  # a step schedule: four rates
            losses.append(run(*data[i % 4]).item())
        results.append(([p.numpy().copy() for p in params], losses, opt.state[params[0]]["step"]))
    (pe, le, se), (pj, lj, sj) = results
    assert le == lj and se == sj == 100
    for a, b in zip(pe, pj):
        assert np.array_equal(a, b)


def test_program_is_readable_python_over_arrays():
    _, _, run = train(linear_model, batches(3), jitted=True)
    source = str(run.program)
    assert source.startswith("def program(")
    assert "matmul" in source and "Tensor" not in source


# ---- one test per guard: a replay that would be stale retraces ------------------------------------
def counting(fn):
    """fn jitted, with a count of the calls that ran fn's Python (eager and traced ones)."""
    calls = []

    def counted(*args):
        calls.append(1)
        return fn(*args)

    return mg.jit(counted), calls


def test_changed_shape_or_dtype_retraces():
    w = mg.ones(3, requires_grad=False)
    run, calls = counting(lambda x: (x * w).sum())
    x = mg.tensor([1.0, 2.0, 3.0])
    for _ in range(3):
        run(x)
    assert len(calls) == 2  # eager, traced, then replayed
    assert run(mg.tensor([[1.0, 2.0, 3.0]] * 2)).item() == 12.0  # new shape
    assert run(mg.tensor([1.0, 2.0, 4.0], dtype=mg.float64)).dtype == mg.float64  # new dtype
    assert len(calls) == 4


def test_replaced_parameter_is_read_anew():
    model = nn.Linear(3, 1)
    run, _ = counting(lambda x: model(x).detach())
    x = mg.ones(2, 3)
    for _ in range(3):
        run(x)
    model.weight = nn.Parameter(mg.zeros(1, 3))
    model.bias = nn.Parameter(mg.zeros(1))
    assert np.array_equal(run(x).numpy(), np.zeros((2, 1), np.float32))
    model.weight.data = mg.full((1, 3), 2.0)  # a new array in the same tensor
    assert np.array_equal(run(x).numpy(), np.full((2, 1), 6.0, np.float32))


def test_switching_a_model_to_eval_retraces():
    """BatchNorm reads `training` (a bool): model.eval() between calls must not replay the training program."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    run, calls = counting(lambda x: model(x).sum().detach())
    x = mg.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    for _ in range(3):
        run(x)
    model.eval()
    expected = model(x).sum().item()  # eval mode: the running statistics
    assert run(x).item() == expected and len(calls) == 3
    model[1].eps = 0.1  # a setting read by value
    assert run(x).item() == model(x).sum().item() != expected and len(calls) == 4


def test_a_branch_on_item_flips():
    def fn(x):
        return x * 2 if x.sum().item() > 0 else x * -1

    run, calls = counting(fn)
    pos, neg = mg.tensor([1.0, 2.0]), mg.tensor([-1.0, -2.0])
    for _ in range(3):
        assert run(pos).tolist() == [2.0, 4.0]
    assert run(neg).tolist() == [1.0, 2.0]  # the guard on .item() fails: traced again
    assert run(pos).tolist() == [2.0, 4.0]
    assert run(neg).tolist() == [1.0, 2.0]


def test_a_value_read_after_writing_a_buffer_is_checked_before_the_write():
    running = mg.zeros(2)  # a buffer the step updates in place, as a batch norm's running mean

    def fn(x):
        running.mul_(0.5).add_(x)
        return x * 2 if x.sum().item() > 0 else x * -1  # the check moves before the update

    run, calls = counting(fn)
    pos, neg = mg.tensor([1.0, 2.0]), mg.tensor([-1.0, -2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for _ in range(3):
            assert run(pos).tolist() == [2.0, 4.0]
        assert len(calls) == 2
        assert run(neg).tolist() == [1.0, 2.0] and len(calls) == 3  # the check failed before the update ran
    assert running.tolist() == [1.75 * 0.5 - 1.0, 3.5 * 0.5 - 2.0]  # updated once per call, never twice


def test_a_value_read_from_what_the_step_wrote_runs_eagerly():
    w = mg.tensor([1.0, 2.0])

    def fn(x):
        w.add_(x)
        return x * 2 if w.sum().item() > 0 else x * -1  # depends on the write: no program can check it first

    run, calls = counting(fn)
    x = mg.tensor([1.0, 1.0])
    with pytest.warns(RuntimeWarning, match="depends on its in-place writes"):
        for _ in range(4):
            run(x)
    assert w.tolist() == [5.0, 6.0] and len(calls) == 4


def conv_net(width: int, layers: int):
    """Conv2d, BatchNorm2d and ReLU blocks (stride 2), then pooling: the example CNN's parts."""
    mg.manual_seed(0)
    blocks, channels = [], 1
    for _ in range(layers):
        blocks += [nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    return nn.Sequential(*blocks, nn.Conv2d(channels, 10, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())


@pytest.mark.parametrize("layers", [0, 2])
def test_a_conv_net_with_batch_norm_replays_bit_for_bit(layers):
    """Batch-last views of convolutions, running statistics updated in place, and cross_entropy's
    check of its targets (a value read after those updates): captured, and eager's numbers."""
    from minigrad.nn.functional import cross_entropy

    rng = np.random.default_rng(0)
    data = [
        (mg.tensor(rng.random((8, 1, 12, 12), dtype=np.float32)), mg.tensor(rng.integers(0, 10, 8))) for _ in range(3)
    ]
    results = []
    for jitted in (False, True):
        model = conv_net(4, layers)
        opt = Adam(model.parameters(), lr=0.01)

        def step(x, y):
            loss = cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        run = mg.jit(step) if jitted else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            losses = [run(*data[i % 3]).item() for i in range(6)]
        results.append((losses, [t.numpy().copy() for t in (*model.parameters(), *model.buffers())], run))
    (le, te, _), (lj, tj, run) = results
    assert le == lj and all(np.array_equal(a, b) for a, b in zip(te, tj))
    assert run.program is not None and "matmul" in str(run.program)


def test_requires_grad_change_retraces():
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def fn(x):
        (x * w).sum().backward()
        return x.sum().detach()

    run, calls = counting(fn)
    x = mg.tensor([3.0, 4.0])
    for _ in range(3):
        run(x)
    assert w.grad.tolist() == [9.0, 12.0]
    w.requires_grad_(False)
    w.grad = None
    with pytest.raises(RuntimeError, match="does not require grad"):
        run(x)  # as eagerly: nothing requires grad
    w.requires_grad_(True)
    run(x)
    assert w.grad.tolist() == [3.0, 4.0]


def test_grad_present_or_none_is_guarded():
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def fn(x):
        (x * w).sum().backward()  # accumulates into w.grad

    run, _ = counting(fn)
    x = mg.tensor([1.0, 1.0])
    for _ in range(3):
        w.grad = None
        run(x)
    run(x)  # w.grad present now: accumulates, as eagerly
    assert w.grad.tolist() == [2.0, 2.0]
    run(x)
    assert w.grad.tolist() == [3.0, 3.0]


def test_grad_mode_is_part_of_the_key():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    run, calls = counting(lambda x: (x * w).sum())
    x = mg.tensor([1.0, 1.0])
    with mg.no_grad():
        for _ in range(3):
            out = run(x)
    assert out.requires_grad is False and len(calls) == 2
    run(x)
    with pytest.warns(RuntimeWarning, match="graph"):
        out = run(x)  # under grad mode fn returns a graph: that can't be replayed, so it runs eagerly
    assert out.requires_grad
    out.backward()
    assert w.grad.tolist() == [1.0, 1.0]


def stepping_one_weight(opt_func):
    """w = [1.0] trained on (w * 2).sum() by opt_func at lr 1.0, jitted and counted, after 3 calls
    (eager, traced, replayed): (w, the optimizer, the jitted step, its count of Python runs)."""
    w = mg.tensor([1.0], requires_grad=True)
    opt = opt_func([w], lr=1.0)

    def fn():
        (w * 2).sum().backward()
        opt.step()
        opt.zero_grad()

    run, calls = counting(fn)
    for _ in range(3):
        run()
    return w, opt, run, calls


def test_a_changed_learning_rate_is_read_by_the_replay():
    w, opt, run, calls = stepping_one_weight(SGD)
    assert w.item() == 1.0 - 6.0 and len(calls) == 2
    opt.lr = 0.5
    run()
    assert w.item() == -5.0 - 1.0 and len(calls) == 2  # replayed, with the new rate


def test_a_hyperparameter_the_step_branches_on_retraces_when_its_truth_changes():
    w, opt, run, calls = stepping_one_weight(SGD)
    opt.weight_decay = 0.5  # `if weight_decay:` now takes the other branch: g + 0.5 * w
    run()
    assert w.item() == -5.0 - (2.0 + 0.5 * -5.0) and len(calls) == 3
    opt.weight_decay = 0.25  # the same branch: replayed with the new value
    run()
    assert w.item() == -4.5 - (2.0 + 0.25 * -4.5) and len(calls) == 3


def test_a_parameter_added_to_the_optimizer_retraces():
    w, v = mg.tensor([1.0], requires_grad=True), mg.tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=1.0)

    def fn():
        (w * 2 + v * 3).sum().backward()
        opt.step()
        opt.zero_grad()
        v.grad = None

    run, calls = counting(fn)
    for _ in range(3):
        run()
    opt.params.append(v)  # v is trained from now on
    run()
    assert (w.item(), v.item(), len(calls)) == (1.0 - 8.0, 1.0 - 3.0, 3)


def test_a_gradient_hook_registered_or_removed_retraces():
    w, opt, run, calls = stepping_one_weight(SGD)
    handle = w.register_hook(lambda g: g * 10)  # eager calls would use it: so must the program
    run()
    assert w.item() == 1.0 - 6.0 - 20.0 and len(calls) == 3
    run()
    assert w.item() == 1.0 - 6.0 - 40.0 and len(calls) == 3  # the new program replays
    handle.remove()
    run()
    assert w.item() == 1.0 - 6.0 - 40.0 - 2.0


def test_a_scheduler_stepped_inside_the_function_runs_it_eagerly():
    """A replay runs no Python: a rate set inside fn would never change. Refused, with eager's numbers."""
    from minigrad.optim.lr_scheduler import StepLR

    results = []
    for jitted in (False, True):
        w = mg.tensor([1.0], requires_grad=True)
        opt = SGD([w], lr=1.0)
        sched = StepLR(opt, step_size=1, gamma=0.5)

        def fn(w=w, opt=opt, sched=sched):
            (w * 2).sum().backward()
            opt.step()
            opt.zero_grad()
            sched.step()

        run = mg.jit(fn) if jitted else fn
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(5):
                run()
        results.append(w.item())
        if jitted:
            assert any("sets the optimizer's lr" in str(c.message) for c in caught)
    assert results[0] == results[1] == 1.0 - 2 * (1 + 0.5 + 0.25 + 0.125 + 0.0625)


def test_a_users_optimizer_keeps_its_hyperparameters_guarded_by_value():
    class Halving(SGD):
        def _update(self, p, data, grad):
            return grad * (float(self.lr) / 2)  # Python arithmetic the trace can't see: guarded by value

    w, opt, run, calls = stepping_one_weight(Halving)
    opt.lr = 0.5
    run()
    assert w.item() == 1.0 - 3.0 - 0.5 and len(calls) == 3


@pytest.mark.parametrize("opt_func", [SGD, Adam])
def test_a_schedule_of_learning_rate_and_momentum_replays_one_program(opt_func):
    from minigrad.optim.lr_scheduler import set_momentum

    data = batches(3, bs=16)
    results = []
    for jitted in (False, True):
        model, params = simple_net()
        opt = opt_func(params, lr=0.1, **({"momentum": 0.9} if opt_func is SGD else {}))
        step = training_step(model, opt)
        run = mg.jit(step) if jitted else step
        losses = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no eager fallback
            for i in range(30):
                opt.lr = 0.1 * (1 + math.cos(math.pi * i / 30)) / 2
                set_momentum(opt, 0.95 - 0.1 * i / 30)
                losses.append(run(*data[i % 3]).item())
        results.append(([p.numpy().copy() for p in params], losses, run))
    (pe, le, _), (pj, lj, run) = results
    assert le == lj
    for a, b in zip(pe, pj):
        assert np.array_equal(a, b)
    assert [e.traces for e in run._entries.values()] == [1]


def test_tensors_among_other_arguments_and_keywords_are_the_inputs():
    w = mg.tensor([1.0, -1.0], requires_grad=True)

    def fn(scale, x, *, y, shift=0.0):
        loss = ((x * w - y) ** 2).sum() * scale + shift
        loss.backward()
        return loss.detach()

    eager = [fn(2.0, mg.tensor([float(i), 1.0]), y=mg.tensor([1.0, 0.0]), shift=1.0).item() for i in range(5)]
    w.grad = None
    run = mg.jit(fn)
    jitted = [run(2.0, mg.tensor([float(i), 1.0]), y=mg.tensor([1.0, 0.0]), shift=1.0).item() for i in range(5)]
    assert jitted == eager and run.program is not None
    assert "_tensors_in(args, kwargs)" in str(run.program)
    assert run(3.0, mg.tensor([1.0, 1.0]), y=mg.tensor([1.0, 0.0]), shift=1.0).item() == 3.0 * 1.0 + 1.0  # new key


# ---- what can't be captured runs eagerly, once warned ---------------------------------------------
def test_random_numbers_inside_run_eagerly_with_a_warning():
    run, calls = counting(lambda x: x + mg.randn(2))
    x = mg.zeros(2)
    run(x)
    with pytest.warns(RuntimeWarning, match="random"):
        a = run(x)
    b = run(x)
    assert not np.array_equal(a.numpy(), b.numpy())  # fresh numbers each call
    assert len(calls) == 3


def test_a_value_kept_in_a_python_object_runs_eagerly():
    kept = []
    w = mg.tensor([1.0, 2.0])
    run, calls = counting(lambda x: kept.append(x * w))
    run(mg.ones(2))
    with pytest.warns(RuntimeWarning, match="keeps an array"):
        run(mg.ones(2))
    run(mg.full((2,), 3.0))
    assert kept[-1].tolist() == [3.0, 6.0]


# ---- buffers ------------------------------------------------------------------------------------
def test_returned_values_are_never_overwritten():
    w = mg.tensor([1.0, 2.0])
    run = mg.jit(lambda x: ((x * w + 1) * 2, (x - w).exp()))
    outs = [run(mg.full((2,), float(i))) for i in range(5)]
    for i, (a, b) in enumerate(outs):
        assert a.tolist() == [(i * 1.0 + 1) * 2, (i * 2.0 + 1) * 2]
        assert np.array_equal(b.numpy(), np.exp(np.float32(i) - np.array([1.0, 2.0], np.float32)))


def test_memory_per_step_is_flat():
    data = batches(2, bs=32)
    _, _, run = train(linear_model, data, jitted=True)
    for xb, yb in data * 5:
        run(xb, yb)
    tracemalloc.start()
    try:
        for xb, yb in data * 20:
            run(xb, yb)
        first, _ = tracemalloc.get_traced_memory()
        for xb, yb in data * 100:
            run(xb, yb)
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 20_000


def test_jit_takes_a_function():
    with pytest.raises(TypeError, match="function"):
        mg.jit(3)  # type: ignore[arg-type]


def test_learner_with_jit_gives_the_same_figures():
    from minigrad.data import DataLoaders, TensorDataset
    from minigrad.learner import Learner
    from minigrad.metrics import batch_accuracy

    train_set, valid_set = (
        TensorDataset(mg.cat([b[0] for b in d]), mg.cat([b[1] for b in d])) for d in (batches(5), batches(2, seed=1))
    )
    values = []
    for jit in (False, True):
        dls = DataLoaders.from_dsets(train_set, valid_set, batch_size=48)
        model, _ = simple_net()
        learn = Learner(dls, model, loss_func=mnist_loss, lr=0.1, metrics=batch_accuracy, show=False, jit=jit)
        learn.fit(3)
        values.append((learn.recorder.values, learn.recorder.losses))
    assert values[0] == values[1]


def check_fit_one_cycle(device: str = "cpu"):
    """fit_one_cycle with jit=True on `device`: eager's figures, rates and momenta, with one program
    traced for every rate; the jitted Learner, for more checks."""
    from minigrad.data import DataLoaders, TensorDataset
    from minigrad.learner import Learner

    train_set, valid_set = (
        TensorDataset(mg.cat([b[0] for b in d]).to(device), mg.cat([b[1] for b in d]).to(device))
        for d in (batches(4), batches(1, seed=1))
    )
    values = []
    for jit in (False, True):
        dls = DataLoaders.from_dsets(train_set, valid_set, batch_size=64)
        model = simple_net()[0].to(device)
        learn = Learner(dls, model, loss_func=mnist_loss, opt_func=Adam, lr=0.01, show=False, jit=jit)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            learn.fit_one_cycle(2)
        values.append((learn.recorder.values, learn.recorder.losses, learn.recorder.lrs, learn.recorder.moms))
    assert values[0] == values[1]
    assert sum(e.traces for e in learn._step._entries.values()) == 1  # one program for every rate
    return learn


def test_fit_one_cycle_with_jit_replays_and_gives_the_same_figures():
    check_fit_one_cycle()


@pytest.mark.skipif(not mg.cuda.is_available(), reason="needs a CUDA GPU and cupy")
def test_on_cuda_the_step_is_captured_with_the_same_results():
    data = [(xb.to("cuda"), yb.to("cuda")) for xb, yb in batches(4)]

    def on_cuda():
        model, params = linear_model()
        for p in params:
            p.data = p.to("cuda")
        return model, params

    eager = train(on_cuda, data, jitted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing falls back to eager
        jitted = train(on_cuda, data, jitted=True)
    assert jitted[2].program is not None and "with Device_" in str(jitted[2].program)
    assert_same(eager, jitted)


def test_a_jitted_function_inside_another_is_part_of_its_program():
    w = mg.tensor([1.0, 2.0])
    inner = mg.jit(lambda x: x * w)
    outer = mg.jit(lambda x: inner(x) + 1)
    for i in range(4):
        assert outer(mg.full((2,), float(i))).tolist() == [i + 1.0, 2 * i + 1.0]
    assert outer.program is not None and "multiply" in str(outer.program)


def test_a_closure_variable_rebound_to_a_new_tensor_is_read_anew():
    weights = mg.tensor([1.0, 2.0])

    def model(x):
        return x * weights

    run = mg.jit(lambda x: model(x).sum())
    x = mg.tensor([1.0, 1.0])
    for _ in range(3):
        assert run(x).item() == 3.0
    weights = mg.tensor([5.0, 5.0])  # noqa: F841  (read by model, through its closure)
    assert run(x).item() == 10.0


_UFUNCS = [
    np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide, np.remainder, np.power, np.maximum, np.fmin,
    np.arctan2, np.hypot, np.equal, np.less, np.greater_equal, np.logical_and, np.bitwise_xor, np.negative,
]  # fmt: skip
_NUMBERS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(width=16) | st.floats(min_value=-1e-40, max_value=1e-40),
    st.sampled_from([np.float32(0.1), np.float64(-0.0), np.int8(-3), np.uint8(200), np.float16(65504)]),
)


@settings(max_examples=400, deadline=None)
@given(
    fn=st.sampled_from([*_UFUNCS, np.where]),
    array=hnp.arrays(
        st.sampled_from(["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "uint64", "bool"]),
        hnp.array_shapes(max_dims=2, max_side=3),
    ),
    number=_NUMBERS,
    number_first=st.booleans(),
)
def test_a_number_converted_once_gives_numpys_own_result(fn, array, number, number_first):
    """A replay hands numbers to numpy as 0-d arrays of the dtype numpy would convert them to: the
    result must be the same bits, with the same dtype, as numpy's from the number itself."""
    operands = (number, array) if number_first else (array, number)
    if fn is np.where:
        operands = (array.astype(bool), *operands)
    elif fn.nin == 1:
        operands = operands[:1]
    kinds = [a.dtype if isinstance(a, np.ndarray | np.generic) else type(a) for a in operands]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = fn(*operands)
        except (TypeError, ValueError, OverflowError):  # no such loop, or the number does not fit: no program
            return
        converted = numbers_converted(fn, operands, kinds, None, "same_kind")
        got = fn(*converted)
    assert all(isinstance(c, np.ndarray) or type(c) is int for c, a in zip(converted, operands) if a is number)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()


# ---- property tests: random steps, jitted and eager, the same bits -------------------------------------
_CHAIN = {
    "exp": lambda x: (x * 0.1).exp(), "tanh": lambda x: x.tanh(), "relu": lambda x: x.relu(),
    "sigmoid": lambda x: x.sigmoid(), "square": lambda x: x * x, "neg": lambda x: -x, "abs": lambda x: x.abs(),
    "affine": lambda x: x * 0.5 + 1, "rsub": lambda x: 1 - x, "div": lambda x: x / (x.abs() + 1),
    "log": lambda x: (x.abs() + 1).log(), "pow": lambda x: x.abs() ** 1.5, "sqrt": lambda x: (x * x + 1).sqrt(),
    "halves": lambda x: mg.cat([x[:, ::2], x[:, 1::2]], 1), "flip": lambda x: x.flip(1), "double_t": lambda x: x.T.T,
    "softmax": lambda x: nn.functional.softmax(x, dim=1), "log_softmax": lambda x: nn.functional.log_softmax(x, dim=-1),
    "minus_max": lambda x: x - x.max(dim=1, keepdim=True).values, "minus_mean": lambda x: x - x.mean(0),
    "where": lambda x: mg.where(x > 0, x, x * 0.1), "clamp": lambda x: x.clamp(-1, 1),
    "cumsum": lambda x: x.cumsum(1) * 0.1, "over_std": lambda x: x / (x.std() + 1),
}  # fmt: skip


def _same_bits_jitted_and_eager(make_step, batches, calls: int) -> None:
    """Run make_step()'s step over `batches` (cycled) `calls` times, eagerly and jitted (on fresh state
    each), halving the learning rate halfway: every result and every parameter and buffer must be the
    same bits; no eager fallback."""
    results = []
    for jitted in (False, True):
        step, tensors, opt = make_step()
        run = mg.jit(step) if jitted else step
        outs = []
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.filterwarnings("error", message="minigrad.jit runs")
            for i in range(calls):
                if i == calls // 2:
                    opt.lr = opt.lr / 2  # a schedule: read anew by each replay
                try:
                    outs.append(run(*batches[i % len(batches)]).numpy().tobytes())
                except FloatingPointError as e:  # a NaN gradient: eager raises, and so must a replay
                    outs.append(str(e).encode())
        results.append((outs, [t.numpy().tobytes() for t in tensors]))
    assert results[0] == results[1]


OP_CHAINS = {
    "ops": st.lists(st.sampled_from(sorted(_CHAIN)), min_size=1, max_size=6),
    "shape": st.tuples(st.integers(1, 5), st.integers(2, 6)),
    "seed": st.integers(0, 2**16),
    "through_matmul": st.booleans(),
}


def check_op_chain(ops, shape, seed, through_matmul, device="cpu"):
    """A step through a chain of `ops` (from _CHAIN) replays eager's bits on `device`."""
    rng = np.random.default_rng(seed)
    batches_ = [(mg.tensor(rng.standard_normal(shape, dtype=np.float32), device=device),) for _ in range(3)]
    w0 = rng.standard_normal((shape[1], shape[1]), dtype=np.float32)

    def make_step():
        w = mg.tensor(w0, requires_grad=True, device=device)
        opt = SGD([w], lr=0.1, momentum=0.9)

        def step(x):
            h = x @ w if through_matmul else x * w.sum(0)
            for name in ops:
                h = _CHAIN[name](h)
            loss = h.sum()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.detach()

        return step, [w], opt

    _same_bits_jitted_and_eager(make_step, batches_, calls=6)


@settings(max_examples=150, deadline=None)
@given(**OP_CHAINS)
def test_random_op_chains_replay_bit_for_bit(ops, shape, seed, through_matmul):
    check_op_chain(ops, shape, seed, through_matmul)


def _random_net(kinds: list[str], width: int) -> nn.Module:
    layers: list[nn.Module] = []
    channels, size = 2, 8
    for kind in kinds:
        if kind in ("conv", "conv_stride_2"):
            stride = 2 if kind == "conv_stride_2" else 1
            layers.append(nn.Conv2d(channels, width, 3, stride=stride, padding=1))
            channels, size = width, (size + stride - 1) // stride
        elif kind == "batch_norm" and size > 1:
            layers.append(nn.BatchNorm2d(channels))
        elif kind == "group_norm":
            layers.append(nn.GroupNorm(2, channels))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind in ("max_pool", "avg_pool") and size >= 2:
            layers.append(nn.MaxPool2d(2) if kind == "max_pool" else nn.AvgPool2d(2))
            size //= 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * size * size, 5))


CONV_NETS = {
    "kinds": st.lists(
        st.sampled_from(["conv", "conv_stride_2", "batch_norm", "group_norm", "relu", "max_pool", "avg_pool"]),
        max_size=5,
    ),
    "width": st.sampled_from([2, 4]),
    "batch": st.integers(2, 4),
    "seed": st.integers(0, 2**16),
    "adam": st.booleans(),
    "classes": st.booleans(),
}


def check_conv_net(kinds, width, batch, seed, adam, classes, device="cpu"):
    """A random net of convolutions, norms and pools (`kinds`), with cross_entropy or a squared loss,
    SGD with momentum or Adam, replays eager's bits on `device`."""
    from minigrad.nn.functional import cross_entropy

    rng = np.random.default_rng(seed)
    images = [rng.standard_normal((batch, 2, 8, 8), dtype=np.float32) for _ in range(3)]
    batches_ = [(mg.tensor(x, device=device), mg.tensor(rng.integers(0, 5, batch), device=device)) for x in images]

    def make_step():
        mg.manual_seed(seed)
        model = _random_net(kinds, width).to(device)
        opt = Adam(model.parameters(), lr=0.01) if adam else SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(x, y):
            out = model(x)
            loss = cross_entropy(out, y) if classes else (out**2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.detach()

        return step, [*model.parameters(), *model.buffers()], opt

    _same_bits_jitted_and_eager(make_step, batches_, calls=6)


@settings(max_examples=40, deadline=None)
@given(**CONV_NETS)
def test_random_conv_nets_replay_bit_for_bit(kinds, width, batch, seed, adam, classes):
    check_conv_net(kinds, width, batch, seed, adam, classes)
