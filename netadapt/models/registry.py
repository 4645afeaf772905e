"""The model zoo: register constructors by name, list them, build them.

Zoo modules register themselves with :func:`register_model` when imported; the registry imports
them lazily on first use, so importing this module has no side effects beyond defining functions.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass
from typing import Callable

from torch import nn

from netadapt.errors import UserError

# Modules whose import registers the built-in zoo.
_ZOO_MODULES = (
    "netadapt.models.digits_cnn",
    "netadapt.models.mobilenet_v1",
    "netadapt.models.mobilenet_v2",
    "netadapt.models.resnet_cifar",
    "netadapt.models.vgg",
    "netadapt.tasks.detection.model",
    "netadapt.tasks.segmentation.model",
)

_REGISTRY: dict[str, tuple["ModelInfo", Callable[..., nn.Module]]] = {}
_loaded = False


@dataclass(frozen=True)
class ModelInfo:
    """What the zoo knows about a model.

    Attributes:
        name: the zoo name.
        description: one line for ``netadapt models``.
        default_input: the (C, H, W) input the model is meant for.
        task: what it does: ``classification`` (what ``netadapt run --model`` trains and ranks), ``detection``
            or ``segmentation`` (pruned through their tasks in ``netadapt.tasks``).
    """

    name: str
    description: str
    default_input: tuple[int, int, int]
    task: str = "classification"


def register_model(name: str, description: str, default_input: tuple[int, int, int] = (3, 32, 32),
                   task: str = "classification"):
    """Decorator that adds a constructor to the zoo under ``name``.

    Args:
        name: the zoo name; must be unique and must not contain ``:``.
        description: one line shown by ``netadapt models``.
        default_input: the (C, H, W) input the model is meant for.
        task: what the model does (``ModelInfo.task``).
    """
    if ":" in name:
        raise ValueError(f"model name {name!r} must not contain ':'")

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name][1] is not factory:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = (ModelInfo(name, description, tuple(default_input), task), factory)
        return factory

    return decorator


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        for module in _ZOO_MODULES:
            importlib.import_module(module)
        _loaded = True


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Sorted zoo names matching a shell-style pattern (``fnmatch``), of one ``task`` only when given."""
    _ensure_loaded()
    return sorted(name for name, (info, _) in _REGISTRY.items()
                  if fnmatch.fnmatchcase(name, pattern) and (task is None or info.task == task))


def _lookup(name: str):
    _ensure_loaded()
    if name not in _REGISTRY:
        raise UserError(f"unknown model {name!r}; valid models: {', '.join(list_models())} "
                        "(or package.module:factory)")
    return _REGISTRY[name]


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a zoo model; unknown names raise :class:`UserError`."""
    return _lookup(name)[0]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a zoo model (or ``package.module:factory``) with keyword arguments.

    Raises:
        UserError: unknown name, or arguments the constructor does not accept.
    """
    if ":" in name:
        from netadapt.models.spec import build_from_factory

        return build_from_factory(name, **kwargs)
    factory = _lookup(name)[1]
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise UserError(f"model {name!r}: bad arguments {kwargs} ({exc})") from exc
