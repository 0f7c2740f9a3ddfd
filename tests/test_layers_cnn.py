"""The layers of convolutional nets: shapes, PyTorch's initialisation, modes, containers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def test_conv2d_init_and_forward_match_the_functional_op():
    mg.manual_seed(0)
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias is not None and conv.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 3)  # kaiming-uniform with a=sqrt(5): 1/sqrt(fan_in), for weight and bias
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound and abs(w.mean()) < 0.1 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    x = mg.randn(2, 3, 9, 9)
    y = conv(x)
    assert y.shape == (2, 8, 5, 5)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, conv.weight, conv.bias, 2, 1).numpy())
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv_init_is_seeded_and_linear_keeps_pytorchs_bound():
    mg.manual_seed(1)
    a = nn.Conv1d(4, 6, 5, groups=2, bias=False)
    mg.manual_seed(1)
    b = nn.Conv1d(4, 6, 5, groups=2, bias=False)
    assert a.bias is None and a.weight.shape == (6, 2, 5)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    assert np.abs(a.weight.numpy()).max() <= 1 / math.sqrt(2 * 5)
    assert nn.Conv1d(4, 6, 5)(mg.randn(3, 4, 20)).shape == (3, 6, 16)
    lin = nn.Linear(50, 20)
    assert 0.9 / math.sqrt(50) < np.abs(lin.weight.numpy()).max() <= 1 / math.sqrt(50)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(TypeError, match="Conv2d needs a float dtype"):
        nn.Conv2d(3, 8, 3, dtype=mg.int64)


def test_identity_and_unflatten():
    x = mg.randn(4, 784)
    assert nn.Identity(54, unused=1)(x) is x
    assert nn.Unflatten(1, (1, 28, 28))(x).shape == (4, 1, 28, 28)


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 1))
    layers.insert(0, nn.Identity())
    assert len(layers) == 4 and isinstance(layers[1], nn.Linear) and isinstance(layers[-1], nn.Linear)
    assert [n for n, _ in layers.named_parameters()] == ["1.weight", "1.bias", "3.weight", "3.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = mg.randn(5, 2)
    for layer in layers:
        x = layer(x)
    assert x.shape == (5, 1)
    with pytest.raises(TypeError, match="ModuleList holds Modules"):
        layers.append(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="out of range"):
        layers[7]


def test_module_dict():
    d = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU()})
    d["head"] = nn.Linear(2, 1)
    assert d.keys() == ["conv", "act", "head"] and "act" in d and len(d) == 3
    assert list(d) == d.keys() and isinstance(d["conv"], nn.Conv2d)
    assert [n for n, _ in d.named_parameters()] == ["conv.weight", "conv.bias", "head.weight", "head.bias"]
    assert isinstance(d.pop("act"), nn.ReLU) and "act" not in d
    with pytest.raises(KeyError, match="hide ModuleDict.train"):
        d["train"] = nn.ReLU()


def test_pooling_layers():
    x = mg.randn(2, 3, 8, 8)
    pool = nn.MaxPool2d(2)
    assert pool(x).shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(pool(x).numpy(), F.max_pool2d(x, 2).numpy())
    assert repr(pool).startswith("MaxPool2d(kernel_size=2, stride=None, padding=0")
    values, indices = nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)(x)
    assert values.shape == indices.shape == (2, 3, 4, 4)
    avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)(x)
    np.testing.assert_allclose(avg.numpy(), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).numpy())
    g = nn.AdaptiveAvgPool2d(1)(x)
    assert g.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(g.numpy()[..., 0, 0], x.numpy().mean(axis=(2, 3)), rtol=1e-5)


def test_batch_norm_trains_on_batch_statistics_and_evaluates_on_running_ones():
    bn = nn.BatchNorm2d(3, momentum=0.5)
    x = mg.randn(8, 3, 4, 4) * 2 + 1
    y = bn(x)
    xs = x.numpy()
    mean, var = xs.mean(axis=(0, 2, 3)), xs.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.numpy(), (xs - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5), atol=1e-4)
    n = 8 * 4 * 4
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * var * n / (n - 1), rtol=1e-5)  # unbiased
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    rm, rv = bn.running_mean.numpy()[:, None, None], bn.running_var.numpy()[:, None, None]
    np.testing.assert_allclose(bn(x).numpy(), (xs - rm) / np.sqrt(rv + 1e-5), atol=1e-4)
    assert bn.num_batches_tracked.item() == 1  # eval changes nothing
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        bn(mg.randn(3, 4, 4))


def test_batch_norm_cumulative_average_and_state_dict_round_trip():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [mg.randn(5, 2) + i for i in range(3)]
    for b in batches:
        bn(b)
    expected = np.mean([b.numpy().mean(axis=0) for b in batches], axis=0)  # momentum None: the plain average
    np.testing.assert_allclose(bn.running_mean.numpy(), expected, rtol=1e-5)
    state = bn.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    fresh = nn.BatchNorm1d(2, momentum=None)
    fresh.load_state_dict(state)
    fresh.eval(), bn.eval()
    x = mg.randn(4, 2)
    np.testing.assert_array_equal(fresh(x).numpy(), bn(x).numpy())
    assert fresh.num_batches_tracked.item() == 3
    untracked = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(untracked.state_dict()) == [] and list(untracked.parameters()) == []
    np.testing.assert_allclose(untracked.eval()(x).numpy().mean(axis=0), 0, atol=1e-5)  # batch statistics


def test_layer_and_group_norm():
    x = mg.randn(4, 6, 5)
    ln = nn.LayerNorm(5)
    assert ln.weight.shape == ln.bias.shape == (5,)
    xs = x.numpy()
    ref = (xs - xs.mean(-1, keepdims=True)) / np.sqrt(xs.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).numpy(), ref, atol=1e-4)
    gn = nn.GroupNorm(3, 6)
    g = xs.reshape(4, 3, 10)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(4, 6, 5)
    np.testing.assert_allclose(gn(x).numpy(), ref, atol=1e-4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(4, 6)


def test_dropout_only_in_training():
    drop = nn.Dropout(0.5)
    x = mg.ones(1000)
    y = drop(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 300 < (y == 0).sum() < 700
    assert drop.eval()(x) is x or np.array_equal(drop(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_embedding():
    mg.manual_seed(0)
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert emb.weight.shape == (10, 3) and not emb.weight.numpy()[0].any()
    out = emb(mg.tensor([[0, 2], [2, 9]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[1, 0], emb.weight.numpy()[2])
    out.sum().backward()
    assert emb.weight.grad is not None and not emb.weight.grad.numpy()[0].any()  # the padding row isn't trained


def test_conv_transpose2d_upsamples_and_is_initialised_from_its_output_side():
    mg.manual_seed(0)
    up = nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
    assert up.weight.shape == (8, 4, 3, 3) and up.bias is not None and up.bias.shape == (4,)
    bound = 1 / math.sqrt(4 * 3 * 3)  # PyTorch's fan_in of a transposed conv's weight: dim 1 times the kernel
    assert bound * 0.8 < np.abs(up.weight.numpy()).max() <= bound
    x = mg.randn(2, 8, 7, 7)
    y = up(x)
    assert y.shape == (2, 4, 14, 14)
    np.testing.assert_allclose(y.numpy(), F.conv_transpose2d(x, up.weight, up.bias, 2, 1, 1).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="padding must be an int or a pair"):
        nn.ConvTranspose2d(8, 4, 3, padding="same")
