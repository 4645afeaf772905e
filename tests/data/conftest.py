import pickle

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Decoded-image caches go under the test's tmp_path, never into the home folder."""
    monkeypatch.setenv("NETADAPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NETADAPT_NO_CACHE", raising=False)


@pytest.fixture
def write_cifar():
    """Writes tiny batches in the official CIFAR-10 format into a folder."""
    return _write_cifar


def _write_cifar(folder, per_batch=6):
    """Tiny batches in the official format: rows of 3072 bytes, R then G then B planes."""
    folder.mkdir(parents=True, exist_ok=True)
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = np.zeros((per_batch, 3072), np.uint8)
        for i in range(per_batch):
            data[i, :1024] = b * 10 + i      # red plane
            data[i, 1024:2048] = 100         # green plane
            data[i, 2048] = 255              # blue, top-left pixel
        batch = {b"batch_label": name.encode(), b"labels": [(b + i) % 10 for i in range(per_batch)],
                 b"data": data, b"filenames": [f"{i}.png".encode() for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
