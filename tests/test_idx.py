"""read_idx / write_idx on the real MNIST files and on crafted corrupt ones."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shared_data import MNIST, missing

from minigrad.data.idx import read_idx, write_idx
from minigrad.tensor import Tensor, tensor

IDX_DTYPES = ["uint8", "int8", ">i2", "<i2", "int32", ">f4", "float32", "float64"]


def mnist_file(name: str) -> Path:
    path = MNIST / name
    if not path.is_file():
        pytest.skip(missing(f"the real MNIST file mnist/{name}"))
    return path


@pytest.fixture(scope="module")
def train_images() -> Tensor:
    return read_idx(mnist_file("train-images-idx3-ubyte.gz"))


def test_real_training_images(train_images):
    assert isinstance(train_images, Tensor)
    assert train_images.shape == (60000, 28, 28)
    assert train_images.dtype == np.uint8
    pixels = train_images.numpy().astype(np.float64) / 255
    assert round(pixels.mean(), 4) == 0.1307
    assert round(pixels.std(), 4) == 0.3081


@pytest.mark.parametrize(
    "name, shape",
    [
        ("train-labels-idx1-ubyte.gz", (60000,)),
        ("t10k-images-idx3-ubyte.gz", (10000, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", (10000,)),
    ],
)
def test_real_files_shapes(name, shape):
    data = read_idx(mnist_file(name))
    assert data.shape == shape
    assert data.dtype == np.uint8


def test_real_training_labels():
    labels = read_idx(mnist_file("train-labels-idx1-ubyte.gz")).numpy()
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert labels.max() == 9


def idx_bytes(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes() + data


def test_reads_hand_made_big_endian_file(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(0x0B, (2, 2), bytes([0, 1, 1, 0, 0xFF, 0xFF, 0x80, 0x00])))
    data = read_idx(path)
    assert data.dtype == np.int16 and data.dtype.isnative
    assert data.numpy().tolist() == [[1, 256], [-1, -32768]]


def test_gzip_is_detected_by_content_not_name(tmp_path):
    raw = idx_bytes(0x08, (3,), bytes([7, 8, 9]))
    (tmp_path / "gzipped.idx").write_bytes(gzip.compress(raw))
    (tmp_path / "plain.gz").write_bytes(raw)
    assert read_idx(tmp_path / "gzipped.idx").numpy().tolist() == [7, 8, 9]
    assert read_idx(tmp_path / "plain.gz").numpy().tolist() == [7, 8, 9]


GOOD = idx_bytes(0x08, (2, 3), bytes(range(6)))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01" + GOOD[1:], "magic number"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX type code 0x0A"),
        (GOOD[:-1], "truncated"),
        (GOOD + b"\x00", "trailing garbage"),
        (GOOD[:6], "truncated IDX header"),
        (b"\x00\x00", "not an IDX file"),
        (gzip.compress(GOOD)[:-5], "corrupt gzip"),  # truncated gzip stream
        (gzip.compress(GOOD)[:12] + b"\xff" * 8 + gzip.compress(GOOD)[20:], "corrupt gzip"),
    ],
    ids=["magic", "type-code", "truncated-data", "trailing", "truncated-header", "tiny", "truncated-gzip", "bad-gzip"],
)
def test_corrupt_files_raise_value_error_naming_path(tmp_path, content, message):
    path = tmp_path / "corrupt.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("idx")


@settings(max_examples=60, deadline=None)
@given(
    arr=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    ),
    gzipped=st.booleans(),
)
def test_write_read_round_trip(scratch, arr, gzipped):
    path = scratch / ("a.idx.gz" if gzipped else "a.idx")
    write_idx(arr, path)
    assert path.read_bytes().startswith(b"\x1f\x8b") == gzipped
    back = read_idx(path).numpy()
    assert back.dtype == arr.dtype.newbyteorder("=") and back.dtype.isnative
    assert back.shape == arr.shape
    assert back.tobytes() == arr.astype(back.dtype).tobytes()  # bit-exact, NaN and -0.0 included


def test_write_accepts_tensor_and_leaves_no_temp_files(tmp_path):
    write_idx(tensor(np.arange(6, dtype=np.int32).reshape(2, 3)), tmp_path / "t.idx")
    assert read_idx(tmp_path / "t.idx").numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert [p.name for p in tmp_path.iterdir()] == ["t.idx"]


@pytest.mark.parametrize("dtype", ["int64", "bool", "float16", "uint16"])
def test_write_rejects_dtypes_idx_cannot_hold(tmp_path, dtype):
    with pytest.raises(TypeError, match=dtype):
        write_idx(np.zeros(3, dtype=dtype), tmp_path / "x.idx")
    assert list(tmp_path.iterdir()) == []


def gzip_bomb(path: Path, header: bytes, zeros: int) -> Path:
    """A gzip file of `header` then `zeros` zero bytes: small on disk, big once decompressed."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header)
        block = bytes(1 << 20)
        for _ in range(zeros >> 20):
            f.write(block)
    return path


def test_declared_dimensions_are_checked_before_allocating(tmp_path, peak_bytes):
    huge = idx_bytes(0x0E, (1 << 20, 1 << 20, 1 << 20), bytes(16))  # float64: 2**63 bytes claimed
    (tmp_path / "huge.idx").write_bytes(huge)
    (tmp_path / "huge.idx.gz").write_bytes(gzip.compress(huge))
    for name in ("huge.idx", "huge.idx.gz"):
        with pytest.raises(ValueError, match=r"truncated: shape \(1048576, 1048576, 1048576\) of float64 needs"):
            read_idx(tmp_path / name)
        assert peak_bytes(lambda name=name: read_idx(tmp_path / name)) < 16 << 20


def test_a_gzip_bomb_is_not_decompressed_past_what_the_header_declares(tmp_path, peak_bytes):
    bomb = gzip_bomb(tmp_path / "bomb.idx.gz", idx_bytes(0x08, (3,), b""), 256 << 20)
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(ValueError, match="trailing garbage"):
        read_idx(bomb)
    assert peak_bytes(lambda: read_idx(bomb)) < 16 << 20
