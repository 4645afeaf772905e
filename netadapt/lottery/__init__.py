"""Lottery tickets: iterative magnitude pruning with unstructured masks and weight rewinding."""

from netadapt.lottery.masks import (MaskHooks, apply_masks, magnitude_prune, ones_masks, prunable_weights,
                                    remaining_fraction)
from netadapt.config.lottery import LotteryConfig
from netadapt.lottery.run import run_lottery
from netadapt.lottery.train import train_masked

__all__ = ["LotteryConfig", "MaskHooks", "apply_masks", "magnitude_prune", "ones_masks", "prunable_weights",
           "remaining_fraction", "run_lottery", "train_masked"]
