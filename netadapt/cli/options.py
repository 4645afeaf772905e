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
    """``--lut`` as ``TableSettings`` declares it (parameter ``lut_url``)."""
    from netadapt.cli.settings import options_of
    from netadapt.config.table import TableSettings

    return options_of(TableSettings, names={"lut": "lut_url"})(f)


def device_options(f):
    """``--device``, ``--threads`` and ``--gpu-id`` as ``DeviceSettings`` (a run's settings) declare them
    (``device_name``)."""
    from netadapt.cli.settings import options_of
    from netadapt.config.device import DeviceSettings

    return options_of(DeviceSettings, names={"device": "device_name"})(f)


def _read_settings(path: str) -> dict:
    """A settings file as a dict: TOML, or the JSON a run folder's config.json is."""
    import json
    from pathlib import Path

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise UserError(f"cannot read settings file {path}: {exc.strerror}") from exc
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"settings file {path} is not JSON ({exc.msg}, line {exc.lineno})") from exc
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"settings file {path} is not TOML ({exc})") from exc
    if not isinstance(data, dict):
        raise UserError(f"settings file {path} must hold key = value settings")
    return data


def config_option(translate=None):
    """``--config FILE``: the command's options from a TOML file (keys are the option names, with ``-``
    or ``_``); options given on the command line win. ``translate`` maps other layouts (a run folder's
    config.json) onto option names first. An unknown key or a value of the wrong type is one error
    line naming it."""

    def callback(ctx, param, value):
        if not value:
            return value
        data = _read_settings(value)
        if translate is not None:
            data = translate(data)
        names = {}  # "--device" and its parameter "device_name" both name the option, with - or _
        for p in ctx.command.params:
            if isinstance(p, click.Option) and p.name != "config":
                for flag in p.opts:
                    if flag.startswith("--"):
                        names[flag[2:].replace("-", "_")] = p
        defaults = {}
        for key, v in data.items():
            name = key.replace("-", "_")
            if name not in names:
                raise UserError(f"settings file {value}: unknown key {key!r} (valid: "
                                f"{', '.join(sorted(n.replace('_', '-') for n in names))})")
            option = names[name]
            name = option.name
            if option.is_flag and not isinstance(v, bool):
                raise UserError(f"settings file {value}: {key!r} must be true or false, not {v!r}")
            try:
                defaults[name] = option.type_cast_value(ctx, v)
            except click.BadParameter as exc:
                raise UserError(f"settings file {value}: {key!r}: {exc.message}") from exc
        ctx.default_map = {**(ctx.default_map or {}), **defaults}
        return value

    def decorator(f):
        return click.option("--config", type=click.Path(dir_okay=False, exists=True), is_eager=True,
                            expose_value=False, callback=callback,
                            help="Settings from a TOML file (keys as the options); command-line options "
                                 "win.")(f)

    return decorator


def task_refused(command: str):
    """``--task``, refused in one line: ``command`` works on netadapt's own classification data only."""

    def refuse(ctx, param, value):
        if value:
            raise UserError(f"netadapt {command} works on netadapt's own classification models and data; prune "
                            "your own task with netadapt run --task or netadapt.prune")
        return value

    return click.option("--task", default=None, metavar="MODULE:FACTORY", is_eager=True, expose_value=False,
                        callback=refuse, help="Not taken by this command (see netadapt run --task).")
