"""Settings of ``netadapt data download``: which data source, into which folder, from where."""

from __future__ import annotations

import re
from dataclasses import dataclass

from netadapt.config.fields import check, setting
from netadapt.errors import UserError

#: Data sources that can be downloaded -> the module with URL, MD5 and download(directory, url, md5, progress).
DOWNLOADABLE = {"cifar10": "netadapt.data.cifar10"}


@dataclass(frozen=True)
class DownloadSettings:
    """A data source's archive, downloaded, checked and unpacked."""

    source: str | None = setting(None, "The data source to download.", required=True,
                                 choices=tuple(sorted(DOWNLOADABLE)), argument=True)
    directory: str | None = setting(None, "The folder to unpack it into.", required=True, folder=True,
                                    argument=True)
    url: str | None = setting(None, "Download from this URL (a mirror) instead of the official one.")
    md5: str | None = setting(None, "The archive's expected MD5, 32 hex digits (default: the official archive's).")
    no_check: bool = setting(False, "Do not check the archive's MD5 (a mirror's own archive).")

    def __post_init__(self):
        check(self)
        if self.md5 is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", self.md5):
            raise UserError(f"md5 must be 32 hex digits, not {self.md5!r}")
