"""The same ops on every GPU: cupy results against numpy (the CPU) at float32 tolerance.

Each test runs on cuda:0 and cuda:1 where cupy sees that many GPUs, and is skipped otherwise,
saying why. Without a GPU, ``PYTHONPATH=../shared/fakecupy`` runs them on a CPU stand-in for
cupy that reports two GPUs and enforces cupy's device rules (see docs/backends.md).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from test_jit import (
    CONV_NETS,
    OP_CHAINS,
    batches,
    check_conv_net,
    check_fit_one_cycle,
    check_op_chain,
    linear_model,
    simple_net,
    training_step,
)

import minigrad as mg
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn import functional as F
from minigrad.optim import SGD, Adam

GPUS = mg.cuda.device_count()
needs_cuda = pytest.mark.skipif(GPUS < 1, reason="needs a CUDA GPU and cupy")
needs_two = pytest.mark.skipif(GPUS < 2, reason=f"needs 2 CUDA GPUs and cupy, found {GPUS}")
ON_GPUS = [pytest.param("cuda:0", marks=needs_cuda), pytest.param("cuda:1", marks=needs_two)]

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal(4).astype(np.float32)
C = rng.standard_normal((4, 2)).astype(np.float32)
POSITIVE = (rng.random((3, 4)) + 0.5).astype(np.float32)
MASK = rng.random((3, 4)) > 0.5
IMAGES = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
KERNELS = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
LABELS = np.array([2, 0, 3], dtype=np.int64)
ROWS = np.array([[0, 2], [1, 1], [2, 0]], dtype=np.int64)


def assert_close(t: mg.Tensor, expected, device: str, rtol: float = 1e-5) -> None:
    assert t.device == device
    assert t.shape == np.shape(expected) and t.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(t.numpy(), expected, rtol=rtol, atol=1e-6)


def current_device() -> int:
    return mg.backend.cupy().cuda.runtime.getDevice()


# name: (minigrad function, numpy function, inputs); one or more per op family
OPS = {
    "add_broadcast": (lambda a, b: a + b, lambda a, b: a + b, (A, B)),
    "sub_scalar": (lambda a: 1 - a, lambda a: 1 - a, (A,)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (A, B)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (A, POSITIVE)),
    "pow": (lambda a: a**3, lambda a: a**3, (A,)),
    "rpow": (lambda a: 2**a, lambda a: 2**a, (A,)),
    "exp": (mg.exp, np.exp, (A,)),
    "log": (mg.log, np.log, (POSITIVE,)),
    "sqrt": (mg.sqrt, np.sqrt, (POSITIVE,)),
    "abs": (mg.abs, np.abs, (A,)),
    "sigmoid": (mg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (A,)),
    "relu": (mg.relu, lambda a: np.maximum(a, 0), (A,)),
    "tanh": (mg.tanh, np.tanh, (A,)),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), (A,)),
    "maximum": (mg.maximum, np.maximum, (A, B)),
    "where": (lambda a, b: mg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), (A, B)),
    "lt": (lambda a, b: a < b, lambda a, b: a < b, (A, B)),
    "bitwise": (lambda a: (a > 0) & (a < 1), lambda a: (a > 0) & (a < 1), (A,)),
    "sum": (lambda a: a.sum(1), lambda a: a.sum(1), (A,)),
    "mean_keepdims": (lambda a: a.mean(0, keepdims=True), lambda a: a.mean(0, keepdims=True), (A,)),
    "max": (lambda a: a.max(-1).values, lambda a: a.max(-1), (A,)),
    "min_all": (lambda a: a.min(), lambda a: a.min(), (A,)),
    "argmax": (lambda a: a.argmax(1), lambda a: a.argmax(1), (A,)),
    "var": (lambda a: a.var(1), lambda a: a.var(1, ddof=1), (A,)),
    "cumsum": (lambda a: a.cumsum(1), lambda a: a.cumsum(1), (A,)),
    "sort": (lambda a: a.sort(1).values, lambda a: np.sort(a, 1), (A,)),
    "topk": (lambda a: a.topk(2).indices, lambda a: np.argsort(-a, 1)[:, :2], (A,)),
    "reshape": (lambda a: a.reshape(2, -1), lambda a: a.reshape(2, -1), (A,)),
    "transpose": (lambda a: a.T, lambda a: a.T, (A,)),
    "broadcast_to": (lambda a: a.broadcast_to((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)), (A,)),
    "stack": (lambda a, b: mg.stack([a, b]), lambda a, b: np.stack([a, b]), (A, POSITIVE)),
    "cat": (lambda a, b: mg.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), (A, POSITIVE)),
    "flip": (lambda a: a.flip(1), lambda a: a[:, ::-1], (A,)),
    "pad": (lambda a: F.pad(a, (1, 2)), lambda a: np.pad(a, ((0, 0), (1, 2))), (A,)),
    "tril": (lambda a: a.tril(), np.tril, (A,)),
    "getitem": (lambda a: a[[0, 0, 2], ::-1], lambda a: a[[0, 0, 2], ::-1], (A,)),
    "gather": (lambda a, i: a.gather(1, i), lambda a, i: np.take_along_axis(a, i, 1), (A, ROWS)),
    "index_select": (lambda a: a.index_select(1, mg.tensor([3, 0])), lambda a: a[:, [3, 0]], (A,)),
    "masked_fill": (lambda a: a.masked_fill(a > 0, 0.0), lambda a: np.where(a > 0, 0, a), (A,)),
    "matmul": (lambda a, c: a @ c, lambda a, c: a @ c, (A, C)),
    "matvec": (lambda a, b: a @ b, lambda a, b: a @ b, (A, B)),
    "einsum": (lambda a, c: mg.einsum("ij,jk->ki", a, c), lambda a, c: (a @ c).T, (A, C)),
    "astype": (lambda a: a.astype(mg.float64), lambda a: a.astype(np.float64), (A,)),
    "softmax": (lambda a: a.softmax(1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True), (A,)),
    "gelu": (F.gelu, lambda a: (a * (1 + np.vectorize(math.erf)(a / np.sqrt(2))) / 2).astype(np.float32), (A,)),
    "cross_entropy": (
        lambda a, y: F.cross_entropy(a, y, reduction="none"),
        lambda a, y: np.log(np.exp(a).sum(1)) - a[np.arange(3), y],
        (A, LABELS),
    ),
    "cross_entropy_per_position": (  # classes along dim 1 of (N, C, d): arange picks the positions
        lambda a, y: F.cross_entropy(a[None].permute(0, 2, 1), y[None], reduction="none"),
        lambda a, y: (np.log(np.exp(a).sum(1)) - a[np.arange(3), y])[None],
        (A, LABELS),
    ),
    "zeros_like": (mg.zeros_like, np.zeros_like, (A,)),
}


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("device", ON_GPUS)
def test_op_values_match_numpy(device, name):
    fn, ref, inputs = OPS[name]
    out = fn(*(mg.tensor(x, device=device) for x in inputs))
    assert_close(out, ref(*inputs), device, rtol=1e-4 if name.startswith(("mat", "ein")) else 1e-5)
    assert current_device() == 0  # the op made its device current only while it ran


@pytest.mark.parametrize("device", ON_GPUS)
def test_bool_mask_indexing(device):
    x = mg.tensor(A, device=device)
    assert_close(x[mg.tensor(MASK, device=device)], A[MASK], device)


# name: (function, inputs)
GRADS = {
    "elementwise": (lambda x, y: ((x * y).exp() + (x - y) ** 2 / (1 + y * y)).tanh().sigmoid(), (A, B)),
    "kinks": (lambda x: x.relu() + abs(x) * x.clamp(-0.5, 0.5) + mg.maximum(x, 0.1), (A,)),
    "reductions": (lambda x: x.max(1).values * x.mean(0)[:3] + x.sum((0, 1)) + x.min() + x.std(1)[:, None], (A,)),
    "scans": (lambda x: x.cumsum(1) * x.cumprod(0) + x.logcumsumexp(1), (A,)),
    "shapes": (lambda x: mg.cat([x.T.reshape(3, -1), x.permute(1, 0)[:, None].flatten(1).T], 1), (A,)),
    "indexing": (
        lambda x: x[[0, 0, 2], ::-1] * x[x > 0].sum() + x.gather(1, mg.tensor(ROWS, device=x.device))[:, :1],
        (A,),
    ),
    "matmul": (lambda x, w, v: (x @ w).tanh() @ w.T @ v, (A, C, B)),
    "losses": (lambda x: F.cross_entropy(x, mg.tensor(LABELS, device=x.device)) + F.mse_loss(x, x.detach() * 0), (A,)),
    "activations": (lambda x: F.gelu(x) * x.softmax(1) + F.softplus(x), (A,)),
    "linalg": (lambda x: mg.linalg.norm(x) * F.normalize(x) + mg.linalg.vector_norm(x, dim=0), (A,)),
    "conv_pooling": (
        lambda x, w: (
            F.max_pool2d(F.conv2d(x, w, padding=1), 2) * F.avg_pool2d(F.conv2d(x, w, stride=2, padding=1), 1)
            + F.adaptive_avg_pool2d(F.conv_transpose2d(x, w.permute(1, 0, 2, 3)), 3)
            + F.fold(F.unfold(x, 2), (6, 6), 2).sum((1, 2, 3))[:, None, None, None]
        ),
        (IMAGES, KERNELS),
    ),
    "normalization": (
        lambda x: F.batch_norm(x, None, None, training=True) * F.layer_norm(x, x.shape[1:]) + F.group_norm(x, 3),
        (IMAGES,),
    ),
    "resampling": (
        lambda x: F.interpolate(x, scale_factor=2, mode="bilinear") + F.interpolate(x, size=(12, 12)),
        (IMAGES,),
    ),
}


@pytest.mark.parametrize("name", GRADS)
@pytest.mark.parametrize("device", ON_GPUS)
def test_gradients_match_the_cpu(device, name):
    fn, inputs = GRADS[name]
    cpu = [mg.tensor(x, requires_grad=True) for x in inputs]
    here = [mg.tensor(x, device=device, requires_grad=True) for x in inputs]
    fn(*cpu).sum().backward()
    fn(*here).sum().backward()
    for expected, got in zip(cpu, here):
        assert_close(got.grad, expected.grad.numpy(), device, rtol=1e-4)


@pytest.mark.parametrize("name", ["elementwise", "indexing", "matmul"])
@pytest.mark.parametrize("device", ON_GPUS)
def test_gradcheck_on_device(device, name):
    fn, inputs = GRADS[name]
    assert mg.gradcheck(fn, [mg.tensor(x, dtype=mg.float64, device=device) for x in inputs])


@pytest.mark.parametrize("device", ON_GPUS)
def test_moving_between_devices_is_differentiable(device):
    x = mg.tensor(A, requires_grad=True)
    y = x.to(device) * 2
    assert y.device == device
    y.to("cpu").sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(A, 2))


@needs_two
def test_a_graph_across_two_gpus_differentiates_each_part_on_its_own():
    x = mg.tensor(A, device="cuda:1", requires_grad=True)
    y = (x.exp().to("cuda:0") * 3).sum()
    y.backward()
    assert_close(x.grad, 3 * np.exp(A), "cuda:1")


@pytest.mark.parametrize("device", ON_GPUS)
def test_creation_and_random_on_device(device):
    for t in (
        mg.zeros(2, 3, device=device),
        mg.ones(3, device=device),
        mg.full((2,), 7, device=device),
        mg.arange(4, device=device),
        mg.eye(3, device=device),
        mg.zeros_like(mg.tensor(A, device=device)),
        mg.tensor(A, device=device).new_ones(2),
    ):
        assert t.device == device
    assert repr(mg.ones(1, device=device)) == f"tensor([1.], device='{device}')"
    for make in (mg.rand, mg.randn):  # a seed means the same numbers on every device
        here = make(5, generator=mg.Generator(3), device=device)
        assert here.device == device
        np.testing.assert_array_equal(here.numpy(), make(5, generator=mg.Generator(3)).numpy())
    ints = mg.randint(0, 9, (5,), generator=mg.Generator(3), device=device)
    np.testing.assert_array_equal(ints.numpy(), mg.randint(0, 9, (5,), generator=mg.Generator(3)).numpy())


# ---- a whole training step, and models moving between devices ----------------------------------
def _train(device: str, opt_func, steps: int = 3) -> nn.Module:
    """A few shuffled batches of Linear-ReLU-Linear with cross entropy, the model made on the CPU."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    opt = opt_func(model.parameters())
    x = mg.tensor(np.resize(A, (12, 4)), device=device)
    y = mg.tensor(np.resize(LABELS % 3, 12), device=device)
    for xb, yb in list(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, generator=mg.Generator(1)))[:steps]:
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model


@pytest.mark.parametrize("opt_func", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.01)])
@pytest.mark.parametrize("device", ON_GPUS)
def test_a_training_step_matches_the_cpu(device, opt_func):
    cpu, here = _train("cpu", opt_func), _train(device, opt_func)
    for expected, got in zip(cpu.parameters(), here.parameters()):
        assert_close(got, expected.numpy(), device, rtol=1e-4)


@needs_two
def test_layers_made_on_a_device_stay_there():
    layer = nn.Linear(3, 2, device="cuda:1")
    assert layer.weight.device == layer.bias.device == "cuda:1"
    assert nn.Parameter(layer.weight).device == "cuda:1"
    assert all(t.device == "cuda:1" for t in layer.state_dict().values())
    assert layer(mg.ones(5, 3, device="cuda:1")).device == "cuda:1"


@needs_two
def test_moving_a_model_moves_parameters_gradients_and_optimizer_state():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = Adam(model.parameters(), lr=0.01)
    x, before = mg.tensor(A), "cpu"
    for device in ("cuda:1", "cuda:0", "cpu", "cuda:1"):
        model.zero_grad()
        model(x.to(before)).sum().backward()
        model.to(device)
        assert all(p.device == device and p.grad.device == device for p in model.parameters())
        opt.step()  # its state, made on the previous device, follows the parameters
        assert {mg.backend.device_of(a) for s in opt.state.values() for a in (s["exp_avg"], s["exp_avg_sq"])} == {
            device
        }
        before = device
    assert model.cuda(0) is model and model[0].weight.device == "cuda:0"
    assert model.cpu()[2].bias.device == "cpu"


@needs_two
def test_moving_a_module_moves_its_buffers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).to("cuda:1")
    bn = model[1]
    assert bn.running_mean.device == bn.num_batches_tracked.device == model[0].weight.device == "cuda:1"
    model(mg.randn(4, 1, 5, 5, device="cuda:1"))  # a training step updates the running stats there
    assert bn.running_var.device == "cuda:1" and bn.num_batches_tracked.item() == 1
    model.cpu()
    assert bn.running_mean.device == bn.num_batches_tracked.device == "cpu"
    assert bn.num_batches_tracked.dtype == mg.int64


@needs_two
def test_a_cpu_state_loads_into_a_model_on_another_gpu():
    cpu = nn.Linear(3, 2)
    model = nn.Linear(3, 2, device="cuda:1")
    model.load_state_dict(cpu.state_dict())
    assert model.weight.device == "cuda:1"
    np.testing.assert_array_equal(model.weight.numpy(), cpu.weight.numpy())
    back = nn.Linear(3, 2)
    back.load_state_dict(model.state_dict())  # and a GPU state into a CPU model
    np.testing.assert_array_equal(back.bias.numpy(), cpu.bias.numpy())


@pytest.mark.parametrize("device", ON_GPUS)
def test_a_loader_moves_batches_to_its_device(device):
    ds = TensorDataset(mg.tensor(A), mg.tensor(LABELS))
    batches = list(DataLoader(ds, batch_size=2, shuffle=True, generator=mg.Generator(0), device=device))
    assert [t.device for b in batches for t in b] == [device] * 4
    np.testing.assert_array_equal(np.sort(np.concatenate([y.numpy() for _, y in batches])), np.sort(LABELS))


@needs_two
def test_save_and_load_from_another_gpu(tmp_path):
    t = mg.tensor(A, device="cuda:1")
    mg.save({"t": t}, tmp_path / "t.pt")
    np.testing.assert_array_equal(mg.load(tmp_path / "t.pt")["t"].numpy(), A)


# ---- the device rules: current device, allocation, errors, bounds ---------------------------
def test_the_cpu_path_pays_nothing_for_gpus():
    """Without a GPU in use, cupy is never imported and the ops are the plain functions (the
    device guards are swapped in only when cupy is first imported)."""
    script = (
        "import sys, minigrad as mg\n"
        "from minigrad.ops.registry import OPS\n"
        "x = mg.randn(3, 4, requires_grad=True)\n"
        "(mg.sigmoid(x) * 2).relu().sum().backward()\n"
        "assert 'cupy' not in sys.modules\n"
        "assert mg.Tensor.__mul__ is mg.mul is OPS['mul'].function and not hasattr(mg.mul, '__wrapped__')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env={"PYTHONPATH": ":".join(sys.path)})


@needs_two
def test_ops_run_on_their_tensors_device_not_the_current_one():
    x = mg.randn(3, device="cuda:1")
    assert_close(x * 2, x.numpy() * 2, "cuda:1")
    assert_close(mg.tensor(x, device="cuda:1"), x.numpy(), "cuda:1")  # tensor() copies there
    assert_close(mg.tensor(x, dtype=mg.float64, device="cuda:1"), x.numpy().astype(np.float64), "cuda:1")
    w = mg.tensor(A, device="cuda:1", requires_grad=True)
    (w * 1).sum().backward()  # the seed is made there too
    assert w.grad.device == "cuda:1" and current_device() == 0


def _layers_applying_a_function() -> list[type]:
    """Every nn layer that applies an nn.functional function it keeps as a class attribute."""
    return [
        cls
        for cls in vars(nn).values()
        if isinstance(cls, type) and issubclass(cls, nn.layers.Functional) and "function" in vars(cls)
    ]


@needs_two
@pytest.mark.parametrize("layer", _layers_applying_a_function(), ids=lambda cls: cls.__name__)
def test_layers_keeping_their_function_run_on_their_inputs_gpu(layer):
    """A layer holds its function from before cupy was imported: it must be put under the device too."""
    arguments = {"MaxPool2d": (2,), "AvgPool2d": (2,), "AdaptiveAvgPool2d": (1,)}.get(layer.__name__, ())
    module = layer(*arguments)
    images = IMAGES if layer.__name__.endswith("Pool2d") else A
    if layer.function in (F.cross_entropy, F.nll_loss):
        inputs: tuple = (A, LABELS)
    elif layer.function in (F.cosine_similarity, F.pairwise_distance, F.kl_div):
        inputs = (A, POSITIVE)
    elif layer.function.__name__.startswith(("binary", "mse", "l1", "smooth", "huber")):
        inputs = (POSITIVE / 2, MASK.astype(np.float32))
    else:
        inputs = (images,)
    expected = module(*(mg.tensor(x) for x in inputs)).numpy()
    assert_close(module(*(mg.tensor(x, device="cuda:1") for x in inputs)), expected, "cuda:1")
    assert current_device() == 0


@needs_two
@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: a @ b.T,
        lambda a, b: mg.where(a > 0, a, b),
        lambda a, b: mg.cat([a, b]),
        lambda a, b: F.mse_loss(a, b),
    ],
)
def test_mixing_two_gpus_is_an_error_naming_both(fn):
    a, b = mg.tensor(A, device="cuda:0"), mg.tensor(A, device="cuda:1")
    for x, y in ((a, b), (b, a)):
        with pytest.raises(RuntimeError, match="same device.*(cuda:0 and cuda:1|cuda:1 and cuda:0)"):
            fn(x, y)


@needs_cuda
@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: mg.maximum(a, b),
        lambda a, b: a < b,
        lambda a, b: a @ b.reshape(4, 3),
        lambda a, b: mg.where(a > 0, a, b),
        lambda a, b: mg.cat([a, b]),
    ],
)
def test_mixing_cpu_and_gpu_is_an_error_naming_both(fn):
    cpu, gpu = mg.tensor(A), mg.tensor(A, device="cuda")
    for a, b in ((cpu, gpu), (gpu, cpu)):
        with pytest.raises(RuntimeError, match="same device.*(cpu and cuda:0|cuda:0 and cpu)"):
            fn(a, b)


@needs_two
@pytest.mark.parametrize("op", ["cat", "stack", "add", "matmul"])
def test_the_backends_own_error_is_not_relabelled_as_a_shape_error(op):
    if mg.backend.cupy().cuda.runtime.deviceCanAccessPeer(0, 1):
        pytest.skip("cuda:0 has peer access to cuda:1: the backend computes instead of failing")
    """An op run with another device current (as it would be without the device guard) fails in
    the backend; minigrad only says "shapes" when it has checked the shapes are the cause."""
    raw = getattr(mg, op)
    raw = getattr(raw, "__wrapped__", raw)  # the op itself, without making its device current
    a, b = mg.tensor(A, device="cuda:1"), mg.tensor(A, device="cuda:1")
    args = ([a, b],) if op in ("cat", "stack") else (a, b.T) if op == "matmul" else (a, b)
    with pytest.raises(ValueError, match="Peer access") as error:
        raw(*args)
    assert not any(words in str(error.value) for words in ("broadcast", "join", "line up"))


@pytest.mark.parametrize("device", ON_GPUS)
def test_out_of_bounds_indices_are_errors_as_on_the_cpu(device):
    cpu, here = mg.tensor([1.0, 2, 3]), mg.tensor([1.0, 2, 3], device=device)
    grid = mg.tensor(A, device=device)
    cases = [
        lambda t: t[[0, 3]],
        lambda t: t[mg.tensor([-4], device=t.device)],
        lambda t: t[np.array(5)],
        lambda t: mg.add_at(t, (2,), [[0, 2]]),
    ]
    for case in cases:
        with pytest.raises(IndexError) as expected:
            case(cpu)
        with pytest.raises(IndexError, match=str(expected.value).replace("(", r"\(").replace(")", r"\)")):
            case(here)
    for index in [(Ellipsis, [4]), (MASK[:, 0], [0, 9])]:
        with pytest.raises(IndexError, match="out of bounds for axis 1 with size 4"):
            grid[index]
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        here[[0, 3]] = 0.0
    np.testing.assert_array_equal(here.numpy(), [1, 2, 3])  # nothing written


@needs_cuda
def test_gradient_on_the_wrong_device_is_an_error():
    y = mg.tensor(A, device="cuda", requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="gradient is on cpu, but the output is on cuda:0"):
        y.backward(mg.ones(3, 4))


# ---- minigrad.jit on a GPU: captured and replayed on the inputs' device, bit for bit --------------
def _jitted_loop(device: str, make_model, opt_func, lr: float, jitted: bool):
    """(parameters, losses, the jitted step, how often fn's Python ran) for 12 steps on 4 batches, the
    learning rate halved after 6 (a schedule)."""
    data = [(xb.to(device), yb.to(device)) for xb, yb in batches(4, bs=16)]
    model, params = make_model()
    for p in params:
        p.data = p.to(device)
    opt = opt_func(params, lr=lr)
    step, calls = training_step(model, opt), []

    def counted(xb, yb):
        calls.append(1)
        return step(xb, yb)

    run = mg.jit(counted) if jitted else counted
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # nothing falls back to eager
        for i in range(12):
            opt.lr = lr * 0.5 ** (i // 6)
            losses.append(run(*data[i % 4]))
    return [p.numpy() for p in params], losses, run, len(calls)


@pytest.mark.parametrize("opt_func, lr", [(SGD, 1.0), (Adam, 1e-2)], ids=["sgd", "adam"])
@pytest.mark.parametrize("make_model", [linear_model, simple_net], ids=["linear", "simple_net"])
@pytest.mark.parametrize("device", ON_GPUS)
def test_a_jitted_training_loop_is_bit_identical_to_eager(device, make_model, opt_func, lr):
    params_e, losses_e, _, _ = _jitted_loop(device, make_model, opt_func, lr, jitted=False)
    params_j, losses_j, run, calls = _jitted_loop(device, make_model, opt_func, lr, jitted=True)
    assert calls == 2  # eager, traced, then replayed (the schedule's rates read anew by every replay)
    assert re.search(rf"with Device_\d+\({device[-1]}\):", str(run.program))  # replays on the inputs' GPU
    for a, b in zip(params_e, params_j):
        assert np.array_equal(a, b)
    for a, b in zip(losses_e, losses_j):
        assert b.device == device and b.requires_grad == a.requires_grad
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("device", ON_GPUS)
def test_a_jitted_function_on_a_gpu_guards_values_read_and_replaced_parameters(device):
    model = nn.Linear(3, 1, device=device)
    model.weight.data, model.bias.data = mg.ones(1, 3, device=device), mg.zeros(1, device=device)

    def fn(x):
        out = model(x).detach()
        return out * 2 if x.sum().item() > 0 else out * -1

    run = mg.jit(fn)
    pos, neg = mg.ones(2, 3, device=device), mg.full((2, 3), -1.0, device=device)
    for _ in range(3):
        assert run(pos).tolist() == [[6.0], [6.0]]
    assert run.program is not None
    assert run(neg).tolist() == [[3.0], [3.0]]  # the guard on .item() fails: traced again
    model.weight = nn.Parameter(mg.full((1, 3), 2.0, device=device))
    result = run(pos)
    assert result.tolist() == [[12.0], [12.0]] and result.device == device


@needs_two
def test_a_jitted_function_keys_its_programs_on_the_inputs_gpu():
    calls = []

    def fn(x):
        calls.append(1)
        return (x * 2).sum()

    run = mg.jit(fn)
    for device in ("cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0", "cuda:1"):
        result = run(mg.ones(3, device=device))
        assert result.device == device and result.item() == 6.0
    assert len(calls) == 4  # eager then traced on each GPU, then a replay on each


@needs_two
def test_a_function_computing_on_two_gpus_runs_eagerly_with_a_warning():
    run = mg.jit(lambda a, b: (a * 2, b + 1))
    a, b = mg.ones(2, device="cuda:0"), mg.ones(2, device="cuda:1")
    run(a, b)
    with pytest.warns(RuntimeWarning, match="cuda:0 and cuda:1: a program runs on one GPU"):
        twice, plus = run(a, b)
    assert twice.device == "cuda:0" and plus.device == "cuda:1" and run.program is None
    assert twice.tolist() == [2.0, 2.0] and plus.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("device", ON_GPUS)
def test_a_trace_given_up_on_a_gpu_finishes_eagerly_and_leaves_plain_arrays(device):
    results = []
    for jitted in (False, True):
        mg.manual_seed(0)
        w = mg.ones(3, device=device, requires_grad=True)
        opt = Adam([w], lr=0.1)

        def fn(x):
            loss = (x * w + mg.randn(3, device=device)).pow(2).sum()  # random numbers: the trace is given up here
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.detach()

        run = mg.jit(fn) if jitted else fn
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = [run(mg.full((3,), float(i), device=device)).item() for i in range(4)]
        assert sum("random" in str(c.message) for c in caught) == jitted  # said once
        assert all(type(a) is mg.backend.cupy().ndarray for a in (w.array, *opt.state[w].values()))
        results.append((losses, w.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("device", ON_GPUS)
def test_fit_one_cycle_with_jit_on_a_gpu_replays_one_program_with_the_same_figures(device):
    learn = check_fit_one_cycle(device)
    assert re.search(rf"with Device_\d+\({device[-1]}\):", str(learn._step.program))


@pytest.mark.parametrize("device", ON_GPUS)
@settings(max_examples=20, deadline=None)
@given(**OP_CHAINS)
def test_random_op_chains_replay_bit_for_bit_on_a_gpu(device, ops, shape, seed, through_matmul):
    check_op_chain(ops, shape, seed, through_matmul, device)


@pytest.mark.parametrize("device", ON_GPUS)
@settings(max_examples=10, deadline=None)
@given(**CONV_NETS)
def test_random_conv_nets_replay_bit_for_bit_on_a_gpu(device, kinds, width, batch, seed, adam, classes):
    check_conv_net(kinds, width, batch, seed, adam, classes, device)
