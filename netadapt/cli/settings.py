"""Click options made from settings dataclasses (``netadapt.config.fields``): one option per field, with the
field's flag, help, default, bounds and choices, so a setting is declared once."""

from __future__ import annotations

import json

import click

from netadapt.config.fields import Setting, settings_of


class JsonObject(click.ParamType):
    """A JSON object given as text (``'{"width": 16}'``), passed on as a dict."""

    name = "JSON"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, dict):
            return value
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not JSON ({exc.msg})", param, ctx)
        if not isinstance(data, dict):
            self.fail("must be a JSON object", param, ctx)
        return data


def click_type(s: Setting):
    """The click type that parses and bounds a setting's values."""
    if s.choices is not None:
        return click.Choice([str(c) for c in s.choices])
    if s.kind is dict:
        return JsonObject()
    if s.file:
        return click.Path(dir_okay=False, exists=s.exists)
    if s.folder:
        return click.Path(file_okay=False, exists=s.exists)
    if s.kind in (int, float) and (s.low is not None or s.high is not None):
        ranged = click.IntRange if s.kind is int else click.FloatRange
        return ranged(s.low, s.high, min_open=s.low_open, max_open=s.high_open)
    return s.kind


def option(s: Setting, *, name: str | None = None, default=None, help: str | None = None):
    """The click option of one setting (parameter ``name``, the setting's keyword by default); a positional
    argument for a setting declared with ``argument=True``."""
    value = s.default if default is None else default
    if s.argument:
        kwargs = {"required": True} if s.required else {"default": value, "required": False}
        if s.metavar:
            kwargs["metavar"] = s.metavar
        return click.argument(name or s.name, type=click_type(s), **kwargs)
    shown = value not in (None, "") and s.kind is not dict
    kwargs = dict(type=click_type(s), help=help or s.help, show_default=shown)
    if s.required:
        kwargs["required"] = True
    else:
        kwargs["default"] = value
    if s.kind is bool:
        if not value:  # a switch
            return click.option(f"--{s.flag}", name or s.name, is_flag=True, help=kwargs["help"])
        return click.option(f"--{s.flag}/--no-{s.flag}", name or s.name, default=value, help=kwargs["help"],
                            show_default=True)
    if s.metavar:
        kwargs["metavar"] = s.metavar
    flags = ([f"-{s.short}"] if s.short else []) + [f"--{s.flag}"]
    return click.option(*flags, name or s.name, **kwargs)


def options_of(cls, *, only=None, skip=(), names: dict | None = None, defaults: dict | None = None,
               helps: dict | None = None):
    """A decorator adding one option per leaf field of ``cls`` (declaration order in ``--help``).

    Args:
        only: keywords of the settings to include (all by default); ``skip``: keywords to leave out.
        names: parameter names other than the keyword, by keyword (``{"device": "device_name"}``).
        defaults, helps: a command's own default or help text, by keyword.
    """
    chosen = [s for s in settings_of(cls) if (only is None or s.name in only) and s.name not in skip]
    names, defaults, helps = names or {}, defaults or {}, helps or {}

    def decorator(f):
        for s in reversed(chosen):
            f = option(s, name=names.get(s.name), default=defaults.get(s.name), help=helps.get(s.name))(f)
        return f

    return decorator


def settings_from(cls, options: dict):
    """An instance of the settings dataclass ``cls`` from a command's parsed options (keyed by keyword), which
    checks them; the options it takes are removed from ``options``."""
    from netadapt.config.fields import nest

    return nest(cls, {s.path: options.pop(s.name) for s in settings_of(cls) if s.name in options})
