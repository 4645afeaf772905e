"""What is needed to rebuild a model: a zoo name or ``package.module:factory``, and its arguments."""

from __future__ import annotations

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


def spec_for_data(name: str, kwargs: dict, num_classes: int, in_channels: int) -> ModelSpec:
    """The spec of model ``name`` for a data set: its classes and input channels passed as ``num_classes``
    and ``in_channels``, except where a factory takes no such argument (torchvision's models take
    ``num_classes`` but not ``in_channels``): then the argument is left out, and a model that does not fit
    the data says so when it first runs on it. Arguments the user gave are always passed.

    Raises:
        UserError: the factory fails for another reason.
    """
    candidate = {"num_classes": num_classes, "in_channels": in_channels, **kwargs}
    if ":" not in name:
        return ModelSpec(name, candidate)
    while True:
        try:
            ModelSpec(name, candidate).build()
            return ModelSpec(name, candidate)
        except UserError as exc:
            cause = str(exc.__cause__) if isinstance(exc.__cause__, TypeError) else ""
            rejected = [k for k in ("in_channels", "num_classes")
                        if k in candidate and k not in kwargs and f"'{k}'" in cause]
            if not rejected:
                raise
            del candidate[rejected[0]]


def build_from_factory(target: str, **kwargs):
    """Import ``package.module:factory`` and call it."""
    from netadapt.importing import import_target

    factory = import_target(target, "model", expected="a zoo name or package.module:factory")
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise UserError(f"model {target!r}: factory rejected arguments {kwargs} ({exc})") from exc
