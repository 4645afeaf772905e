"""``netadapt models``: list the model zoo."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.zoo import ModelListing


@click.command()
@options_of(ModelListing)
def models(**options):
    """List zoo models matching PATTERN (a glob, default all): name, task, default input, description.

    Classifiers run with `netadapt run --model NAME`; the detection and segmentation models are pruned through
    their tasks (`netadapt run --task netadapt.tasks.detection:make_task`). Any other model can be given as
    package.module:factory wherever a model name is expected.
    """
    from netadapt.cli.devices_cmd import format_columns
    from netadapt.models import list_models, model_info

    pattern = settings_from(ModelListing, options).pattern
    rows = []
    for name in list_models(pattern):
        info = model_info(name)
        rows.append([name, info.task, "x".join(str(d) for d in info.default_input), info.description])
    if not rows:
        click.echo(f"No zoo model matches {pattern!r}.")
        return
    click.echo(format_columns(["model", "task", "input", "description"], rows))
