"""Image loading, saving, cropping and folder data sets, on real MNIST_SAMPLE PNGs and made-up images."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_data import HAVE_SAMPLE, MNIST, SAMPLE, missing

from minigrad.data.idx import read_idx
from minigrad.data.images import center_crop, get_image_files, load_image, load_image_folder, save_image
from minigrad.tensor import Tensor, tensor


@pytest.fixture(scope="session")
def mnist_sample(tmp_path_factory) -> Path:
    """MNIST_SAMPLE extracted once per session into a temporary folder."""
    if not HAVE_SAMPLE:
        pytest.skip(missing("the real MNIST_SAMPLE (mnist_sample.tgz)"))
    dest = tmp_path_factory.mktemp("mnist_sample")
    with tarfile.open(SAMPLE) as tar:
        tar.extractall(dest, filter="data")
    return dest / "mnist_sample"


def write_png(path: Path, pixels: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(pixels)
    (img.convert(mode) if mode else img).save(path)
    return path


RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
RGBA = RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8)


# ---- load_image ---------------------------------------------------------------------


def test_load_real_png_matches_the_idx_digit(mnist_sample):
    # MNIST_SAMPLE files are named by their index in the original split.
    image = load_image(mnist_sample / "train" / "3" / "7.png")
    assert isinstance(image, Tensor)
    assert image.shape == (28, 28) and image.dtype == np.uint8
    idx = MNIST / "t10k-images-idx3-ubyte.gz"
    if idx.is_file():
        valid_digit = load_image(mnist_sample / "valid" / "7" / "0.png")
        np.testing.assert_array_equal(valid_digit.numpy(), read_idx(idx).numpy()[0])


@pytest.mark.parametrize("pixels", [GRAY, RGB, RGBA], ids=["L", "RGB", "RGBA"])
def test_load_image_keeps_pixels_and_channels(tmp_path, pixels):
    image = load_image(write_png(tmp_path / "x.png", pixels))
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image.numpy(), pixels)


def test_load_bilevel_image_as_0_or_255(tmp_path):
    path = write_png(tmp_path / "bw.png", np.where(GRAY > 127, 255, 0).astype(np.uint8), mode="1")
    np.testing.assert_array_equal(load_image(path).numpy(), np.where(GRAY > 127, 255, 0))


def test_load_palette_images(tmp_path):
    gray = load_image(write_png(tmp_path / "gray.gif", GRAY, mode="P")).numpy()
    color_path = tmp_path / "color.png"
    Image.fromarray(RGB).quantize(colors=16).save(color_path)
    color = load_image(color_path).numpy()
    assert gray.shape == (5, 7)
    np.testing.assert_array_equal(gray, GRAY)
    assert color.shape == (5, 7, 3)
    np.testing.assert_array_equal(color, np.asarray(Image.open(color_path).convert("RGB")))


def test_load_16_bit_grayscale_scales_to_8_bits(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 257, 65535]], dtype=np.uint16)).save(path)
    assert load_image(path).numpy().tolist() == [[0, 1, 255]]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        load_image(tmp_path / "nothere.png")


@pytest.mark.parametrize("content", [b"hello, not an image\n", b""], ids=["text", "empty"])
def test_load_non_image_file(tmp_path, content):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an image") as info:
        load_image(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("keep", [4, 8, 20, 33, 60, 200, 0.5, 0.9], ids=lambda k: f"keep-{k}")
def test_load_truncated_png_says_truncated(tmp_path, keep):
    """Cut inside the signature, the header chunk or the pixel data: always "truncated"."""
    path = write_png(tmp_path / "cut.png", RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(ValueError, match=f"^truncated PNG file: {re.escape(str(path))}"):
        load_image(path)


def test_load_corrupt_png_says_corrupt(tmp_path):
    path = write_png(tmp_path / "bad.png", RNG.integers(0, 256, (64, 64), dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[60:80] = bytes(20)  # inside the compressed pixels
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"^corrupt PNG file: {re.escape(str(path))}"):
        load_image(path)


def test_load_decompression_bomb_is_a_value_error_naming_the_file(tmp_path, monkeypatch):
    path = write_png(tmp_path / "bomb.png", np.zeros((100, 100), dtype=np.uint8))  # tiny on disk
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # pillow refuses more than twice this
    with pytest.raises(ValueError, match=f"refusing to decode {re.escape(str(path))}, a possible decompression bomb"):
        load_image(path)


# ---- save_image ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pixels, expected",
    [(GRAY, GRAY), (GRAY[..., None], GRAY), (RGB, RGB), (RGBA, RGBA)],
    ids=["HW", "HW1", "HW3", "HW4"],
)
def test_save_uint8_round_trip(tmp_path, pixels, expected):
    path = tmp_path / "out.png"
    save_image(tensor(pixels), path)
    assert path.read_bytes().startswith(b"\x89PNG")
    np.testing.assert_array_equal(load_image(path).numpy(), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_float_round_trip_with_clipping(tmp_path, dtype):
    pixels = np.linspace(-0.5, 1.5, 5 * 7 * 3, dtype=dtype).reshape(5, 7, 3)
    path = tmp_path / "float.png"
    save_image(pixels, path)
    expected = np.rint(np.clip(pixels.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(load_image(path).numpy(), expected)
    assert expected.min() == 0 and expected.max() == 255


def test_save_format_follows_extension_and_creates_parent(tmp_path):
    bmp = tmp_path / "a" / "b" / "image.BMP"
    save_image(RGB, bmp)
    assert bmp.read_bytes().startswith(b"BM")
    np.testing.assert_array_equal(load_image(bmp).numpy(), RGB)
    save_image(GRAY, tmp_path / "noext")
    assert (tmp_path / "noext").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "pixels, path_name, error, message",
    [
        (np.full((4, 4), np.nan, dtype=np.float32), "keep.png", ValueError, "NaN"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "keep.png", ValueError, r"\(4, 4, 2\)"),
        (np.zeros((2, 4, 4, 3), dtype=np.uint8), "keep.png", ValueError, r"\(2, 4, 4, 3\)"),
        (np.zeros((4, 4), dtype=np.int32), "keep.png", TypeError, "int32"),
        (np.zeros((4, 4), dtype=bool), "keep.png", TypeError, "bool"),
        (GRAY, "keep.xyz", ValueError, "xyz"),
        (RGBA, "keep.jpg", OSError, "RGBA"),  # pillow fails while writing, after the temp file exists
    ],
    ids=["nan", "two-channels", "batch", "int32", "bool", "unknown-extension", "jpeg-rgba"],
)
def test_failed_save_leaves_folder_untouched(tmp_path, pixels, path_name, error, message):
    path = tmp_path / path_name
    path.write_bytes(b"precious bytes")
    with pytest.raises(error, match=message):
        save_image(pixels, path)
    assert path.read_bytes() == b"precious bytes"
    assert [p.name for p in tmp_path.iterdir()] == [path_name]


def test_save_replaces_existing_file_leaving_no_temp_files(tmp_path):
    path = tmp_path / "img.png"
    save_image(GRAY, path)
    save_image(255 - GRAY, path)
    np.testing.assert_array_equal(load_image(path).numpy(), 255 - GRAY)
    assert [p.name for p in tmp_path.iterdir()] == ["img.png"]


# ---- center_crop ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, size, top, left",
    [
        ((28, 28), 20, 4, 4),
        ((28, 28), 27, 0, 0),  # odd margin: the extra pixel goes from the bottom/right
        ((7, 9), (3, 4), 2, 2),
        ((7, 9), (7, 9), 0, 0),
        ((6, 5, 3), (4, 1), 1, 2),
        ((5, 5, 4), 1, 2, 2),
    ],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_center_crop_matches_numpy_slicing(shape, size, top, left, dtype):
    image = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    h, w = (size, size) if isinstance(size, int) else size
    cropped = center_crop(tensor(image), size)
    assert isinstance(cropped, Tensor) and cropped.dtype == dtype
    np.testing.assert_array_equal(cropped.numpy(), image[top : top + h, left : left + w])


def test_center_crop_accepts_numpy_and_does_not_alias_input():
    image = np.zeros((4, 4), dtype=np.uint8)
    cropped = center_crop(image, 2)
    cropped.array[...] = 9
    assert image.max() == 0


@pytest.mark.parametrize(
    "shape, size, message",
    [
        ((28, 28), 29, "larger than the image"),
        ((28, 28), (10, 30), "larger than the image"),
        ((28, 28), 0, "positive int"),
        ((28, 28), (-1, 3), "positive int"),
        ((28, 28), True, "positive int"),
        ((28, 28), (3, 3, 3), "positive int"),
        ((28, 28), 2.5, "positive int"),
        ((28,), 3, r"shape \(28,\)"),
        ((2, 28, 28, 1), 3, r"shape \(2, 28, 28, 1\)"),
    ],
)
def test_center_crop_errors(shape, size, message):
    with pytest.raises(ValueError, match=message):
        center_crop(np.zeros(shape, dtype=np.uint8), size)


# ---- get_image_files -----------------------------------------------------------------


def test_get_image_files_sorted_case_insensitive_and_recursive(tmp_path):
    names = ["b.PNG", "a.jpg", "notes.txt", "sub/c.Jpeg", "sub/deeper/d.gif", "sub/e.csv", "png"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "folder.png").mkdir()  # a folder with an image-like name is not a file
    found = get_image_files(tmp_path)
    assert found == [tmp_path / n for n in ["a.jpg", "b.PNG", "sub/c.Jpeg", "sub/deeper/d.gif"]]
    assert get_image_files(tmp_path, recurse=False) == [tmp_path / "a.jpg", tmp_path / "b.PNG"]
    assert get_image_files(tmp_path, extensions=("gif", ".CSV")) == [
        tmp_path / "sub/deeper/d.gif",
        tmp_path / "sub/e.csv",
    ]


def test_get_image_files_needs_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError, match="missing"):
        get_image_files(tmp_path / "missing")


# ---- load_image_folder ----------------------------------------------------------------


def test_load_real_training_folder(mnist_sample):
    images, labels, classes = load_image_folder(mnist_sample / "train")
    assert classes == ["3", "7"]
    assert images.shape == (12396, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (12396,) and labels.dtype == np.int64
    label_array = labels.numpy()
    assert (label_array == 0).sum() == 6131 and (label_array == 1).sum() == 6265
    assert (label_array[:6131] == 0).all()  # grouped by class, in class order
    first_three = min((mnist_sample / "train" / "3").iterdir(), key=lambda p: int(p.stem))
    first_seven = min((mnist_sample / "train" / "7").iterdir(), key=lambda p: int(p.stem))
    np.testing.assert_array_equal(images.numpy()[0], load_image(first_three).numpy())
    np.testing.assert_array_equal(images.numpy()[6131], load_image(first_seven).numpy())


def make_folder(root: Path, layout: dict[str, list[str]], shape=(3, 4)) -> None:
    """One image per file name, filled with a value unique to it (its position in `layout`)."""
    value = 0
    for cls, names in layout.items():
        for name in names:
            value += 1
            write_png(root / cls / name, np.full(shape, value, dtype=np.uint8))


def test_folder_order_numeric_names_and_given_classes(tmp_path):
    make_folder(tmp_path, {"cat": ["10.png", "7.png", "9.png"], "dog": ["b10.png", "b9.png", "a.png"]})
    (tmp_path / ".hidden").mkdir()
    images, labels, classes = load_image_folder(tmp_path)
    assert classes == ["cat", "dog"]
    # values by creation order: cat 10->1, 7->2, 9->3; dog b10->4, b9->5, a->6
    assert images.numpy()[:, 0, 0].tolist() == [2, 3, 1, 6, 4, 5]
    assert labels.numpy().tolist() == [0, 0, 0, 1, 1, 1]
    images, labels, classes = load_image_folder(tmp_path, classes=["dog", "cat"])
    assert classes == ["dog", "cat"]
    assert images.numpy()[:, 0, 0].tolist() == [6, 4, 5, 2, 3, 1]
    assert labels.numpy().tolist() == [0, 0, 0, 1, 1, 1]


def test_folder_of_colour_images(tmp_path):
    write_png(tmp_path / "a" / "1.png", RGB)
    images, _, _ = load_image_folder(tmp_path)
    assert images.shape == (1, 5, 7, 3)


def test_folder_mismatched_sizes_names_file_and_sizes(tmp_path):
    make_folder(tmp_path, {"a": ["1.png", "2.png"]})
    write_png(tmp_path / "b" / "1.png", np.zeros((5, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"b/1\.png has shape \(5, 4\) but .*a/1\.png has shape \(3, 4\)"):
        load_image_folder(tmp_path)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no class folders"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "stray.png").write_bytes(b"")
    with pytest.raises(ValueError, match="no image files in class folder .*empty_class"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="class folder not found: .*nope"):
        load_image_folder(tmp_path, classes=["nope"])
    with pytest.raises(NotADirectoryError):
        load_image_folder(tmp_path / "missing")
