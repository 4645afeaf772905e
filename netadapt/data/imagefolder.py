"""Images in class folders: ``<dir>/train/<class>/*.{jpg,png,...}`` and ``<dir>/test/<class>/...``.

Classes are the training split's sub-folders sorted by name (label 0 is the first). Images are
decoded once with PIL into one uint8 tensor in memory, grayscale if every image of the training
split is grayscale and RGB otherwise; decoded arrays are cached (see :mod:`netadapt.data.cache`).
All images must share one size unless ``image_size`` is given, which resizes them (bilinear).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from netadapt.data import cache
from netadapt.data.dataset import ImageTensorDataset, channel_stats
from netadapt.data.registry import RawData, register_source
from netadapt.errors import UserError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif", ".tiff"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def list_images(split_dir: Path, classes: list[str]) -> tuple[list[str], list[int]]:
    """Image files under each class folder (sorted by name) and their labels."""
    files, labels = [], []
    for label, name in enumerate(classes):
        folder = split_dir / name
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
            found = sorted(e.path for e in entries
                           if os.path.splitext(e.name)[1].lower() in EXTENSIONS and e.is_file())
        files += found
        labels += [label] * len(found)
    return files, labels


def decode(files: list[str], mode: str, image_size: int | None) -> np.ndarray:
    """Decode image files into one (N, C, H, W) uint8 array."""
    from PIL import Image, UnidentifiedImageError

    arrays, first_size = [], None
    for path in files:
        try:
            with Image.open(path) as img:
                img = img.convert(mode)
                if image_size is not None and img.size != (image_size, image_size):
                    img = img.resize((image_size, image_size), Image.BILINEAR)
                array = np.asarray(img, dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as exc:
            raise UserError(f"imagefolder: cannot decode {path} ({exc})") from exc
        if first_size is None:
            first_size = array.shape
        elif array.shape != first_size:
            raise UserError(f"imagefolder: {path} is {array.shape[1]}x{array.shape[0]} but earlier images are "
                            f"{first_size[1]}x{first_size[0]}; pass an image size to resize them all")
        arrays.append(array)
    stacked = np.stack(arrays)
    return stacked[:, None] if stacked.ndim == 3 else stacked.transpose(0, 3, 1, 2).copy()


def image_mode(files: list[str]) -> str:
    """``"L"`` if every file is grayscale, else ``"RGB"`` (reads headers only)."""
    from PIL import Image

    for path in files:
        try:
            with Image.open(path) as img:
                if img.mode not in _GRAY_MODES:
                    return "RGB"
        except OSError as exc:
            raise UserError(f"imagefolder: cannot open {path} ({exc})") from exc
    return "L"


def load_split(root: Path, split: str, classes: list[str], mode: str, image_size: int | None,
               listing: tuple[list[str], list[int]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    split_dir = root / split
    files, labels = listing or list_images(split_dir, classes)
    if not files:
        raise UserError(f"imagefolder: no images in {split_dir}/<class>/ (extensions: "
                        f"{', '.join(sorted(EXTENSIONS))})")
    key = cache.cache_key(root, files, f"{split}|{mode}|{image_size}|{','.join(classes)}")
    cached = cache.load_arrays(key)
    if cached is None:
        cached = decode(files, mode, image_size), np.asarray(labels, dtype=np.int64)
        cache.save_arrays(key, *cached)
    return torch.from_numpy(cached[0]), torch.from_numpy(cached[1])


@register_source("imagefolder", "imagefolder:<dir>")
def load_imagefolder(argument: str | None, image_size: int | None) -> RawData:
    if not argument:
        raise UserError("imagefolder needs a folder: imagefolder:<dir> with <dir>/train/<class>/ and "
                        "<dir>/test/<class>/")
    root = Path(argument).expanduser()
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise UserError(f"imagefolder: {root / split} is not a folder; expected <dir>/train/<class>/ "
                            "and <dir>/test/<class>/")
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    if len(classes) < 2:
        raise UserError(f"imagefolder: {root / 'train'} needs at least two class folders, found {classes}")
    unknown = sorted(p.name for p in (root / "test").iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        raise UserError(f"imagefolder: test classes {unknown} have no folder in {root / 'train'}")
    train_files, train_labels = list_images(root / "train", classes)
    mode = image_mode(train_files)
    train_x, train_y = load_split(root, "train", classes, mode, image_size, (train_files, train_labels))
    test_x, test_y = load_split(root, "test", classes, mode, image_size)
    mean, std = channel_stats(train_x)
    return RawData(
        train=ImageTensorDataset(train_x, train_y, mean, std),
        test=ImageTensorDataset(test_x, test_y, mean, std),
        num_classes=len(classes),
        augment="cifar",
    )
