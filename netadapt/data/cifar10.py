"""CIFAR-10 from the official python-format batches (``data_batch_1`` ... ``data_batch_5``, ``test_batch``).

The files must be in ``<dir>`` or ``<dir>/cifar-10-batches-py``. Loading never downloads by itself:
:func:`download` (``netadapt data download cifar10 <dir>``) fetches the official archive and checks
its MD5, and the CLI offers to run it when the files are missing and it can ask.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from netadapt.data.dataset import ImageTensorDataset
from netadapt.data.registry import RawData, register_source
from netadapt.data.resize import resize
from netadapt.errors import MissingData, UserError

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # published with the archive (163 MiB)
# Channel statistics of the official training set.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def find_batches(directory: Path) -> Path:
    """The folder holding all six batch files: ``directory`` or its ``cifar-10-batches-py``."""
    candidates = [directory / "cifar-10-batches-py", directory]
    for folder in candidates:
        if all((folder / name).is_file() for name in TRAIN_FILES + TEST_FILES):
            return folder
    best = max(candidates, key=lambda d: sum((d / n).is_file() for n in TRAIN_FILES + TEST_FILES))
    missing = [n for n in TRAIN_FILES + TEST_FILES if not (best / n).is_file()]
    raise MissingData(f"cifar10: missing {', '.join(missing)} in {best}; run `netadapt data download cifar10 "
                      f"{directory}`, or download {URL} and unpack it into {directory}",
                      lambda: download(directory), f"CIFAR-10 (163 MiB) from {URL} into {directory}")


def download(directory, url: str = URL, md5: str | None = MD5, progress: bool = True) -> Path:
    """Download and unpack the official CIFAR-10 python batches into ``directory``.

    Returns the folder holding the six batch files (``<directory>/cifar-10-batches-py``).
    """
    from netadapt.data.download import fetch_archive

    directory = Path(directory).expanduser()
    fetch_archive(url, directory, md5, progress=progress)
    try:
        return find_batches(directory)
    except MissingData as exc:
        raise UserError(f"cifar10: {url} did not contain the CIFAR-10 python batches ({exc})") from exc


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 3, 32, 32) uint8 and labels (N,) of one official batch file."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
        raise UserError(f"cifar10: cannot read {path} as a CIFAR-10 python batch ({exc})") from exc
    if len(data) != len(labels):
        raise UserError(f"cifar10: {path} has {len(data)} images but {len(labels)} labels")
    return data, labels


def _load(folder: Path, names: tuple[str, ...], image_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    parts = [read_batch(folder / name) for name in names]
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return (resize(images, image_size) if image_size else images), labels


@register_source("cifar10", "cifar10:<dir>")
def load_cifar10(argument: str | None, image_size: int | None) -> RawData:
    if not argument:
        raise UserError(f"cifar10 needs a folder: cifar10:<dir> holding the python batches from {URL}")
    directory = Path(argument).expanduser()
    if directory.exists() and not directory.is_dir():
        raise UserError(f"cifar10: {directory} is not a folder")
    folder = find_batches(directory)
    train_x, train_y = _load(folder, TRAIN_FILES, image_size)
    test_x, test_y = _load(folder, TEST_FILES, image_size)
    return RawData(
        train=ImageTensorDataset(train_x, train_y, MEAN, STD),
        test=ImageTensorDataset(test_x, test_y, MEAN, STD),
        num_classes=10,
        augment="cifar",
    )
