"""minigrad.save / minigrad.load: round trips, atomic writes, and files that are not ours."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn, serialization
from minigrad.serialization import MARKER, MAX_DEPTH, SerializationError, load, save

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def assert_same_tensor(a, b):
    assert isinstance(b, mg.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape and b.device == "cpu"
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ---- round trips ---------------------------------------------------------------------------------
def test_flat_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, dtype=mg.float64))
    state = model.state_dict()
    path = tmp_path / "model.npz"
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state)
    for k in state:
        assert_same_tensor(state[k], loaded[k])
        assert not loaded[k].requires_grad
    assert leftovers(tmp_path, {"model.npz"}) == []
    # an ordinary npz: numpy reads it too
    with np.load(path, allow_pickle=False) as npz:
        assert MARKER in npz.files and len(npz.files) == 5


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_and_odd_shapes_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(0)
    values = {
        "scalar": mg.tensor(np.asarray(rng.integers(0, 2, ()), dtype=dtype)),
        "empty": mg.tensor(np.zeros((0, 3), dtype=dtype)),
        "matrix": mg.tensor((rng.standard_normal((3, 4)) * 10).astype(dtype)),
        "strided": mg.tensor((rng.standard_normal((4, 6)) * 10).astype(dtype)).T,
    }
    save(values, tmp_path / "x.npz")
    loaded = load(tmp_path / "x.npz")
    for k, v in values.items():
        assert_same_tensor(v, loaded[k])


@given(hnp.arrays(st.sampled_from(DTYPES).map(np.dtype), hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_array_round_trips(tmp_path, array):
    path = tmp_path / "h.npz"
    save({"a": mg.tensor(array), "b": array}, path)
    loaded = load(path)
    assert_same_tensor(mg.tensor(array), loaded["a"])
    assert isinstance(loaded["b"], np.ndarray) and loaded["b"].dtype == array.dtype
    np.testing.assert_array_equal(loaded["b"], array)


def test_nested_containers_and_numbers_round_trip(tmp_path):
    obj = {
        "model": OrderedDict([("w", mg.ones(2, 2)), ("b", mg.zeros(2))]),
        "epoch": 3,
        "lr": 0.05,
        "best": float("inf"),
        "done": False,
        "note": "mlp",
        "none": None,
        "history": [0.5, 0.25, {"step": 2, "t": mg.tensor([1, 2, 3])}],
        "pair": (1, mg.tensor(2.5)),
        "np_scalar": np.float32(1.5),
        "np_int": np.int64(7),
        "big": 2**70,
    }
    save(obj, tmp_path / "ckpt.npz")
    loaded = load(tmp_path / "ckpt.npz")
    assert list(loaded) == list(obj)
    assert_same_tensor(obj["model"]["w"], loaded["model"]["w"])
    assert_same_tensor(obj["history"][2]["t"], loaded["history"][2]["t"])
    assert isinstance(loaded["pair"], tuple) and loaded["pair"][0] == 1
    assert_same_tensor(obj["pair"][1], loaded["pair"][1])
    assert loaded["epoch"] == 3 and type(loaded["epoch"]) is int
    assert loaded["lr"] == 0.05 and loaded["best"] == float("inf")
    assert loaded["done"] is False and loaded["note"] == "mlp" and loaded["none"] is None
    assert loaded["history"][:2] == [0.5, 0.25] and loaded["history"][2]["step"] == 2
    assert loaded["np_scalar"] == 1.5 and loaded["np_int"] == 7 and loaded["big"] == 2**70


def test_saving_a_gradient_tracking_tensor_saves_its_values(tmp_path):
    w = mg.randn(3, requires_grad=True)
    y = w * 2
    save({"w": w, "y": y}, tmp_path / "g.npz")
    loaded = load(tmp_path / "g.npz")
    np.testing.assert_array_equal(loaded["y"].numpy(), w.numpy() * 2)
    assert not loaded["w"].requires_grad and loaded["w"].is_leaf


def test_save_overwrites_and_accepts_str_paths(tmp_path):
    path = str(tmp_path / "m.npz")
    save({"a": mg.zeros(1)}, path)
    save({"a": mg.ones(1)}, path)
    assert load(path)["a"].item() == 1.0
    assert leftovers(tmp_path, {"m.npz"}) == []
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # as open() would make it, not a temp file's 0600


# ---- atomic saving ----------------------------------------------------------------------------------
def test_a_failed_save_leaves_the_old_file_byte_for_byte(tmp_path):
    path = tmp_path / "model.npz"
    save({"a": mg.ones(3)}, path)
    before = path.read_bytes()
    bad = {"a": mg.zeros(1000), "b": mg.ones(10), "fn": lambda x: x}  # fails after two arrays were written
    with pytest.raises(TypeError, match=r"obj\['fn'\] is a function"):
        save(bad, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"model.npz"}) == []
    with pytest.raises(TypeError, match=r"obj\['x'\]\[1\] has dtype <U1"):
        save({"x": [mg.ones(1), np.array(["a"])]}, path)
    with pytest.raises(TypeError, match="key 1 of type int"):
        save({1: mg.ones(1)}, path)
    with pytest.raises(TypeError, match="state_dict"):
        save(nn.Linear(2, 2), path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"model.npz"}) == []


def test_a_failed_save_leaves_no_new_file(tmp_path):
    with pytest.raises(TypeError):
        save({"a": mg.ones(2), "b": object()}, tmp_path / "new.npz")
    assert leftovers(tmp_path, set()) == []


def test_saving_to_a_folder_names_it_and_leaves_it_alone(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside.txt").write_text("keep me")
    with pytest.raises(IsADirectoryError, match=f"can't write {target}: it is a folder"):
        save({"a": mg.ones(2)}, target)
    assert (target / "inside.txt").read_text() == "keep me"
    assert leftovers(tmp_path, {"taken"}) == []


def test_nesting_deeper_than_load_reads_is_refused_by_save(tmp_path):
    deep: list = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    looped: list = []
    looped.append(looped)
    for obj in (deep, {"a": looped}):
        with pytest.raises(ValueError, match=f"nested more than {MAX_DEPTH} deep"):
            save(obj, tmp_path / "deep.npz")
    assert leftovers(tmp_path, set()) == []


def test_saving_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"a": mg.ones(1)}, tmp_path / "nope" / "m.npz")


# ---- loading files that are not ours ------------------------------------------------------------------
def saved(tmp_path, name="good.npz"):
    path = tmp_path / name
    save({"w": mg.randn(50, 20, generator=mg.Generator(0)), "b": mg.zeros(20)}, path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load(tmp_path / "absent.npz")


def test_truncated_files_are_errors_naming_the_path(tmp_path):
    data = saved(tmp_path).read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 30, len(data) - 1):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match=f"cut{cut}.npz"):
            load(path)


def test_corrupted_bytes_are_errors_naming_the_path(tmp_path):
    good = saved(tmp_path)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("t0.npy")
    middle = info.header_offset + 200 + 2000  # well inside t0's array data
    data[middle] ^= 0xFF
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match="flipped.npz.*t0.npy"):
        load(path)


def test_foreign_files_are_errors_naming_the_path(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, these are not weights\n")
    with pytest.raises(SerializationError, match="notes.txt.*not a minigrad save file"):
        load(text)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.ones(3))
    with pytest.raises(SerializationError, match=f"foreign.npz.*no '{MARKER}' entry"):
        load(foreign)
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(SerializationError, match="array.npy"):
        load(npy)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    with pytest.raises(SerializationError, match="model.pkl"):
        load(pickled)


def write_zip(path, entries: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in entries.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, array, allow_pickle=True)
            zf.writestr(name + ".npy", buf.getvalue())


def header(tree, version=1, fmt="minigrad"):
    text = json.dumps({"format": fmt, "version": version, "tree": tree})
    return np.frombuffer(text.encode(), dtype=np.uint8)


UNPICKLED = []


class Payload:
    def __reduce__(self):
        return (UNPICKLED.append, ("code ran",))


def test_pickled_entries_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = Payload()
    write_zip(path, {MARKER: header({"type": "tensor", "key": "t0"}), "t0": evil})
    with pytest.raises(SerializationError, match="evil.npz.*t0.npy"):
        load(path)
    assert UNPICKLED == []


@pytest.mark.parametrize(
    "entries, message",
    [
        ({MARKER: header({"type": "tensor", "key": "t9"})}, "'t9.npy' is missing"),
        ({MARKER: header({"type": "mystery"})}, "unknown node"),
        ({MARKER: header({"type": "dict", "items": 5})}, "corrupt minigrad header"),
        ({MARKER: header(1, version=2)}, "version 2"),
        ({MARKER: header(1, fmt="other")}, "corrupt minigrad header"),
        ({MARKER: np.frombuffer(b"{not json", dtype=np.uint8)}, "corrupt minigrad header"),
        ({MARKER: np.zeros(3, dtype=np.float32)}, "corrupt minigrad header"),
    ],
)
def test_corrupt_headers_are_errors_naming_the_path(tmp_path, entries, message):
    path = tmp_path / "odd.npz"
    write_zip(path, entries)
    with pytest.raises(SerializationError, match=f"odd.npz.*{message}"):
        load(path)


def test_serialization_error_is_a_value_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not weights")
    try:
        load(tmp_path / "notes.txt")
    except ValueError as caught:  # code that catches ValueError around load() keeps working
        assert type(caught) is SerializationError and "notes.txt" in str(caught)
    else:
        pytest.fail("load() of a text file raised nothing")


# ---- crafted files: refused before any allocation ------------------------------------------------
def npy_entry(header: str, data: bytes = b"") -> bytes:
    """A .npy entry (format 1.0) with the given header text, padded as numpy pads it."""
    text = header.encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def marker_entry(tree_json: str) -> bytes:
    buf = io.BytesIO()
    text = '{"format": "minigrad", "version": 1, "tree": ' + tree_json + "}"
    np.lib.format.write_array(buf, np.frombuffer(text.encode(), dtype=np.uint8))
    return buf.getvalue()


def write_entries(path, entries: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


ONE_TENSOR = '{"type": "tensor", "key": "t0"}'


@pytest.mark.parametrize(
    "shape",
    ["(100000, 100000, 1000)", "(" + "1, " * 30 + "2**62)".replace("2**62", str(2**62))],
    ids=["80-TB", "2**65-bytes"],
)
def test_a_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path, shape, peak_bytes):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }"
    path = write_entries(
        tmp_path / "huge.npz", {f"{MARKER}.npy": marker_entry(ONE_TENSOR), "t0.npy": npy_entry(header)}
    )
    with pytest.raises(SerializationError, match=r"huge.npz: corrupt or truncated entry 't0.npy': its header declares"):
        load(path)
    assert peak_bytes(lambda: load(path)) < 16 << 20


def test_a_header_nested_900_deep_is_refused(tmp_path):
    deep_tree = '{"type": "list", "items": [' * 900 + "1" + "]}" * 900
    path = write_entries(tmp_path / "deep.npz", {f"{MARKER}.npy": marker_entry(deep_tree)})
    with pytest.raises(SerializationError, match=f"deep.npz: corrupt minigrad header.*nested more than {MAX_DEPTH}"):
        load(path)
    deep_npy = "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 900 + ")" * 900 + ", }"
    path = write_entries(
        tmp_path / "deep2.npz", {f"{MARKER}.npy": marker_entry(ONE_TENSOR), "t0.npy": npy_entry(deep_npy)}
    )
    with pytest.raises(SerializationError, match="deep2.npz: corrupt or truncated entry 't0.npy'"):
        load(path)


def test_a_zip_bomb_stops_at_the_size_limit_before_allocating(tmp_path, monkeypatch, peak_bytes):
    size = 64 << 20
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({size},), }}"
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{MARKER}.npy", marker_entry(ONE_TENSOR))
        with zf.open("t0.npy", "w") as f:
            f.write(npy_entry(header))
            for _ in range(size >> 20):
                f.write(bytes(1 << 20))
    assert path.stat().st_size < size // 100
    with pytest.raises(SerializationError, match=r"'t0.npy'.*67,108,864 bytes.*more than max_bytes=1,000,000"):
        load(path, max_bytes=1_000_000)
    assert peak_bytes(lambda: load(path, max_bytes=1_000_000)) < 16 << 20
    monkeypatch.setattr(serialization, "MAX_LOAD_BYTES", 10 << 20)  # the default limit is a setting
    with pytest.raises(SerializationError, match=r"MAX_LOAD_BYTES"):
        load(path)
    assert load(path, max_bytes=size + 1000).shape == (size,)
