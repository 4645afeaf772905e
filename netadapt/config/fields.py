"""Settings as dataclass fields that carry their own option name, help, bounds and choices.

A settings dataclass declares each field once, with :func:`setting`. From that one declaration come the
command line's options (``netadapt.cli.settings``), the keyword options of ``netadapt.prune``, the keys of
``run.toml`` and the checks every value passes (:func:`check`, called by the dataclasses themselves).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

from netadapt.errors import UserError


def setting(default=None, help: str = "", *, flag: str | None = None, low=None, high=None, low_open: bool = False,
            high_open: bool = False, choices: tuple | None = None, required: bool = False, file: bool = False,
            exists: bool = False, folder: bool = False, short: str | None = None, metavar: str | None = None,
            argument: bool = False, default_factory=None):
    """A settings field.

    Args:
        default: the value when the user gives none.
        help: one or two sentences for ``--help``.
        flag: the option's name (``--flag``); the field's name with ``-`` by default.
        low, high: bounds of a number, inclusive unless ``low_open``/``high_open``.
        choices: the values allowed.
        required: the command line asks for it (the library keeps ``default``).
        file: the value names a file (the command line checks it is not a folder); with ``exists``, a file
            that must exist.
        folder: the value names a folder (the command line checks it is not a file; with ``exists``, that it
            exists).
        short: a one-letter alias on the command line (``o`` for ``-o``).
        metavar: how ``--help`` shows the value (``NxCxHxW``).
        argument: the command line takes it as a positional argument (``netadapt verify RUN_DIR``) rather
            than an option; ``required`` makes it one the user must give.

    A boolean that is off by default is a plain switch on the command line (``--force``); one that is on
    by default gets its ``--no-`` form too.
    """
    meta = {"help": help, "flag": flag, "low": low, "high": high, "low_open": low_open, "high_open": high_open,
            "choices": choices, "required": required, "file": file, "exists": exists, "folder": folder, "short": short,
            "metavar": metavar, "argument": argument}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def same_as(cls, name: str, **changes):
    """A field declared as the settings dataclass ``cls`` declares its field ``name`` (default, help, bounds,
    ...), so one setting shared by several commands is declared once; ``changes`` are the keywords of
    :func:`setting` that differ here (``help=`` for a command's own wording, ``low=`` for a tighter bound).
    """
    f = next((f for f in dataclasses.fields(cls) if f.name == name), None)
    if f is None:
        raise TypeError(f"{cls.__name__} has no field {name!r}")
    unknown = set(changes) - set(f.metadata) - {"default"}
    if unknown:
        raise TypeError(f"not keywords of setting(): {', '.join(sorted(unknown))}")
    meta = {**f.metadata, **{k: v for k, v in changes.items() if k != "default"}}
    if "default" in changes:
        return field(default=changes["default"], metadata=meta)
    if f.default is dataclasses.MISSING:
        return field(default_factory=f.default_factory, metadata=meta)
    return field(default=f.default, metadata=meta)


@dataclass(frozen=True)
class Setting:
    """One leaf field of a settings dataclass, as the command line and the keyword options see it.

    Attributes:
        path: where it lives (``"finetune.short_steps"`` for a field of a nested dataclass).
        flag: its option name without dashes in front (``"short-term-steps"``).
        kind: ``int``, ``float``, ``str``, ``bool`` or ``dict`` (a JSON object on the command line).
        optional: ``None`` is allowed (and is then the default).
    """

    path: str
    flag: str
    kind: type
    default: object
    help: str
    low: object = None
    high: object = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    optional: bool = False
    required: bool = False
    file: bool = False
    exists: bool = False
    folder: bool = False
    short: str | None = None
    metavar: str | None = None
    argument: bool = False

    @property
    def name(self) -> str:
        """The keyword (``short_term_steps``): the flag with underscores."""
        return self.flag.replace("-", "_")

    def problem(self, value) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if value is None:
            return None if self.optional else "must be given"
        if self.kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"must be a number, not {value!r}"
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            return f"must be a whole number, not {value!r}"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return f"must be {'above' if self.low_open else 'at least'} {self.low}, not {value!r}"
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return f"must be {'below' if self.high_open else 'at most'} {self.high}, not {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, not {value!r}"
        return None


def _leaf_kind(hint) -> tuple[type, bool]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) < len(typing.get_args(hint))
    base = args[0] if optional and args else hint
    return (base if base in (int, float, str, bool, dict) else str), optional


def settings_of(cls, prefix: str = "") -> list[Setting]:
    """Every leaf field of a settings dataclass, nested dataclasses flattened in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.extend(settings_of(hint, f"{prefix}{f.name}."))
            continue
        kind, optional = _leaf_kind(hint)
        m = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else None
        out.append(Setting(path=prefix + f.name, flag=m.get("flag") or f.name.replace("_", "-"), kind=kind,
                           default=default, help=m.get("help", ""), low=m.get("low"), high=m.get("high"),
                           low_open=m.get("low_open", False), high_open=m.get("high_open", False),
                           choices=m.get("choices"),
                           optional=optional or default is None, required=m.get("required", False),
                           file=m.get("file", False), exists=m.get("exists", False), folder=m.get("folder", False),
                           short=m.get("short"), metavar=m.get("metavar"), argument=m.get("argument", False)))
    return out


def check(instance) -> None:
    """Every field of ``instance`` (not nested ones: each dataclass checks its own) within its bounds.

    Raises:
        UserError: the first field out of bounds, named by its keyword (the option with underscores).
    """
    for s in settings_of(type(instance)):
        if "." in s.path:
            continue
        problem = s.problem(getattr(instance, s.path))
        if problem:
            raise UserError(f"{s.name} {problem}")


def nest(cls, values: dict, prefix: str = ""):
    """An instance of ``cls`` from leaf values keyed by path (``{"finetune.short_steps": 5, ...}``); a field
    not in ``values`` keeps its default."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            kwargs[f.name] = nest(hints[f.name], values, f"{prefix}{f.name}.")
        elif prefix + f.name in values:
            kwargs[f.name] = values[prefix + f.name]
    return cls(**kwargs)
