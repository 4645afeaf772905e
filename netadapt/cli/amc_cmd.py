"""``netadapt amc``: AMC, an agent choosing every group's keep ratio under a latency budget."""

from __future__ import annotations

import click

from netadapt.amc.config import AmcConfig
from netadapt.cli.options import config_option, lut_option, task_refused
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.amc import AmcOutput


@click.command()
@task_refused("amc")
@config_option()
@options_of(AmcConfig, skip=("model",))
@options_of(AmcOutput)
@lut_option
def amc(lut_url, **settings):
    """AMC: a DDPG agent picks each group's keep ratio; every episode meets the budget by construction.

    The reward is the holdout score with batch-norm re-estimated and no fine-tuning; the best policy's
    network is pruned, fine-tuned, exported and timed against the start model.

    Example: netadapt amc --checkpoint r20.pt --data imagefolder:data/cifar10 --budget 50% --episodes 300
    """
    from pathlib import Path

    from netadapt.amc import AmcSearch
    from netadapt.checkpoint import read_checkpoint
    from netadapt.config.budget import parse_budget
    from netadapt.runs.folder import default_folder

    output = settings_from(AmcOutput, settings)
    out = output.out
    budget, checkpoint = settings["budget"], settings["checkpoint"]
    parse_budget(budget)
    model = read_checkpoint(checkpoint)["spec"]["name"]
    config = AmcConfig(**{**settings, "model": model, "checkpoint": str(Path(checkpoint).resolve())})
    if out is None:
        tag = budget.strip().replace("%", "pct")
        out = default_folder(Path("runs"), f"amc-{model.replace(':', '_').replace('.', '_')}-{tag}", config)
    click.echo(f"Search folder: {out}")
    final = AmcSearch(config, out, lut=lut_url, progress=not output.no_progress, log=click.echo,
                      train_device=output.train_device).run()
    verdict = "MET" if final["budget_met"] else ("WITHIN THE MEASUREMENT'S UNCERTAINTY"
                                                 if final["verdict"] == "uncertain" else "NOT MET")
    click.echo(f"best policy (episode {final['episode']}): measured {final['measurement']} -> {verdict}; "
               f"test accuracy {final['test_accuracy']:.4f}; models in {out}")
