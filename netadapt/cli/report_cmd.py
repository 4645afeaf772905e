"""``netadapt report``: figures and an HTML/Markdown report of a run folder, optionally with a uniform baseline."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the report (default: <run>/report).")
@click.option("--baseline", "baseline_points", type=click.IntRange(0), default=0, show_default=True,
              help="First build this many uniform width-multiplier baseline points (matching evenly spaced "
                   "iterations, the last included), kept in <run>/baseline/; 0 uses those already built.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def report(run_dir, out_dir, baseline_points, no_progress):
    """Write latency/accuracy figures, report.html and report.md for RUN_DIR.

    Example: netadapt report runs/digits_cnn-20ms-1a2b3c4d --baseline 3
    """
    from netadapt.report import load_run, write_report
    from netadapt.report.amc import is_amc_folder, write_amc_report

    if is_amc_folder(run_dir):
        written = write_amc_report(run_dir, out_dir)
        click.echo(f"Report: {written['report.html']}")
        return
    load_run(run_dir)  # not a run folder: fail before any baseline work
    if baseline_points:
        from netadapt.baseline import build_uniform_baseline

        points = build_uniform_baseline(run_dir, points=baseline_points, progress=not no_progress,
                                        log=click.echo)
        click.echo(f"Uniform baseline: {len(points)} points in {run_dir}/baseline/points.json")
    written = write_report(run_dir, out_dir)
    click.echo(f"Report: {written['report.html']}")
    for name, path in written.items():
        if name != "report.html":
            click.echo(f"  {path}")
