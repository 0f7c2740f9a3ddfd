"""Module buffers: registered, walked, moved, saved in state_dict and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.serialization import load, save


class Stats(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(mg.ones(3))
        self.register_buffer("running_mean", mg.zeros(3))
        self.register_buffer("count", mg.tensor(0))
        self.register_buffer("scratch", mg.zeros(2), persistent=False)


def test_buffers_are_walked_and_in_state_dict_after_parameters():
    net = nn.Sequential(nn.Linear(3, 3), Stats())
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.count", "1.scratch"]
    assert len(list(net.buffers())) == 3 and len(list(net.parameters())) == 3  # buffers aren't trained
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.running_mean", "1.count"]
    assert net.state_dict()["1.count"].dtype == mg.int64


def test_assigning_a_buffer_keeps_it_a_buffer():
    m = Stats()
    m.running_mean = mg.full((3,), 2.0)
    assert m.state_dict()["running_mean"].tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="buffer 'running_mean'"):
        m.running_mean = [1.0, 2.0, 3.0]
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("weight", mg.zeros(3))
    del m.count
    assert "count" not in m.state_dict()


def test_buffers_round_trip_through_a_file(tmp_path):
    m = Stats()
    m.running_mean.array[:] = [1.0, 2.0, 3.0]
    m.count.array[...] = 7
    save(m.state_dict(), tmp_path / "s.npz")
    fresh = Stats()
    buffer = fresh.running_mean
    fresh.load_state_dict(load(tmp_path / "s.npz"))
    assert fresh.running_mean is buffer  # loaded in place
    assert fresh.running_mean.tolist() == [1.0, 2.0, 3.0] and fresh.count.item() == 7
    assert fresh.count.dtype == mg.int64
    with pytest.raises(RuntimeError, match="missing key.*'running_mean'"):
        fresh.load_state_dict({"weight": mg.ones(3), "count": mg.tensor(1)})
    with pytest.raises(RuntimeError, match="size mismatch for 'running_mean'.*the buffer in the model"):
        fresh.load_state_dict({**m.state_dict(), "running_mean": mg.zeros(4)})


def test_to_casts_float_buffers_only():
    m = Stats().to(dtype=mg.float64)
    assert m.running_mean.dtype == mg.float64 and m.count.dtype == mg.int64
    assert isinstance(m.running_mean.array, np.ndarray)
