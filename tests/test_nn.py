"""minigrad.nn: Module registration and state, the layers, and a small training run."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.metrics import accuracy
from minigrad.serialization import load, save


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter([2.0])
        self.inner = nn.Linear(3, 2, generator=mg.Generator(1))
        self.offset = mg.zeros(2, requires_grad=True)  # a leaf requiring grad registers by itself
        self.constant = mg.ones(2)  # no grad: a plain attribute
        self.name = "block"

    def forward(self, x):
        return self.inner(x) * self.scale + self.offset + self.constant


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 3, generator=mg.Generator(0)), nn.ReLU())
        self.block = Block()

    def forward(self, x):
        return self.block(self.layers(x))


# ---- registration -------------------------------------------------------------------------------
def test_parameters_and_modules_register_in_assignment_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # as in PyTorch: depth first, each module's own parameters (in assignment order) before its children's
    assert names == [
        "layers.0.weight",
        "layers.0.bias",
        "block.scale",
        "block.offset",
        "block.inner.weight",
        "block.inner.bias",
    ]
    assert [n for n, _ in net.named_children()] == ["layers", "block"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Sequential", "Linear", "ReLU", "Block", "Linear"]
    assert [n for n, _ in net.named_modules()] == ["", "layers", "layers.0", "layers.1", "block", "block.inner"]
    assert list(net.children()) == [net.layers, net.block]
    assert "constant" not in dict(net.block.named_parameters())
    assert net.block.name == "block"
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert all(p.is_leaf and p.requires_grad and p.__class__ is mg.Tensor for p in net.parameters())


def test_parameters_is_a_generator():
    params = nn.Linear(2, 2).parameters()
    assert iter(params) is params
    assert len(list(params)) == 2


def test_shared_module_and_parameter_come_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(model) == 3
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2
    assert sum(1 for m in model.modules() if m is shared) == 1
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    # the state dict has every path, so it loads into a model of the same structure
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = mg.randn(2, 3)
    expected = shared(nn.functional.relu(shared(x)))
    np.testing.assert_allclose(model(x).numpy(), expected.numpy())


def test_a_parameter_assigned_to_two_attributes_comes_once():
    m = nn.Module()
    w = nn.Parameter([1.0, 2.0])
    m.a = w
    m.b = w
    assert [n for n, _ in m.named_parameters()] == ["a"]


def test_frozen_parameter_and_reassignment_rules():
    m = nn.Module()
    m.frozen = nn.Parameter([1.0], requires_grad=False)
    assert [n for n, _ in m.named_parameters()] == ["frozen"]
    m.frozen_matrix = nn.Parameter(np.ones((2, 3), np.float32), requires_grad=False)
    m.frozen_nan = nn.Parameter([float("nan")], requires_grad=False)  # nan != nan must not matter
    m.registered = mg.tensor([[1.0, 2.0]])
    m.register_parameter("registered", m.registered)
    assert [n for n, _ in m.named_parameters()] == ["frozen", "frozen_matrix", "frozen_nan", "registered"]
    for name in ("frozen_matrix", "frozen_nan", "registered"):
        delattr(m, name)
    assert not m.frozen.requires_grad
    m.w = nn.Parameter([1.0])
    with pytest.raises(TypeError, match="parameter 'w'.*load_state_dict"):
        m.w = mg.tensor([3.0])  # would silently stop training it
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["frozen"] and m.w is None
    m.sub = nn.ReLU()
    with pytest.raises(TypeError, match="sub-module 'sub'"):
        m.sub = 3
    del m.sub
    assert list(m.children()) == []
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'sub'"):
        _ = m.sub


def test_an_op_result_is_not_a_parameter():
    m = nn.Module()
    w = nn.Parameter([1.0])
    m.w = w
    m.cached = w * 2  # a non-leaf
    assert [n for n, _ in m.named_parameters()] == ["w"]


def test_parameter_factory():
    src = mg.tensor([1.0, 2.0], dtype=mg.float64)
    p = nn.Parameter(src)
    assert p.is_leaf and p.requires_grad and p.dtype == mg.float64 and nn.is_parameter(p)
    src.array[0] = 5.0
    assert p.array[0] == 1.0  # a copy
    assert nn.Parameter(np.float32(3.0)).shape == ()
    with pytest.raises(TypeError, match="float"):
        nn.Parameter([1, 2])


def test_forgetting_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_zero_grad_sets_grads_to_none():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    model(mg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert [m.training for m in net.modules()] == [False] * 6
    net.block.train()
    assert [m.training for m in net.modules()] == [False, False, False, False, True, True]
    net.train()
    assert all(m.training for m in net.modules())


# ---- repr ---------------------------------------------------------------------------------------------
def test_repr_of_a_sequential():
    model = nn.Sequential(nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 1, bias=False), nn.Sigmoid())
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=30, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=30, out_features=1, bias=False)\n"
        "  (3): Sigmoid()\n"
        ")"
    )


def test_repr_of_nested_modules():
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(4, 2), nn.Tanh()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Flatten(start_dim=1, end_dim=-1)\n"
        "  (1): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=2, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")"
    )


# ---- Linear ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_features, out_features", [(1, 1), (3, 5), (784, 30)])
def test_linear_init_is_uniform_within_the_bound(in_features, out_features):
    layer = nn.Linear(in_features, out_features, generator=mg.Generator(0))
    bound = 1 / math.sqrt(in_features)
    assert layer.weight.shape == (out_features, in_features) and layer.bias.shape == (out_features,)
    assert layer.weight.dtype == mg.float32 and layer.bias.dtype == mg.float32
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert np.abs(values).max() <= bound
        assert p.requires_grad and p.is_leaf
    if in_features * out_features > 1000:  # uniform: spread over the whole interval, mean near 0
        w = layer.weight.numpy()
        assert w.min() < -0.95 * bound and w.max() > 0.95 * bound
        assert abs(w.mean()) < 0.05 * bound
        np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)


def test_linear_init_is_deterministic_with_a_seed():
    a = nn.Linear(5, 4, generator=mg.Generator(42))
    b = nn.Linear(5, 4, generator=mg.Generator(42))
    c = nn.Linear(5, 4, generator=mg.Generator(43))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    assert not np.array_equal(a.weight.numpy(), c.weight.numpy())
    mg.manual_seed(7)
    d = nn.Linear(5, 4)
    mg.manual_seed(7)
    e = nn.Linear(5, 4)
    np.testing.assert_array_equal(d.weight.numpy(), e.weight.numpy())
    f = nn.Linear(5, 4)  # the default generator moved on
    assert not np.array_equal(e.weight.numpy(), f.weight.numpy())


def test_linear_dtype():
    layer = nn.Linear(3, 2, dtype=mg.float64)
    assert layer.weight.dtype == mg.float64 and layer.bias.dtype == mg.float64
    with pytest.raises(TypeError, match="float"):
        nn.Linear(3, 2, dtype=mg.int64)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 5, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_output_is_x_at_w_transposed_plus_b(shape, bias):
    layer = nn.Linear(3, 2, bias=bias, generator=mg.Generator(0))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    expected = x @ layer.weight.numpy().T + (layer.bias.numpy() if bias else 0)
    out = layer(mg.tensor(x))
    assert out.shape == shape[:-1] + (2,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_linear_computes_integer_inputs_in_its_dtype():
    layer = nn.Linear(3, 2, generator=mg.Generator(0))
    for x in (
        mg.tensor([[1, 2, 3]]),
        mg.tensor(np.array([[1, 2, 3]], dtype=np.uint8)),
        mg.tensor([[True, False, True]]),
    ):
        out = layer(x)
        assert out.dtype == mg.float32
        np.testing.assert_allclose(out.numpy(), layer(x.astype(mg.float32)).numpy())


def test_linear_gradients():
    layer = nn.Linear(3, 2, dtype=mg.float64, generator=mg.Generator(0))
    x = mg.randn(4, 3, dtype=mg.float64, generator=mg.Generator(1))

    def f(x, w, b):
        layer.weight, layer.bias = w, b
        return layer(x)

    assert mg.gradcheck(f, [x, layer.weight, layer.bias])


def test_linear_rejects_the_wrong_last_dimension():
    layer = nn.Linear(784, 30)
    with pytest.raises(ValueError, match=r"in_features=784.*\(64, 28, 28\).*last dimension 28.*[Ff]latten"):
        layer(mg.zeros(64, 28, 28))
    with pytest.raises(ValueError, match=r"in_features=784.*\(10, 30\)"):
        layer(mg.zeros(10, 30))
    with pytest.raises(ValueError, match="0-d"):
        layer(mg.tensor(1.0))


# ---- the other layers ----------------------------------------------------------------------------------
def test_activation_modules_and_flatten():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(2, 3, 2)
    np.testing.assert_allclose(nn.ReLU()(mg.tensor(x)).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(nn.Sigmoid()(mg.tensor(x)).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(mg.tensor(x)).numpy(), np.tanh(x), rtol=1e-6)
    assert nn.Flatten()(mg.tensor(x)).shape == (2, 6)
    assert nn.Flatten(0, 1)(mg.tensor(x)).shape == (6, 2)
    assert nn.Flatten(start_dim=0)(mg.tensor(x)).shape == (12,)
    np.testing.assert_array_equal(nn.Flatten()(mg.tensor(x)).numpy(), x.reshape(2, 6))


def test_sequential_container():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    x = mg.randn(5, 2)
    np.testing.assert_allclose(model(x).numpy(), c(b(a(x))).numpy())
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    with pytest.raises(TypeError, match="Modules"):
        nn.Sequential(a, lambda x: x)
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    model.append(nn.Sigmoid())
    assert len(model) == 4 and model(x).shape == (5, 1)


def test_to_moves_in_place_and_keeps_parameter_objects():
    model = nn.Sequential(nn.Linear(2, 2))
    before = list(model.parameters())
    model(mg.ones(1, 2)).sum().backward()
    assert model.to("cpu") is model
    model.to(dtype=mg.float64)
    after = list(model.parameters())
    assert [id(p) for p in before] == [id(p) for p in after]
    assert all(p.dtype == mg.float64 and p.grad.dtype == mg.float64 for p in after)
    assert all(p.device == "cpu" for p in after)
    with pytest.raises(ValueError, match="unknown device"):
        model.to("tpu")


# ---- state dicts ----------------------------------------------------------------------------------------
def make_mlp(seed):
    g = mg.Generator(seed)
    return nn.Sequential(nn.Linear(4, 8, generator=g), nn.ReLU(), nn.Linear(8, 3, generator=g))


def test_state_dict_is_a_detached_snapshot():
    model = make_mlp(0)
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for p, t in zip(model.parameters(), state.values()):
        assert not t.requires_grad and t.is_leaf
        np.testing.assert_array_equal(t.numpy(), p.numpy())
    w = model[0].weight
    w.array[...] = 0.0  # an in-place update of the model does not reach the snapshot
    assert np.abs(state["0.weight"].numpy()).sum() > 0


def test_state_dict_round_trip_through_a_file(tmp_path):
    model, fresh = make_mlp(0), make_mlp(1)
    x = mg.randn(5, 4, generator=mg.Generator(2))
    assert not np.allclose(model(x).numpy(), fresh(x).numpy())
    path = tmp_path / "mlp.npz"
    save(model.state_dict(), path)
    params = list(fresh.parameters())
    result = fresh.load_state_dict(load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    assert [id(p) for p in fresh.parameters()] == [id(p) for p in params]


def test_load_state_dict_copies_and_casts():
    model = make_mlp(0)
    state = {k: v.astype(mg.float64) for k, v in make_mlp(1).state_dict().items()}
    model.load_state_dict(state)
    assert all(p.dtype == mg.float32 and p.requires_grad for p in model.parameters())
    np.testing.assert_allclose(model[0].weight.numpy(), state["0.weight"].numpy(), rtol=1e-7)
    state["0.weight"].array[...] = 7.0  # the model holds its own copy
    assert not (model[0].weight.numpy() == 7.0).any()
    arrays = {k: v.numpy() for k, v in make_mlp(2).state_dict().items()}
    model.load_state_dict(arrays)  # numpy arrays load too
    np.testing.assert_array_equal(model[2].bias.numpy(), arrays["2.bias"])


def test_an_optimizer_holding_the_parameters_keeps_working_after_loading():
    model = make_mlp(0)
    held = list(model.parameters())
    model.load_state_dict(make_mlp(1).state_dict())
    x, y = mg.randn(6, 4, generator=mg.Generator(3)), mg.tensor([0, 1, 2, 0, 1, 2])
    before = nn.functional.cross_entropy(model(x), y).item()
    for _ in range(5):
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        with mg.no_grad():
            for p in held:
                p.array = p.array - 0.1 * p.grad.array
    assert nn.functional.cross_entropy(model(x), y).item() < before


def test_load_state_dict_strict_errors_name_the_keys_and_shapes():
    model = make_mlp(0)
    original = model[0].weight.numpy().copy()
    good = make_mlp(1).state_dict()

    missing = OrderedDict(good)
    del missing["2.bias"]
    with pytest.raises(RuntimeError, match=r"missing key\(s\).*'2.bias'"):
        model.load_state_dict(missing)

    unexpected = OrderedDict(good, **{"3.weight": mg.zeros(1)})
    with pytest.raises(RuntimeError, match=r"unexpected key\(s\).*'3.weight'"):
        model.load_state_dict(unexpected)

    wrong = OrderedDict(good)
    wrong["2.weight"] = mg.zeros(8, 3)
    with pytest.raises(RuntimeError, match=r"'2.weight'.*\(8, 3\).*\(3, 8\)"):
        model.load_state_dict(wrong)
    with pytest.raises(RuntimeError, match=r"'2.weight'.*\(8, 3\)"):
        model.load_state_dict(wrong, strict=False)  # a shape mismatch is always an error

    with pytest.raises(RuntimeError, match="'0.bias': expected a tensor"):
        model.load_state_dict(OrderedDict(good, **{"0.bias": [1.0] * 8}))

    # nothing was loaded by any failed call
    np.testing.assert_array_equal(model[0].weight.numpy(), original)

    result = model.load_state_dict(OrderedDict(missing, **{"extra": mg.zeros(1)}), strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.numpy(), good["0.weight"].numpy())


# ---- a small training run -------------------------------------------------------------------------------
def test_mlp_learns_xor_with_hand_written_sgd():
    g = mg.Generator(0)
    x = mg.rand(256, 2, generator=g) * 2 - 1
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # XOR of the signs: not linearly separable
    model = nn.Sequential(nn.Linear(2, 32, generator=g), nn.ReLU(), nn.Linear(32, 2, generator=g))
    first = None
    for _ in range(300):
        loss = nn.functional.cross_entropy(model(x), y)
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.array = p.array - 0.5 * p.grad.array
    assert loss.item() < 0.3 * first
    assert accuracy(model(x), y).item() >= 0.95


def test_linear_model_learns_with_the_chapters_mnist_loss():
    g = mg.Generator(1)
    x = mg.randn(200, 3, generator=g)
    y = ((x @ mg.tensor([1.0, -2.0, 0.5])) > 0).astype(mg.float32).reshape(-1, 1)
    model = nn.Linear(3, 1, generator=g)
    from minigrad.metrics import batch_accuracy

    start = batch_accuracy(model(x), y).item()
    for _ in range(200):
        loss = nn.functional.mnist_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.array = p.array - 1.0 * p.grad.array
    assert batch_accuracy(model(x), y).item() >= max(0.9, start)


# ---- devices (the "cuda" cases run where there is a GPU) ----------------------------------------------------
def test_linear_on_a_device_matches_the_cpu(device):
    where = mg.zeros(1, device=device).device
    cpu = nn.Linear(5, 3, generator=mg.Generator(0))
    dev = nn.Linear(5, 3, generator=mg.Generator(0), device=device)
    assert dev.weight.device == where and dev.bias.device == where
    np.testing.assert_array_equal(dev.weight.numpy(), cpu.weight.numpy())  # same seed, same values
    x = mg.randn(4, 5, generator=mg.Generator(1))
    y = mg.tensor([0, 1, 2, 0])
    out = dev(x.to(device))
    assert out.device == where
    np.testing.assert_allclose(out.numpy(), cpu(x).numpy(), rtol=1e-5, atol=1e-6)
    nn.functional.cross_entropy(out, y.to(device)).backward()
    nn.functional.cross_entropy(cpu(x), y).backward()
    for p, q in zip(dev.parameters(), cpu.parameters()):
        assert p.grad.device == where
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_module_to_a_device_and_state_dicts_across_devices(device, tmp_path):
    where = mg.zeros(1, device=device).device
    model = make_mlp(0)
    x = mg.randn(3, 4, generator=mg.Generator(2))
    expected = model(x).numpy()
    model(x).sum().backward()
    params = list(model.parameters())
    assert model.to(device) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.device == where and p.grad.device == where for p in params)
    np.testing.assert_allclose(model(x.to(device)).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert all(t.device == where for t in model.state_dict().values())
    save(model.state_dict(), tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert all(t.device == "cpu" for t in loaded.values())
    fresh = make_mlp(1).to(device)
    fresh.load_state_dict(loaded)  # CPU values into parameters on the device: they stay there
    assert all(p.device == where for p in fresh.parameters())
    np.testing.assert_allclose(fresh(x.to(device)).numpy(), expected, rtol=1e-5, atol=1e-6)
    back = make_mlp(1)
    back.load_state_dict(model.state_dict())  # and device values into CPU parameters
    assert all(p.device == "cpu" for p in back.parameters())
    np.testing.assert_allclose(back(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_repr_of_a_module_containing_itself_prints_it_once_and_marks_the_cycle():
    net = nn.Sequential(nn.Linear(2, 2))
    net.me = net
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (me): Sequential(<cycle: printed above>)\n"
        ")"
    )
    a, b = nn.Sequential(), nn.Sequential()
    a.b, b.a = b, a
    assert repr(a) == "Sequential(\n  (b): Sequential(\n    (a): Sequential(<cycle: printed above>)\n  )\n)"
    shared = nn.ReLU()
    assert repr(nn.Sequential(shared, shared)) == "Sequential(\n  (0): ReLU()\n  (1): ReLU()\n)"  # shared: no cycle
