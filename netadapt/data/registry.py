"""Data sources by name: ``digits``, ``synthetic[:options]``, ``cifar10:<dir>``, ``imagefolder:<dir>``.

A source is a function ``(argument, image_size) -> RawData``; :func:`load_data` turns it into a
:class:`~netadapt.data.bundle.DataBundle` with size limits and a holdout. Source modules register
themselves when imported; the registry imports them on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from netadapt.data.bundle import DataBundle
from netadapt.data.dataset import ImageTensorDataset
from netadapt.data.splits import limit, split_holdout
from netadapt.errors import UserError

_SOURCE_MODULES = (
    "netadapt.data.cifar10",
    "netadapt.data.digits",
    "netadapt.data.imagefolder",
    "netadapt.data.synthetic",
)


@dataclass(frozen=True)
class RawData:
    """What a source loads: a train and a test split, before limits and the holdout.

    Attributes:
        train: the full training split.
        test: the full test split.
        num_classes: number of classes.
        augment: augmentation suited to the data (``"none"``, ``"crop"``, ``"cifar"``).
    """

    train: ImageTensorDataset
    test: ImageTensorDataset
    num_classes: int
    augment: str = "none"


@dataclass(frozen=True)
class SourceInfo:
    """A registered source: its name, usage line, and loader."""

    name: str
    usage: str
    loader: Callable[[str | None, int | None], RawData]


_SOURCES: dict[str, SourceInfo] = {}
_loaded = False


def register_source(name: str, usage: str):
    """Decorator that registers ``loader(argument, image_size) -> RawData`` under ``name``.

    Args:
        name: the part of the source string before ``:``.
        usage: how to write the source string, shown in error messages.
    """

    def decorator(loader):
        _SOURCES[name] = SourceInfo(name, usage, loader)
        return loader

    return decorator


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        for module in _SOURCE_MODULES:
            importlib.import_module(module)
        _loaded = True


def list_sources() -> list[str]:
    """Usage strings of every registered source, sorted by name."""
    _ensure_loaded()
    return [_SOURCES[name].usage for name in sorted(_SOURCES)]


def load_data(source: str, *, image_size: int | None = None, holdout: int | float = 0.1, seed: int = 0,
              test_limit: int | None = None, train_limit: int | None = None) -> DataBundle:
    """Load a data set by source string and split it into train, holdout and test.

    Args:
        source: ``digits``, ``synthetic[:key=value,...]``, ``cifar10:<dir>`` or ``imagefolder:<dir>``.
        image_size: resize images to this square size (sources define their default).
        holdout: images carved from the training split for ranking candidates: a fraction below 1
            or a count.
        seed: fixes the holdout split and the size limits.
        test_limit: keep at most this many test images (a random subset fixed by ``seed``).
        train_limit: keep at most this many training images (before the holdout is carved).

    Raises:
        UserError: unknown source, missing or unreadable files, impossible sizes.
    """
    _ensure_loaded()
    name, sep, argument = source.partition(":")
    if name not in _SOURCES:
        raise UserError(f"unknown data source {source!r}; valid sources: {', '.join(list_sources())}")
    if image_size is not None and image_size < 1:
        raise UserError(f"image size must be positive, got {image_size}")
    raw = _SOURCES[name].loader(argument if sep else None, image_size)
    train = limit(raw.train, train_limit, seed)
    test = limit(raw.test, test_limit, seed + 1)
    train, held = split_holdout(train, holdout, seed)
    return DataBundle(name=source, train=train, holdout=held, test=test, num_classes=raw.num_classes,
                      input_shape=raw.train.input_shape, augment=raw.augment)


def parse_options(argument: str | None, defaults: dict[str, int | float | str], source: str) -> dict:
    """Parse ``key=value,key=value`` against ``defaults``, converting each value to its default's type."""
    options = dict(defaults)
    for item in filter(None, (argument or "").split(",")):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in defaults:
            raise UserError(f"{source}: bad option {item!r}; options are "
                            + ", ".join(f"{k}={v}" for k, v in defaults.items()))
        try:
            options[key] = type(defaults[key])(value.strip())
        except ValueError:
            raise UserError(f"{source}: option {key} needs a {type(defaults[key]).__name__}, "
                            f"got {value!r}") from None
    return options
