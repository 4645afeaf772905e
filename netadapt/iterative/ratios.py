"""Prune ratios per channel group: the fraction of a group's channels to remove, and what it leaves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch.nn as nn

from netadapt.errors import UserError
from netadapt.pruning.graph import NetworkGraph


def kept_count(size: int, ratio: float) -> int:
    """Channels left of ``size`` after removing the fraction ``ratio`` (rounded, at least one)."""
    if not 0.0 <= ratio < 1.0:
        raise UserError(f"prune ratio must be in [0, 1), got {ratio}")
    return max(1, int(math.floor(size * (1.0 - ratio) + 0.5)))


def kept_for(group, ratio: float) -> int:
    """Channels a group keeps after removing the fraction ``ratio``: rounded to the group's block multiple
    (grouped convolutions, attention heads), within its smallest size and its size."""
    if not 0.0 <= ratio < 1.0:
        raise UserError(f"prune ratio must be in [0, 1), got {ratio}")
    m = group.multiple
    n = int(math.floor(group.size * (1.0 - ratio) / m + 0.5)) * m
    return min(group.size, max(group.min_size, n))


def uniform_ratios(graph: NetworkGraph, ratio: float) -> dict[str, float]:
    """The same ratio for every group (the width-multiplier-like baseline)."""
    return {g: float(ratio) for g in graph.groups}


def counts_for(graph: NetworkGraph, ratios: dict[str, float]) -> dict[str, int]:
    """Channel counts of every group of ``graph`` after its ratio (groups not named keep all channels).

    Raises:
        UserError: a ratio names a group the network does not have, or lies outside [0, 1).
    """
    unknown = sorted(set(ratios) - set(graph.groups))
    if unknown:
        raise UserError(f"ratios name unknown channel group(s) {', '.join(unknown)}; "
                        f"groups: {', '.join(graph.groups)}")
    return {g: kept_for(grp, float(ratios.get(g, 0.0))) for g, grp in graph.groups.items()}


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def params_at(model: nn.Module, graph: NetworkGraph, counts: dict[str, int]) -> int:
    """Parameters of ``model`` (analysed as ``graph``) shrunk to ``counts`` (which channels stay does not
    matter)."""
    from netadapt.pruning import shrunk_copy

    return count_params(shrunk_copy(model, graph, counts))


def read_ratios(path) -> dict[str, float]:
    """Ratios from a JSON file: ``{"ratios": {group: ratio}}`` (as ``netadapt sensitivity`` writes) or
    a plain ``{group: ratio}`` object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read ratios file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"ratios file {path} is not JSON ({exc.msg}, line {exc.lineno})") from exc
    ratios = data.get("ratios", data) if isinstance(data, dict) else None
    if not isinstance(ratios, dict) or not all(isinstance(v, (int, float)) for v in ratios.values()):
        raise UserError(f"ratios file {path} must hold {{group: ratio}} or {{\"ratios\": {{group: ratio}}}}")
    return {str(k): float(v) for k, v in ratios.items()}


def write_ratios(path, ratios: dict[str, float], **info) -> Path:
    """Write ``{"ratios": ..., **info}`` as readable JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ratios": ratios, **info}, indent=2) + "\n")
    return path
