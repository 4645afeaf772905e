"""Sensitivity analysis: prune one group at a time at several ratios, see how much accuracy each costs,
then turn an accuracy-drop threshold (or a global budget) into per-group prune ratios."""

from netadapt.sensitivity.report import plot_sensitivity, read_csv, write_csv
from netadapt.sensitivity.scan import SensitivityRow, scan
from netadapt.sensitivity.select import fill_budget, ratios_for_threshold, search_threshold

__all__ = ["SensitivityRow", "fill_budget", "plot_sensitivity", "ratios_for_threshold", "read_csv", "scan", "search_threshold",
           "write_csv"]
