"""Option bundles shared by several commands, and parsers that turn strings into values."""

from __future__ import annotations

import re

import click

from netadapt.errors import UserError

_SHAPE = re.compile(r"^\s*\d+(\s*[xX,]\s*\d+)*\s*$", re.ASCII)


def parse_input_shape(text: str) -> tuple[int, ...]:
    """Parse ``1x3x32x32`` (or ``1,3,32,32``) into a tuple of positive ints."""
    if not isinstance(text, str) or not _SHAPE.match(text):
        raise UserError(f"malformed input shape {text!r}: expected e.g. 1x3x32x32")
    parts = re.split(r"\s*[xX,]\s*", text.strip())
    if any(len(p.lstrip("0")) > 6 for p in parts):  # before int(): Python refuses over 4300 digits
        raise UserError(f"input shape {text!r} has an implausibly large dimension")
    dims = tuple(int(d) for d in parts)
    if len(dims) != 4:
        raise UserError(f"input shape {text!r} must have 4 dimensions (batch x channels x height x width)")
    if any(d < 1 for d in dims):
        raise UserError(f"input shape {text!r} has a dimension below 1")
    if any(d > 100_000 for d in dims):
        raise UserError(f"input shape {text!r} has an implausibly large dimension")
    return dims


def lut_option(f):
    return click.option(
        "--lut", "lut_url", default=None, metavar="PATH|URL",
        help="Lookup table: a SQLite file path or any SQLAlchemy URL "
             "(default: $NETADAPT_LUT or ~/.cache/netadapt/lut.db).")(f)


def device_options(f):
    f = click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True,
                     help="Intra-op threads of the ONNX Runtime session (CPU devices).")(f)
    f = click.option("--gpu-id", type=click.IntRange(0, 64), default=0, show_default=True,
                     help="GPU index (CUDA devices).")(f)
    f = click.option("--device", "device_name", default="cpu", show_default=True,
                     help="Device to measure on (see `netadapt devices`).")(f)
    return f
