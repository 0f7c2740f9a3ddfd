"""Creation and random functions: shapes, dtypes and devices as PyTorch gives them, values against
numpy, seeds giving the same numbers on every device, and samples with the right statistics."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def test_empty_full_like_and_new_methods_take_the_tensors_dtype_and_device(device):
    x = mg.tensor([1, 2], dtype="int32", device=device)
    assert mg.empty(2, 3).shape == (2, 3) and mg.empty((4,), dtype=mg.int64).dtype == mg.int64
    assert mg.empty(0).shape == (0,) and mg.empty(2, device=device).device == x.device
    filled = mg.full_like(x, 2.7)
    assert filled.dtype == mg.int32 and filled.tolist() == [2, 2] and filled.device == x.device
    assert mg.full_like(x, 0.5, dtype=mg.float64).tolist() == [0.5, 0.5]
    for made, values in [
        (x.new_zeros(2, 3), np.zeros((2, 3))),
        (x.new_ones((3,)), np.ones(3)),
        (x.new_full((2,), 7.9), [7, 7]),
        (x.new_tensor([[1.5, 2.5]]), [[1, 2]]),
    ]:
        assert made.dtype == mg.int32 and made.device == x.device and not made.requires_grad
        np.testing.assert_array_equal(made.numpy(), values)
    floats = x.new_zeros(2, dtype=mg.float32, requires_grad=True)
    assert floats.dtype == mg.float32 and floats.requires_grad and floats.is_leaf
    assert x.new_tensor([1.5], dtype=mg.float64, device="cpu").device == "cpu"


@pytest.mark.parametrize("start, end, steps", [(0, 1, 5), (-2.5, 3, 7), (1, 1, 3), (0, 10, 1), (0, 1, 0)])
def test_linspace_logspace(start, end, steps):
    out = mg.linspace(start, end, steps)
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), np.linspace(start, end, steps), rtol=1e-6)
    np.testing.assert_allclose(mg.logspace(start, end, steps, base=2).numpy(), np.logspace(start, end, steps, base=2),
                               rtol=1e-6)  # fmt: skip
    assert mg.linspace(start, end, steps, dtype=mg.float64).dtype == mg.float64
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        mg.linspace(0, 1, -1)


def test_random_like_functions(device):
    x = mg.zeros(3, 4, dtype=mg.float64, device=device)
    for fn in (mg.rand_like, mg.randn_like):
        out = fn(x)
        assert out.shape == (3, 4) and out.dtype == mg.float64 and out.device == x.device
    assert mg.rand_like(x, dtype=mg.float32).dtype == mg.float32 and mg.randn_like(x, requires_grad=True).requires_grad
    u = mg.rand_like(mg.zeros(1000)).numpy()
    assert 0 <= u.min() and u.max() < 1
    ints = mg.randint_like(x, 3, 7)
    assert ints.dtype == mg.float64 and set(np.unique(ints.numpy())) <= {3, 4, 5, 6}
    assert set(np.unique(mg.randint_like(mg.tensor([1, 2]), 2).numpy())) <= {0, 1}
    with pytest.raises(ValueError, match="high .* must be greater than low"):
        mg.randint_like(x, 5, 5)


def test_seeds_give_the_same_numbers_on_every_device(device):
    draws = [
        lambda **kw: mg.rand_like(mg.zeros(5, **kw)),
        lambda **kw: mg.randn_like(mg.zeros(5, **kw)),
        lambda **kw: mg.randint_like(mg.zeros(5, **kw), 100),
        lambda **kw: mg.randperm(6, **kw),
        lambda **kw: mg.bernoulli(mg.full((5,), 0.5, **kw)),
        lambda **kw: mg.multinomial(mg.tensor([1.0, 2.0, 3.0], **kw), 2),
        lambda **kw: mg.normal(mg.zeros(5, **kw), 2.0),
    ]
    for draw in draws:
        mg.manual_seed(3)
        on_cpu = draw(device="cpu").numpy()
        mg.manual_seed(3)
        on_device = draw(device=device)
        np.testing.assert_array_equal(on_device.numpy(), on_cpu)
        assert on_device.device == mg.zeros(1, device=device).device
    a = mg.randperm(10, generator=mg.Generator(5))
    assert a.tolist() == mg.randperm(10, generator=mg.Generator(5)).tolist()
    assert sorted(a.tolist()) == list(range(10)) and a.dtype == mg.int64


def test_multinomial():
    mg.manual_seed(0)
    weights = mg.tensor([0.0, 1.0, 3.0])
    drawn = mg.multinomial(weights, 4000, replacement=True).numpy()
    assert drawn.dtype == np.int64 and 0 not in drawn
    assert abs((drawn == 2).mean() - 0.75) < 0.03  # in proportion to the weights
    pair = mg.multinomial(weights, 2)
    assert sorted(pair.tolist()) == [1, 2]  # without replacement: each category once
    rows = mg.multinomial(mg.tensor([[1.0, 0.0], [0.0, 1.0]]), 3, replacement=True)
    assert rows.tolist() == [[0, 0, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match="without replacement from fewer categories"):
        mg.multinomial(weights, 3)
    with pytest.raises(ValueError, match="non-negative"):
        mg.multinomial(mg.tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="positive sum"):
        mg.multinomial(mg.tensor([0.0, 0.0]), 1)


def test_bernoulli():
    mg.manual_seed(0)
    probs = mg.tensor([0.0, 1.0, 0.25] * 2000, dtype=mg.float64)
    out = mg.bernoulli(probs).numpy().reshape(-1, 3)
    assert out.dtype == np.float64 and set(np.unique(out)) <= {0.0, 1.0}
    assert out[:, 0].sum() == 0 and out[:, 1].all() and abs(out[:, 2].mean() - 0.25) < 0.03
    assert mg.bernoulli(probs, 0.0).numpy().sum() == 0
    with pytest.raises(ValueError, match="at most 1"):
        mg.bernoulli(mg.tensor([1.5]))


def test_normal():
    mg.manual_seed(0)
    samples = mg.normal(2.0, 3.0, size=(20000,))
    assert samples.dtype == mg.float32 and samples.shape == (20000,)
    assert abs(samples.numpy().mean() - 2) < 0.1 and abs(samples.numpy().std() - 3) < 0.1
    mean = mg.tensor([[0.0], [100.0]], requires_grad=True)
    std = mg.tensor([1.0, 0.0, 2.0])
    out = mg.normal(mean, std)
    assert out.shape == (2, 3) and not out.requires_grad  # no gradient, as PyTorch (whose is zero)
    np.testing.assert_array_equal(out.numpy()[:, 1], [0, 100])
    assert mg.normal(mean).shape == (2, 1) and mg.normal(1.0, std).shape == (3,)
    with pytest.raises(TypeError, match="pass the size"):
        mg.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="std must be non-negative"):
        mg.normal(mean, -1.0)
