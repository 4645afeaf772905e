"""A disk cache of decoded image arrays, so a folder of JPEGs is decoded once.

Files live under ``$NETADAPT_CACHE_DIR`` (default ``~/.cache/netadapt``) in ``decoded/``; the key
hashes the folder's path and every image's name, size and modification time, so any change to the
images makes a new entry. Setting ``NETADAPT_NO_CACHE`` (to anything but empty) turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_dir() -> Path | None:
    """The decoded-image cache folder, or None when caching is turned off."""
    if os.environ.get("NETADAPT_NO_CACHE"):
        return None
    root = os.environ.get("NETADAPT_CACHE_DIR") or Path.home() / ".cache" / "netadapt"
    return Path(root) / "decoded"


def cache_key(root: Path, files: list[str], extra: str) -> str:
    """A hash of the folder, its files' paths, sizes and mtimes, and ``extra`` (decoding options)."""
    digest = hashlib.sha256(f"{root.resolve()}|{extra}".encode())
    for path in files:
        stat = os.stat(path)
        digest.update(f"|{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def load_arrays(key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Cached (images, labels) for ``key``, or None if absent or unreadable."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return np.load(folder / f"{key}-images.npy"), np.load(folder / f"{key}-labels.npy")
    except (OSError, ValueError):
        return None


def save_arrays(key: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Store (images, labels) under ``key``, each file written atomically; failures are ignored."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Labels last: load_arrays needs both, so a half-written entry is never read.
        for suffix, array in (("images", images), ("labels", labels)):
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
            with os.fdopen(fd, "wb") as f:
                np.save(f, array)
            os.replace(tmp, folder / f"{key}-{suffix}.npy")
    except OSError:
        pass  # a read-only home must not stop training; the next run decodes again
