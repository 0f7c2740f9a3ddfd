"""Getting data in: downloads (fastai's ``URLs`` and ``untar_data``), image and IDX files, and loaders.

>>> from minigrad.data import untar_data, URLs, load_image_folder, DataLoader, DataLoaders
"""

from .download import *  # noqa: F401,F403  (URLs, untar_data, download_data and their errors)
from .download import __all__ as _download_all
from .idx import read_idx, write_idx
from .images import center_crop, get_image_files, load_image, load_image_folder, save_image, show_image
from .loader import CollateError, DataLoader, DataLoaders, Dataset, TensorDataset, default_collate

__all__ = [
    *_download_all,
    "read_idx",
    "write_idx",
    "load_image",
    "save_image",
    "center_crop",
    "get_image_files",
    "load_image_folder",
    "show_image",
    "Dataset",
    "TensorDataset",
    "DataLoader",
    "DataLoaders",
    "default_collate",
    "CollateError",
]
