"""The one exception every layer raises for bad input or an impossible request.

It lives at the bottom layer so that the table, the devices and the profilers can raise it without pointing
up; ``netadapt.errors`` re-exports it, and the command line prints any of them as one line and exits 2.
"""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type's name when the
    message is empty: what a one-line report of it says."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


class UserError(Exception):
    """Bad input or an impossible request, explained in one line for the user."""
