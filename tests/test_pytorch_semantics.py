"""PyTorch's semantics where users rely on them: .data, clone, type, max(other), hooks,
requires_grad, type promotion, per-thread grad mode, frozen parameters, show_image, and the
chapter's own idioms (in our words)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import minigrad as mg
from minigrad import nn
from minigrad.data import DataLoader, DataLoaders, TensorDataset, show_image
from minigrad.learner import Learner
from minigrad.optim import SGD

PROMOTION = json.loads((Path(__file__).parent / "data" / "pytorch_promotion.json").read_text())


# ---- .data ---------------------------------------------------------------------------------------
def test_data_is_a_tensor_sharing_memory_that_records_nothing():
    p = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = p.data
    assert isinstance(d, mg.Tensor) and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.array, p.array) and np.shares_memory(p.numpy(), p.array)


def test_the_books_update_through_data_changes_the_parameter():
    p = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (p * p).sum().backward()  # grad 2p
    p.data -= p.grad * 0.25  # outside no_grad, as the chapter writes it
    np.testing.assert_allclose(p.numpy(), [0.5, 1.0, 1.5])
    assert p.requires_grad and p.is_leaf
    p.grad.data.zero_()
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0, 0.0])
    p.grad.zero_()
    p.data.zero_()
    np.testing.assert_array_equal(p.numpy(), [0.0, 0.0, 0.0])


def test_assigning_data():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    p.data = mg.tensor([5.0, 6.0, 7.0])  # any shape, as PyTorch
    assert p.shape == (3,) and p.tolist() == [5.0, 6.0, 7.0] and p.requires_grad
    p.data = np.array([1.0], dtype=np.float32)
    assert p.tolist() == [1.0]
    with pytest.raises(TypeError, match="can only be set to a tensor or an array, got list"):
        p.data = [1.0]
    with pytest.raises(TypeError, match="requires grad, so it must stay float"):
        p.data = mg.tensor([1, 2])


# ---- clone, type, max(other), requires_grad -----------------------------------------------------------
def test_clone_is_a_differentiable_copy():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.array, x.array) and not c.is_leaf
    (c * c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert mg.clone(mg.tensor([3])).tolist() == [3]


def test_type_names_the_dtype_or_casts():
    assert mg.tensor([1, 2]).type() == "minigrad.LongTensor"
    assert mg.tensor([1.5]).type() == "minigrad.FloatTensor"
    assert mg.tensor([True]).type() == "minigrad.BoolTensor"
    assert mg.tensor([1.5], dtype=mg.float64).type() == "minigrad.DoubleTensor"
    assert mg.tensor([1, 2]).type(mg.float32).dtype == mg.float32
    assert mg.tensor([1.7]).type("minigrad.LongTensor").tolist() == [1]


def test_max_and_min_of_another_tensor_are_elementwise():
    x = mg.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    r = x.max(mg.tensor(0.0))  # the chapter's ReLU
    assert r.tolist() == [0.0, 2.0, 0.0]
    r.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert x.min(mg.tensor([0.0, 0.0, 0.0])).tolist() == [-1.0, 0.0, -3.0]
    assert mg.max(x, mg.tensor(1.0)).tolist() == [1.0, 2.0, 1.0]
    assert x.max().item() == 2.0 and x.max(0).values.item() == 2.0 and x.max(0).indices.item() == 1


def test_requires_grad_set_as_an_attribute_is_checked():
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="only float tensors can require gradients, got dtype int64"):
        t.requires_grad = True
    f = mg.tensor([1.0])
    f.requires_grad = True
    assert f.requires_grad
    with pytest.raises(RuntimeError, match="only allowed on leaf tensors"):
        (f * 2).requires_grad = False


# ---- hooks -----------------------------------------------------------------------------------------
def test_hooks_see_and_may_replace_gradients():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    handle = x.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    assert seen == [[6.0, 12.0]]  # d(y²)/dy = 2y
    assert x.grad.tolist() == [180.0, 360.0]  # 2y * 3, then * 10
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_hook_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).register_hook(print)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: mg.ones(3))
    with pytest.raises(RuntimeError, match=r"gradient's shape \(2,\)"):
        x.sum().backward()


# ---- type promotion, as a table recorded from PyTorch -----------------------------------------------------
PAIRS = sorted(PROMOTION["tensor_pairs"].items())


@pytest.mark.parametrize("op", ["add", "sub", "mul", "maximum", "minimum", "where", "eq", "lt", "div"])
def test_promotion_of_tensor_pairs_is_pytorchs(op):
    wrong = []
    for key, want in PAIRS:
        a, b, a0, b0 = key.split(",")
        if op == "sub" and "bool" in (a, b):
            continue  # PyTorch refuses bool subtraction
        ta = mg.ones(() if a0 == "1" else 2, dtype=a)
        tb = mg.ones(() if b0 == "1" else 2, dtype=b)
        if op == "where":
            got = mg.where(mg.tensor([True, False]), ta, tb).dtype
        elif op in ("eq", "lt"):  # computed in the promoted dtype, answered in bools
            got = getattr(mg, op)(ta, tb).dtype
            want = "bool"
        elif op == "div":
            got = mg.div(ta, tb).dtype
            want = want if want.startswith("float") else "float32"  # true division
        else:
            got = getattr(mg, op)(ta, tb).dtype
        if str(got) != want:
            wrong.append((key, str(got), want))
    assert not wrong, wrong[:10]


def test_promotion_with_numbers_is_pytorchs():
    for key, want in PROMOTION["scalars"].items():
        dtype, kind = key.split(",")
        scalar = {"pybool": True, "pyint": 2, "pyfloat": 2.5}[kind]
        assert str((mg.ones(2, dtype=dtype) * scalar).dtype) == want, key


def test_numpy_scalars_are_weak_as_pythons():
    x = mg.ones(2)
    assert (x * np.float64(2.5)).dtype == mg.float32  # numpy itself would give float64
    assert (np.float64(2.5) * x).dtype == mg.float32
    assert (mg.ones(2, dtype=mg.int32) + np.int64(3)).dtype == mg.int32
    assert (mg.tensor([1, 2]) + mg.tensor([0.5, 0.5])).dtype == mg.float32  # numpy: float64


# ---- autograd details ------------------------------------------------------------------------------
def test_grad_mode_is_per_thread():
    inside, release = threading.Event(), threading.Event()
    results = {}
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def evaluate():
        with mg.no_grad():
            inside.set()
            release.wait(10)
            results["evaluating"] = (w * 2).requires_grad

    other = threading.Thread(target=evaluate)
    other.start()
    assert inside.wait(10)
    results["training"] = (w * 2).requires_grad  # while the other thread sits in no_grad
    assert mg.is_grad_enabled()
    release.set()
    other.join(10)
    assert results == {"evaluating": False, "training": True}
    assert (w * 2).requires_grad


def test_grad_outputs_must_match_the_outputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x * 3
    with pytest.raises(RuntimeError, match="grad_outputs has 1 entries but there are 2 outputs"):
        mg.autograd.grad([a, b], [x], grad_outputs=[mg.ones(2)])
    (g,) = mg.autograd.grad([a, b], [x], grad_outputs=[mg.ones(2), mg.ones(2)])
    assert g.tolist() == [5.0, 5.0]


def test_learner_skips_frozen_parameters():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.numpy().copy()
    x = mg.randn(32, 2, generator=mg.Generator(1))
    y = (x.sum(1, keepdims=True) > 0).float()
    dls = DataLoaders(DataLoader(TensorDataset(x, y), 8), DataLoader(TensorDataset(x, y), 8))
    learn = Learner(dls, model, nn.functional.mse_loss, opt_func=SGD, lr=0.1, show=False)
    learn.fit(2)
    np.testing.assert_array_equal(frozen.numpy(), before)
    assert not np.array_equal(model[2].weight.numpy(), nn.Linear(3, 1).weight.numpy())


# ---- images ------------------------------------------------------------------------------------------
def test_tensors_of_images_keep_uint8():
    image = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert mg.tensor(image).dtype == mg.uint8 and mg.tensor(np.array(image)).dtype == mg.uint8
    assert mg.tensor(image).tolist() == np.arange(12).reshape(3, 4).tolist()


def test_show_image_scales_to_bytes():
    gray = show_image(mg.tensor([[0.0, 0.5], [1.0, 0.25]]) * 4 - 1)  # min..max -> 0..255
    assert isinstance(gray, Image.Image) and gray.mode == "L" and gray.size == (2, 2)
    assert np.array(gray).tolist() == [[0, 128], [255, 64]]
    as_is = show_image(mg.tensor(np.array([[3, 200]], dtype=np.uint8)))
    assert np.array(as_is).tolist() == [[3, 200]]
    rgb = show_image(mg.ones(3, 2, 5) * 0.5)  # channels first, as PyTorch keeps them
    assert rgb.mode == "RGB" and rgb.size == (5, 2) and np.array(rgb)[0, 0].tolist() == [128, 128, 128]
    assert mg.show_image is show_image
    with pytest.raises(ValueError, match=r"\(H, W\), \(H, W, C\) or \(C, H, W\), got \(2, 2, 2, 2\)"):
        show_image(mg.zeros(2, 2, 2, 2))


# ---- the chapter's idioms, in our words ----------------------------------------------------------------
def test_a_hand_written_training_loop_with_pytorch_idioms_learns():
    gen = mg.Generator(0)
    x = mg.randn(64, 3, generator=gen)
    y = (x @ mg.tensor([[1.0], [-2.0], [0.5]]) > 0).float()
    weights = (mg.randn((3, 1), generator=gen) * 0.1).requires_grad_()
    bias = mg.randn(1, generator=gen).requires_grad_()

    def model(xb):
        return xb @ weights + bias

    def loss_of(pred, target):
        p = pred.sigmoid()
        return mg.where(target == 1, 1 - p, p).mean()

    first = loss_of(model(x), y).item()
    for _ in range(100):
        loss_of(model(x), y).backward()
        for p in (weights, bias):
            p.data -= p.grad * 1.0
            p.grad.zero_()
    assert loss_of(model(x), y).item() < first / 2
    with mg.no_grad():
        before = weights[0].item()
        weights[0] *= 1.0001
    assert weights[0].item() == pytest.approx(before * 1.0001)
    assert weights.is_leaf and weights.requires_grad
