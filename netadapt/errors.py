"""Errors that mean "the user gave bad input": the CLI prints them as one line and exits 2."""


class UserError(Exception):
    """Bad input or an impossible request, explained in one line for the user."""


class DeviceUnavailable(UserError):
    """The requested device cannot run on this machine (the message says why)."""
