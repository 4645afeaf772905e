import hashlib
import io
import pickle
import tarfile

import numpy as np

import pytest
from click.testing import CliRunner

import netadapt.cli as cli_module
from netadapt.cli import cli, main
from netadapt.errors import MissingData


def _cifar_like_archive(path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            data = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_data_download_cifar10_from_a_mirror(tmp_path):
    archive = tmp_path / "mirror.tar.gz"
    md5 = _cifar_like_archive(archive)
    dest = tmp_path / "cifar"
    result = CliRunner().invoke(cli, ["data", "download", "cifar10", str(dest), "--url", archive.as_uri(),
                                      "--md5", md5])
    assert result.exit_code == 0, result.output
    assert f"use --data cifar10:{dest}" in result.output
    assert (dest / "cifar-10-batches-py" / "test_batch").is_file()


def test_data_download_with_the_wrong_checksum_is_one_line(tmp_path, capsys):
    archive = tmp_path / "mirror.tar.gz"
    _cifar_like_archive(archive)
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "download", "cifar10", str(tmp_path / "cifar"), "--url", archive.as_uri()])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the download's progress bar
    assert err.startswith("Error: ") and "expected c58f30108f718f92721af3b95e74349a" in err


def test_data_sources_lists_every_source():
    result = CliRunner().invoke(cli, ["data", "sources"])
    assert result.exit_code == 0
    assert [line.split("[")[0] for line in result.output.split()] == [
        "cifar10:<dir>", "digits", "imagefolder:<dir>", "synthetic"]


def _main_with_missing_data(monkeypatch, can_ask, answer=None):
    """Run ``main(["train"])`` on a command that reports missing data the first time it runs."""
    calls = []

    def fake_main(args=None, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise MissingData("cifar10: missing test_batch", lambda: calls.append("downloaded"), "CIFAR-10")

    monkeypatch.setattr(cli_module.cli, "main", fake_main)
    monkeypatch.setattr(cli_module, "_can_ask", lambda: can_ask)
    monkeypatch.setattr(cli_module.click, "confirm", lambda *a, **k: answer)
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    return exit_info.value.code, calls


def test_missing_data_is_offered_for_download_and_the_command_runs_again(monkeypatch):
    code, calls = _main_with_missing_data(monkeypatch, can_ask=True, answer=True)
    assert code == 0 and calls == [["train"], "downloaded", ["train"]]


def test_missing_data_without_anyone_to_ask_is_the_usual_error(monkeypatch, capsys):
    code, calls = _main_with_missing_data(monkeypatch, can_ask=False)
    assert code == 2 and calls == [["train"]]
    assert capsys.readouterr().err.strip() == "Error: cifar10: missing test_batch"


def test_a_declined_download_exits_with_the_error_shown_once(monkeypatch, capsys):
    code, calls = _main_with_missing_data(monkeypatch, can_ask=True, answer=False)
    assert code == 2 and calls == [["train"]]
    assert capsys.readouterr().err.count("missing test_batch") == 1
