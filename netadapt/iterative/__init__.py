"""Structured pruning by per-group ratios: in one shot, or in rounds of prune + fine-tune."""

from netadapt.iterative.prune import PruneRound, iterative_prune, prune_to_counts
from netadapt.iterative.ratios import (count_params, counts_for, kept_count, kept_for, params_at, read_ratios,
                                       uniform_ratios, write_ratios)

__all__ = ["PruneRound", "count_params", "counts_for", "iterative_prune", "kept_count", "kept_for", "params_at",
           "prune_to_counts", "read_ratios", "uniform_ratios", "write_ratios"]
