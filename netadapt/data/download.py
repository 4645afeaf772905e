"""Download a tar archive, check its MD5, and unpack it into a folder without leaving half a download.

The archive is streamed to a hidden ``.part`` file beside its destination (with a progress bar),
checked against the published checksum, and unpacked with tarfile's ``data`` filter (no absolute
paths, no links out of the folder, no device files). Every failure is one ``UserError`` line, and
nothing partial is left behind: a later attempt starts clean.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from netadapt.errors import UserError

_CHUNK = 1 << 20


def fetch_archive(url: str, directory: Path, md5: str | None, progress: bool = True,
                  timeout_s: float = 30.0) -> list[Path]:
    """Download the tar archive at ``url`` and unpack it into ``directory``.

    Args:
        url: http(s) or file URL of a ``.tar`` / ``.tar.gz`` archive.
        directory: where its top-level entries land (created if missing).
        md5: the archive's published MD5 (hex); None skips the check.
        progress: show a tqdm bar on stderr.
        timeout_s: socket timeout for each network read.

    Returns:
        The top-level paths the archive created in ``directory``.
    """
    directory = Path(directory).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
    part = directory / f".{name}.part"
    try:
        _download(url, part, md5, progress, timeout_s)
        return _unpack(part, directory)
    finally:
        part.unlink(missing_ok=True)


def _download(url: str, part: Path, md5: str | None, progress: bool, timeout_s: float) -> None:
    from tqdm.auto import tqdm

    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length")
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=f"downloading {url.rsplit('/', 1)[-1]}", disable=not progress,
                      dynamic_ncols=True) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"could not download {url} ({reason}); without a network, fetch it on another "
                        f"machine and unpack it yourself") from exc
    except OSError as exc:
        raise UserError(f"could not write {part}: {exc.strerror or exc}") from exc
    if md5 is not None and digest.hexdigest() != md5.lower():
        raise UserError(f"{url} downloaded with MD5 {digest.hexdigest()}, expected {md5}: the file is "
                        f"corrupt or not the published one; nothing was unpacked")


def _unpack(archive: Path, directory: Path) -> list[Path]:
    # Unpack into a scratch folder inside the destination, then move each top-level entry into
    # place: an interrupted unpack never leaves a half-filled folder where the data should be.
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=directory))
    try:
        try:
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(scratch, filter="data")
                else:  # Python before 3.10.12 / 3.11.4: the same rules, checked by hand
                    _check_members(tar)
                    tar.extractall(scratch)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UserError(f"could not unpack {archive.name[1:-5]}: {exc}") from exc
        placed = []
        for entry in sorted(scratch.iterdir()):
            try:
                _merge(entry, directory / entry.name)
            except OSError as exc:
                raise UserError(f"could not move {entry.name} into {directory}: {exc.strerror or exc}") from exc
            placed.append(directory / entry.name)
        return placed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_members(tar: tarfile.TarFile) -> None:
    """Refuse what the ``data`` filter refuses: absolute or escaping paths, links, special files."""
    for member in tar.getmembers():
        parts = Path(member.name).parts
        if Path(member.name).is_absolute() or ".." in parts:
            raise tarfile.TarError(f"{member.name!r} would be unpacked outside the destination")
        if not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a link or special file")


def _merge(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``; into an existing folder, entry by entry (same names are replaced,
    anything else already there is kept)."""
    if dst.is_dir() and not dst.is_symlink() and src.is_dir():
        for child in src.iterdir():
            _merge(child, dst / child.name)
    else:
        os.replace(src, dst)
