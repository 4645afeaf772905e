"""``netadapt report``: figures and an HTML/Markdown report of a run folder, optionally with a uniform baseline."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.report import ReportSettings


@click.command()
@options_of(ReportSettings)
def report(**options):
    """Write latency/accuracy figures, report.html and report.md for RUN_DIR.

    Example: netadapt report runs/digits_cnn-20ms-1a2b3c4d --baseline 3
    """
    from netadapt.report import load_run, write_report
    from netadapt.report.amc import is_amc_folder, write_amc_report

    s = settings_from(ReportSettings, options)
    run_dir, out_dir = s.run_dir, s.out
    if is_amc_folder(run_dir):
        written = write_amc_report(run_dir, out_dir)
        click.echo(f"Report: {written['report.html']}")
        return
    load_run(run_dir)  # not a run folder: fail before any baseline work
    if s.baseline_points:
        from netadapt.baseline import build_uniform_baseline

        points = build_uniform_baseline(run_dir, points=s.baseline_points, progress=not s.no_progress,
                                        log=click.echo)
        click.echo(f"Uniform baseline: {len(points)} points in {run_dir}/baseline/points.json")
    written = write_report(run_dir, out_dir)
    click.echo(f"Report: {written['report.html']}")
    for name, path in written.items():
        if name != "report.html":
            click.echo(f"  {path}")
