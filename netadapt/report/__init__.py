"""Reports of a run folder: figures, a self-contained HTML page and a Markdown twin."""

from netadapt.report.build import write_report
from netadapt.runs.rundata import RunData, load_run

__all__ = ["RunData", "load_run", "write_report"]
