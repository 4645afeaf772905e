"""Built-in criteria and third-party ones from the ``netadapt.criteria`` entry-point group."""

from __future__ import annotations

from netadapt.criteria.base import Criterion
from netadapt.criteria.bn_scale import BatchNormScale
from netadapt.criteria.magnitude import L1Magnitude, L2Magnitude
from netadapt.criteria.random import RandomCriterion
from netadapt.plugins import Registry

CRITERIA: Registry[Criterion] = Registry("criterion", "netadapt.criteria")
CRITERIA.register("l2")(lambda seed=0: L2Magnitude())
CRITERIA.register("l1")(lambda seed=0: L1Magnitude())
CRITERIA.register("random")(lambda seed=0: RandomCriterion(seed))
CRITERIA.register("bn_scale")(lambda seed=0: BatchNormScale())
CRITERIA.register("taylor")(lambda seed=0, **data: __import__("netadapt.criteria.taylor", fromlist=["_"]).TaylorCriterion(seed=seed, **data))


def list_criteria(pattern: str = "*") -> list[str]:
    return CRITERIA.names(pattern)


def create_criterion(name: str, seed: int = 0) -> Criterion:
    return CRITERIA.create(name, seed=seed)
