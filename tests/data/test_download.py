"""Downloading an archive: checksum, safe unpacking, nothing partial left behind, one-line errors."""

import hashlib
import io
import tarfile

import pytest

from netadapt.data import load_data
from netadapt.data import cifar10
from netadapt.data.download import fetch_archive
from netadapt.errors import MissingData, UserError


def _tar_gz(path, members):
    """Write a .tar.gz holding {name: bytes} and return its MD5."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_archive(tmp_path, write_cifar):
    """A tiny archive laid out like the official cifar-10-python.tar.gz, and its MD5."""
    src = tmp_path / "src" / "cifar-10-batches-py"
    write_cifar(src)
    archive = tmp_path / "cifar-10-python.tar.gz"
    md5 = _tar_gz(archive, {f"cifar-10-batches-py/{p.name}": p.read_bytes() for p in sorted(src.iterdir())})
    return archive, md5


def test_missing_cifar_offers_a_download_in_one_line(tmp_path):
    with pytest.raises(MissingData) as info:
        load_data(f"cifar10:{tmp_path / 'nowhere'}")
    message = str(info.value)
    assert "\n" not in message and "netadapt data download cifar10" in message and "test_batch" in message
    assert "163 MiB" in info.value.what and callable(info.value.download)


@pytest.mark.parametrize("python_filter", [True, False], ids=["tarfile-filter", "checked-by-hand"])
def test_cifar_download_checks_md5_unpacks_and_loads(tmp_path, cifar_archive, monkeypatch, python_filter):
    if not python_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive, md5 = cifar_archive
    dest = tmp_path / "data"
    folder = cifar10.download(dest, url=archive.as_uri(), md5=md5, progress=False)
    assert folder == dest / "cifar-10-batches-py"
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-batches-py"]  # no .part, no scratch
    data = load_data(f"cifar10:{dest}", holdout=0)
    assert (len(data.train), len(data.test)) == (30, 6)


def test_a_wrong_checksum_unpacks_nothing(tmp_path, cifar_archive):
    archive, _ = cifar_archive
    dest = tmp_path / "data"
    with pytest.raises(UserError, match="expected 0{32}"):
        cifar10.download(dest, url=archive.as_uri(), md5="0" * 32, progress=False)
    assert list(dest.iterdir()) == []


def test_a_download_into_an_incomplete_folder_keeps_the_users_other_files(tmp_path, cifar_archive):
    archive, md5 = cifar_archive
    dest = tmp_path / "data"
    (dest / "cifar-10-batches-py").mkdir(parents=True)
    (dest / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"truncated")
    (dest / "cifar-10-batches-py" / "notes.txt").write_text("mine")
    cifar10.download(dest, url=archive.as_uri(), md5=md5, progress=False)
    assert (dest / "cifar-10-batches-py" / "notes.txt").read_text() == "mine"
    assert len(load_data(f"cifar10:{dest}", holdout=0).train) == 30


def test_an_unreachable_url_is_one_line_and_leaves_nothing(tmp_path):
    dest = tmp_path / "data"
    with pytest.raises(UserError, match="could not download") as info:
        fetch_archive("http://127.0.0.1:9/cifar-10-python.tar.gz", dest, None, progress=False, timeout_s=5)
    assert "\n" not in str(info.value)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("python_filter", [True, False], ids=["tarfile-filter", "checked-by-hand"])
def test_an_archive_that_escapes_its_folder_is_refused(tmp_path, monkeypatch, python_filter):
    if not python_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = tmp_path / "evil.tar.gz"
    md5 = _tar_gz(archive, {"../escaped.txt": b"x", "ok.txt": b"y"})
    dest = tmp_path / "data"
    with pytest.raises(UserError, match="could not unpack"):
        fetch_archive(archive.as_uri(), dest, md5, progress=False)
    assert not (tmp_path / "escaped.txt").exists()
    assert list(dest.iterdir()) == []


def test_an_archive_without_the_batches_is_named(tmp_path):
    archive = tmp_path / "other.tar.gz"
    md5 = _tar_gz(archive, {"readme.txt": b"not cifar"})
    with pytest.raises(UserError, match="did not contain the CIFAR-10 python batches"):
        cifar10.download(tmp_path / "data", url=archive.as_uri(), md5=md5, progress=False)
