"""Image files to and from uint8 Tensors, and folder-of-images data sets.

Images are channels-last: (H, W) for grayscale, (H, W, C) otherwise.  All pixel work
is plain numpy; only the public functions wrap their results in Tensors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..files import atomic_open
from ..tensor import Tensor, tensor
from .idx import to_numpy

__all__ = [
    "IMAGE_EXTENSIONS", "load_image", "save_image", "center_crop", "get_image_files", "load_image_folder", "show_image",
]  # fmt: skip

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_AS_IS_MODES = {"L", "LA", "RGB", "RGBA"}
_TO_RGB_MODES = {"CMYK", "YCbCr", "LAB", "HSV"}


def load_image(path: str | os.PathLike) -> Tensor:
    """Read an image file as a uint8 Tensor: (H, W) for grayscale, (H, W, C) otherwise.

    Mode '1' becomes 0/255 grayscale; palette images become RGB (RGBA if the palette
    has transparency), or grayscale if every palette colour is a gray; 16-bit
    grayscale is scaled to 8 bits.  A missing file raises FileNotFoundError; a file
    pillow cannot read as an image raises ValueError naming the path and saying whether
    it is truncated, corrupt or no image at all; so does a possible decompression bomb
    (more than twice ``PIL.Image.MAX_IMAGE_PIXELS`` pixels).
    """
    return tensor(_read_pixels(Path(path)))


def save_image(image: Any, path: str | os.PathLike) -> None:
    """Write an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image atomically.

    `image` (Tensor or array) is uint8, or float with values in [0, 1] (values outside
    are clipped; NaN is an error).  The format follows the extension (PNG if there is
    none).  The file is written to a temporary file in the same folder (created if
    needed) and moved over `path`, so on any error `path` is left as it was.
    """
    pixels = _to_uint8(to_numpy(image))
    path = Path(path)
    fmt = _save_format(path)
    with atomic_open(path) as f:
        Image.fromarray(pixels).save(f, format=fmt)


def center_crop(image: Any, size: int | tuple[int, int]) -> Tensor:
    """Crop the central `size` (an int for a square, or (h, w)) of an image, keeping its dtype.

    Axes 0 and 1 are height and width: an image is (H, W) or channels-last (H, W, C).
    When the margin to remove is odd, the extra row/column comes off the bottom/right.
    A crop larger than the image raises ValueError (no padding).
    """
    arr = to_numpy(image)
    if arr.ndim not in (2, 3):
        raise ValueError(f"center_crop expects an (H, W) or (H, W, C) image, got shape {arr.shape}")
    h, w = _crop_size(size)
    height, width = arr.shape[:2]
    if h > height or w > width:
        raise ValueError(f"crop size {(h, w)} is larger than the image ({height}, {width})")
    top, left = (height - h) // 2, (width - w) // 2
    return tensor(arr[top : top + h, left : left + w])


def get_image_files(
    path: str | os.PathLike, extensions: Iterable[str] = IMAGE_EXTENSIONS, recurse: bool = True
) -> list[Path]:
    """The image files under the folder `path`, sorted by full path string.

    Extensions match case-insensitively (a missing leading dot is added); with
    `recurse=False` only the folder's own files are listed.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    wanted = {ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in extensions}
    candidates = root.rglob("*") if recurse else root.iterdir()
    return sorted((p for p in candidates if p.suffix.lower() in wanted and p.is_file()), key=str)


def load_image_folder(
    path: str | os.PathLike, classes: Sequence[str] | None = None
) -> tuple[Tensor, Tensor, list[str]]:
    """Load a `<path>/<class>/<image>` data set into (images, labels, classes).

    `images` is a uint8 Tensor (N, H, W) (or (N, H, W, C) for colour images), `labels`
    an int64 Tensor (N,) indexing `classes`.  `classes` defaults to the sub-folder names
    (hidden ones excluded) sorted by name; if given, its order sets the label indices.
    Each class folder's own image files (not sub-folders) are taken in file-name order:
    numeric order when every stem in that folder is a number ("7.png" < "10.png"),
    otherwise plain string order.  Every class must have at least one image and all
    images the same shape, else ValueError.
    """
    root = Path(path)
    classes = _class_names(root) if classes is None else list(classes)
    if not classes:
        raise ValueError(f"no class folders in {root}")
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        class_files = _sorted_by_name(_class_files(root / name))
        files += class_files
        labels += [label] * len(class_files)
    return tensor(_read_stack(files)), tensor(np.array(labels, dtype=np.int64)), classes


def _read_pixels(path: Path) -> np.ndarray:
    """Decode one image file into a uint8 array (possibly read-only: `tensor()` copies it)."""
    with open(path, "rb") as f:  # a missing file or a folder: the usual OSError
        try:
            img = Image.open(f)
            img.load()
        except Image.DecompressionBombError as e:
            raise ValueError(
                f"refusing to decode {path}, a possible decompression bomb: {e} "
                "(raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file)"
            ) from e
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:  # broken or unknown data
            detail = "" if isinstance(e, UnidentifiedImageError) else f" ({e})"
            raise ValueError(f"{_what_is_wrong(f)}: {path}{detail}") from e
        with img:
            try:
                return _pixels(img)
            except ValueError as e:  # an image mode we don't convert
                raise ValueError(f"cannot use image {path}: {e}") from e


# Formats whose files can be told truncated: (first bytes, last bytes of a complete file).
_ENDS = {
    "PNG": (b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"),
    "JPEG": (b"\xff\xd8\xff", b"\xff\xd9"),
    "GIF": (b"GIF8", b";"),
}


def _what_is_wrong(f: BinaryIO) -> str:
    """Why pillow could not read the open file `f`: truncated, corrupt, or not an image at all."""
    f.seek(0)
    head = f.read(8)
    f.seek(max(0, f.seek(0, os.SEEK_END) - 8))
    tail = f.read()
    for name, (start, end) in _ENDS.items():
        if head and (head.startswith(start) or start.startswith(head)):
            return f"truncated {name} file" if not tail.endswith(end) else f"corrupt {name} file"
    return "not an image file (or a format pillow cannot read)"


def _pixels(img: Image.Image) -> np.ndarray:
    """The pixels of an opened pillow image as uint8, channels last."""
    if img.mode in _AS_IS_MODES:
        return np.asarray(img)
    if img.mode == "1":
        return np.asarray(img.convert("L"))
    if img.mode in ("P", "PA"):
        return _palette_pixels(img)
    if img.mode.startswith("I;16"):
        return ((np.asarray(img).astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if img.mode in _TO_RGB_MODES:
        return np.asarray(img.convert("RGB"))
    raise ValueError(f"unsupported image mode {img.mode!r}")


def _palette_pixels(img: Image.Image) -> np.ndarray:
    """A palette image as RGBA if it has transparency, else grayscale if all gray, else RGB."""
    if img.mode == "PA" or "transparency" in img.info:
        return np.asarray(img.convert("RGBA"))
    rgb = np.asarray(img.convert("RGB"))
    is_gray = np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    return rgb[..., 0] if is_gray else rgb


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Validate an image array for saving and return it as contiguous uint8, (H, W, 1) squeezed."""
    good_shape = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))
    if not good_shape or 0 in arr.shape:
        raise ValueError(f"save_image expects shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"save_image expects uint8 or float pixels, got dtype {arr.dtype}")
    if np.isnan(arr).any():
        raise ValueError("save_image got NaN pixel values")
    return np.rint(np.clip(arr, 0.0, 1.0) * 255).astype(np.uint8)


def _save_format(path: Path) -> str:
    """The pillow format name for writing `path`: from its extension, PNG if it has none."""
    ext = path.suffix.lower()
    if not ext:
        return "PNG"
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"cannot save {path}: no image format for extension {ext!r}")
    return fmt


def _crop_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """(h, w) from an int or a pair, checked to be positive."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else size
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(map(_is_positive_int, pair))):
        raise ValueError(f"crop size must be a positive int or a pair of them, got {size!r}")
    return int(pair[0]), int(pair[1])


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(value > 0)


def _class_names(root: Path) -> list[str]:
    """The non-hidden sub-folders of `root`, sorted by name."""
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _class_files(folder: Path) -> list[Path]:
    """The image files directly inside one class folder; at least one."""
    if not folder.is_dir():
        raise FileNotFoundError(f"class folder not found: {folder}")
    files = get_image_files(folder, recurse=False)
    if not files:
        raise ValueError(f"no image files in class folder {folder}")
    return files


def _sorted_by_name(files: list[Path]) -> list[Path]:
    """Sort by file name: numerically if every stem is a number, else as strings."""
    if all(f.stem.isdecimal() for f in files):
        return sorted(files, key=lambda f: (int(f.stem), f.name))
    return sorted(files, key=lambda f: f.name)


def _read_stack(files: list[Path]) -> np.ndarray:
    """Decode same-shaped image files into one preallocated uint8 array (N, ...)."""
    first = _read_pixels(files[0])
    stack = np.empty((len(files), *first.shape), dtype=np.uint8)
    stack[0] = first
    for i, file in enumerate(files[1:], start=1):
        pixels = _read_pixels(file)
        if pixels.shape != first.shape:
            raise ValueError(
                f"image {file} has shape {pixels.shape} but {files[0]} has shape {first.shape}; "
                "all images must have the same size"
            )
        stack[i] = pixels
    return stack


def show_image(image: Any) -> Image.Image:
    """An image tensor (or array) as a PIL image, which a notebook displays inline (fastai's name).

    (H, W) is grayscale; (H, W, C) or PyTorch's (C, H, W) with C of 1, 3 or 4 is colour.
    uint8 values are shown as they are; other one-channel images are scaled from their min to
    their max (as matplotlib's ``imshow`` does), colour floats are taken in [0, 1].
    """
    pixels = to_numpy(image)
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4) and pixels.shape[-1] not in (1, 3, 4):
        pixels = pixels.transpose(1, 2, 0)  # channels first, as PyTorch keeps images
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[-1] not in (3, 4)):
        raise ValueError(f"show_image: expected an image of shape (H, W), (H, W, C) or (C, H, W), got {pixels.shape}")
    if pixels.dtype != np.uint8:
        if pixels.dtype.kind not in "biuf" or not np.isfinite(pixels).all():
            raise ValueError(f"show_image: expected finite numbers, got dtype {pixels.dtype} with NaN or inf")
        pixels = pixels.astype(np.float64)
        if pixels.ndim == 2:
            low, high = pixels.min(initial=0.0), pixels.max(initial=0.0)
            pixels = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
        pixels = np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(pixels)
