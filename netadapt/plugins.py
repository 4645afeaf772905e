"""A small plug-in registry: built-ins registered in code, third-party ones through entry points."""

from __future__ import annotations

import fnmatch
from importlib.metadata import entry_points
from typing import Callable, Generic, TypeVar

from netadapt.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> factory, with lazy loading of the entry-point group ``group`` on first lookup."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._factories: dict[str, Callable[..., T]] = {}
        self._entry_points_loaded = False

    def register(self, name: str) -> Callable:
        def decorator(factory):
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory
        return decorator

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._factories:
                self._factories[ep.name] = ep.load()

    def names(self, pattern: str = "*") -> list[str]:
        self._load_entry_points()
        return sorted(n for n in self._factories if fnmatch.fnmatch(n, pattern))

    def create(self, name: str, **kwargs) -> T:
        self._load_entry_points()
        if name not in self._factories:
            raise UserError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")
        return self._factories[name](**kwargs)
