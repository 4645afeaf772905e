"""Settings of ``netadapt report``: which run folder, where the report goes, and the uniform baseline to build."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class ReportSettings:
    """Figures and an HTML/Markdown report of a run (or AMC search) folder."""

    run_dir: str | None = setting(None, "A netadapt run or amc folder.", required=True, folder=True, argument=True)
    out: str | None = setting(None, "Folder for the report (default: <run>/report).", folder=True, short="o")
    baseline_points: int = setting(0, "First build this many uniform width-multiplier baseline points (matching "
                                      "evenly spaced iterations, the last included), kept in <run>/baseline/; 0 "
                                      "uses those already built.", flag="baseline", low=0)
    no_progress: bool = setting(False, "Hide progress bars.")

    def __post_init__(self):
        check(self)
