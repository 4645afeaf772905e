"""Errors that mean "the user gave bad input": the CLI prints them as one line and exits 2."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type's name when the
    message is empty: what a one-line report of it says."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


class UserError(Exception):
    """Bad input or an impossible request, explained in one line for the user."""


class DeviceUnavailable(UserError):
    """The requested device cannot run on this machine (the message says why)."""


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
