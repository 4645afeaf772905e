"""A callable named on the command line as ``package.module:attr`` (a model factory, a task factory)."""

from __future__ import annotations

import importlib
import os
import sys

from netadapt.errors import UserError


def import_target(target: str, what: str, expected: str = "package.module:factory"):
    """The callable ``target`` names. Modules in the current folder are found too, as ``python -m`` finds them.

    Args:
        target: ``package.module:attr``.
        what: what it is, for messages (``model``, ``task``).
        expected: what a well-formed ``target`` looks like, for the message when it is not.

    Raises:
        UserError: a malformed name, a module that does not import, or no such callable.
    """
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"{what} {target!r}: expected {expected}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] or os.getcwd() in sys.path:
            raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({exc})") from exc
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as again:
            raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({again})") from again
    except ImportError as exc:
        raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise UserError(f"{what} {target!r}: module {module_name!r} has no callable {attr!r}")
    return factory
