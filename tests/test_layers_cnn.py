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
