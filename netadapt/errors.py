"""Errors that mean "the user gave bad input": the CLI prints them as one line and exits 2.

``UserError`` and ``first_line`` come from the bottom layer (``lut.errors``), ``DeviceUnavailable`` from the
devices; they are re-exported here so the library has one place to import them from.
"""

from devices.errors import DeviceUnavailable
from lut.errors import UserError, first_line

__all__ = ["DeviceUnavailable", "MissingData", "UserError", "first_line"]


class MissingData(UserError):
    """A data source's files are not where they should be, and they can be downloaded.

    Attributes:
        download: a no-argument callable that downloads them (the CLI offers to call it).
        what: a short description of the download, for the question the CLI asks.
    """

    def __init__(self, message: str, download, what: str):
        super().__init__(message)
        self.download = download
        self.what = what
