"""Each data source: sizes, pixels, labels, and one-line errors for bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from netadapt.data import list_sources, load_data
from netadapt.data import imagefolder
from netadapt.errors import UserError


def test_unknown_source_lists_the_valid_ones():
    with pytest.raises(UserError) as info:
        load_data("mnist")
    for usage in ("digits", "synthetic", "cifar10:<dir>", "imagefolder:<dir>"):
        assert usage in str(info.value)
    assert len(list_sources()) == 4


def test_synthetic_options_shape_the_data():
    data = load_data("synthetic:classes=4,size=8,n=100,channels=2,test=40", holdout=20)
    assert (len(data.train), len(data.holdout), len(data.test)) == (80, 20, 40)
    assert data.num_classes == 4 and data.input_shape == (2, 8, 8)
    image, label = data.train[0]
    assert image.shape == (2, 8, 8) and image.dtype == torch.float32 and 0 <= label < 4
    assert torch.bincount(data.test.targets(), minlength=4).tolist() == [10, 10, 10, 10]
    with pytest.raises(UserError, match="bad option 'colors=3'"):
        load_data("synthetic:colors=3")
    with pytest.raises(UserError, match="needs a int"):
        load_data("synthetic:n=many")


def test_digits_are_the_real_1797_images_upsampled():
    data = load_data("digits", holdout=0.1)
    assert len(data.train) + len(data.holdout) == 1438 and len(data.test) == 359
    assert len(data.holdout) == 144
    assert data.input_shape == (1, 32, 32) and data.num_classes == 10 and data.augment == "crop"
    images, _ = data.train.get_batch(torch.arange(len(data.train)))
    assert images.mean().item() == pytest.approx(0.0, abs=0.05)
    assert images.std().item() == pytest.approx(1.0, abs=0.05)
    small = load_data("digits", image_size=8)
    assert small.input_shape == (1, 8, 8)
    # the test split does not depend on the holdout seed
    assert torch.equal(load_data("digits", seed=5).test.targets(), data.test.targets())


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    pixels = {}
    for split, count in (("train", 5), ("test", 2)):
        for cls in ("zebra", "ant", "moth"):  # written out of order: labels must follow sorted names
            for i in range(count):
                array = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
                _write_png(root / split / cls / f"{i}.png", array)
                pixels[(split, cls, i)] = array
    return root, pixels


def test_imagefolder_decodes_pixels_and_sorts_classes(folder):
    root, pixels = folder
    data = load_data(f"imagefolder:{root}", holdout=0)
    assert data.num_classes == 3 and data.input_shape == (3, 6, 6) and data.augment == "cifar"
    train = data.train
    assert torch.bincount(train.targets()).tolist() == [5, 5, 5]
    # label 0 = "ant" (first by name); the first ant image is row 0
    raw = train.images[0].permute(1, 2, 0).numpy()
    assert np.array_equal(raw, pixels[("train", "ant", 0)])
    assert np.array_equal(train.images[10].permute(1, 2, 0).numpy(), pixels[("train", "zebra", 0)])
    assert len(data.test) == 6


def test_imagefolder_caches_outside_the_folder_and_reuses_it(folder, tmp_path, monkeypatch):
    root, _ = folder
    before = sorted(str(p) for p in root.rglob("*"))
    first = load_data(f"imagefolder:{root}", holdout=0)
    assert sorted(str(p) for p in root.rglob("*")) == before
    cached = sorted(p.name for p in (tmp_path / "cache" / "decoded").iterdir())
    assert len(cached) == 4  # images and labels of two splits

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(imagefolder, "decode", no_decoding)
    second = load_data(f"imagefolder:{root}", holdout=0)
    assert torch.equal(first.train.images, second.train.images)

    # a changed image changes the key
    _write_png(root / "train" / "ant" / "0.png", np.zeros((6, 6, 3), dtype=np.uint8))
    with pytest.raises(AssertionError, match="decoded again"):
        load_data(f"imagefolder:{root}", holdout=0)


def test_imagefolder_without_cache_writes_nothing(folder, tmp_path, monkeypatch):
    root, _ = folder
    monkeypatch.setenv("NETADAPT_NO_CACHE", "1")
    load_data(f"imagefolder:{root}", holdout=0)
    assert not (tmp_path / "cache").exists()


def test_imagefolder_grayscale_and_resizing(tmp_path):
    root = tmp_path / "gray"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            _write_png(root / split / cls / "x.png", np.full((10, 10), 200 if cls == "a" else 50, np.uint8))
    data = load_data(f"imagefolder:{root}", holdout=0, image_size=4)
    assert data.input_shape == (1, 4, 4)
    assert data.train.images[:, 0, 0, 0].tolist() == [200, 50]


def test_imagefolder_errors(tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        load_data(f"imagefolder:{tmp_path / 'missing'}")
    (tmp_path / "empty" / "train" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "train" / "b").mkdir(parents=True)
    (tmp_path / "empty" / "test").mkdir(parents=True)
    with pytest.raises(UserError, match="no images in"):
        load_data(f"imagefolder:{tmp_path / 'empty'}")
    mixed = tmp_path / "mixed"
    for split in ("train", "test"):
        _write_png(mixed / split / "a" / "1.png", np.zeros((4, 4, 3), np.uint8))
        _write_png(mixed / split / "b" / "1.png", np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(UserError, match="pass an image size"):
        load_data(f"imagefolder:{mixed}")
    assert load_data(f"imagefolder:{mixed}", image_size=4, holdout=0).input_shape == (3, 4, 4)
    with pytest.raises(UserError, match="needs a folder"):
        load_data("imagefolder")


@pytest.mark.parametrize("nested", [False, True])
def test_cifar10_reads_the_official_batch_layout(tmp_path, nested, write_cifar):
    write_cifar(tmp_path / "cifar-10-batches-py" if nested else tmp_path)
    data = load_data(f"cifar10:{tmp_path}", holdout=0)
    assert (len(data.train), len(data.test)) == (30, 6)
    assert data.input_shape == (3, 32, 32) and data.augment == "cifar"
    images, labels = data.train.images, data.train.labels
    assert images[7, 0].unique().tolist() == [11]       # batch 2, image 1: red = 11
    assert images[7, 1].unique().tolist() == [100]
    assert images[7, 2, 0, 0] == 255 and images[7, 2, 0, 1] == 0
    assert labels[7] == 2
    assert data.test.labels.tolist() == [5, 6, 7, 8, 9, 0]


def test_cifar10_missing_files_are_named(tmp_path, write_cifar):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    (tmp_path / "test_batch").unlink()
    with pytest.raises(UserError) as info:
        load_data(f"cifar10:{tmp_path}")
    message = str(info.value)
    assert "data_batch_3, test_batch" in message and "cifar-10-python.tar.gz" in message
    assert "\n" not in message
    (tmp_path / "test_batch").write_bytes(b"not a pickle")
    write_cifar(tmp_path / "other")
    with pytest.raises(UserError, match="cannot read"):
        (tmp_path / "other" / "test_batch").write_bytes(b"garbage")
        load_data(f"cifar10:{tmp_path / 'other'}")
