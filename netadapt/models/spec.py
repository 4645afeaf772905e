"""What is needed to rebuild a model: a zoo name or ``package.module:factory``, and its arguments."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from netadapt.errors import UserError


@dataclass(frozen=True)
class ModelSpec:
    """A buildable model description, stored in every checkpoint.

    Attributes:
        name: a zoo name (see ``netadapt models``) or ``package.module:factory``.
        kwargs: keyword arguments for the zoo constructor or the factory.
    """

    name: str
    kwargs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSpec":
        return cls(name=str(data["name"]), kwargs=dict(data.get("kwargs") or {}))

    def build(self):
        """Instantiate the (unpruned) model."""
        if ":" in self.name:
            return build_from_factory(self.name, **self.kwargs)
        from netadapt.models.registry import create_model

        return create_model(self.name, **self.kwargs)


def build_from_factory(target: str, **kwargs):
    """Import ``package.module:factory`` and call it."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"model {target!r}: expected a zoo name or package.module:factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"model {target!r}: cannot import module {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise UserError(f"model {target!r}: module {module_name!r} has no callable {attr!r}")
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise UserError(f"model {target!r}: factory rejected arguments {kwargs} ({exc})") from exc
