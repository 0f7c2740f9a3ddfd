"""minigrad.save / minigrad.load with .safetensors files: the weights PyTorch reads and writes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="needs the safetensors extra")


def model() -> nn.Sequential:
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_a_state_dict_round_trips_with_pytorchs_key_names(tmp_path):
    path = tmp_path / "m.safetensors"
    m = model()
    mg.save(m.state_dict(), path)
    stored = safetensors_numpy.load_file(str(path))  # read by the format's own reader
    assert sorted(stored) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert stored["0.weight"].shape == (3, 4) and stored["0.weight"].dtype == np.float32
    other = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    other.load_state_dict(mg.load(path))
    x = mg.randn(5, 4)
    np.testing.assert_array_equal(other(x).numpy(), m(x).numpy())


def test_files_written_by_other_frameworks_load_as_tensors(tmp_path):
    path = tmp_path / "other.safetensors"
    arrays = {"emb.weight": np.arange(6, dtype=np.float64).reshape(2, 3), "steps": np.array([3], dtype=np.int64)}
    safetensors_numpy.save_file(arrays, str(path))
    loaded = mg.load(path)
    assert set(loaded) == set(arrays)
    for name, array in arrays.items():
        assert isinstance(loaded[name], mg.Tensor) and loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name].numpy(), array)


def test_what_the_format_cannot_hold_is_a_clear_error_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match="flat mapping of names to tensors"):
        mg.save([mg.ones(2)], path)
    with pytest.raises(TypeError, match="entry 'nested' is a dict"):
        mg.save({"nested": {"w": mg.ones(2)}}, path)
    assert not path.exists()
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(mg.SerializationError, match="bad.safetensors: not a readable .safetensors file"):
        mg.load(path)


def test_without_the_package_the_error_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['safetensors'] = None\n"  # as if it were not installed
        "import minigrad as mg\n"
        f"mg.save({{'w': mg.ones(2)}}, r'{tmp_path / 'w.safetensors'}')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install 'minigrad[safetensors]'" in result.stderr


def test_pytorch_loads_the_file_unchanged(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is optional: this checks the hand-over when it is here")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "m.safetensors"
    m = model()
    mg.save(m.state_dict(), path)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    net.load_state_dict(safetensors_torch.load_file(str(path)))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(net(torch.from_numpy(x)).detach().numpy(), m(mg.tensor(x)).numpy(), rtol=1e-6)
