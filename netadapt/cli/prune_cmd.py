"""``netadapt prune``: apply per-group prune ratios (from ``netadapt sensitivity``, or uniform) to a
trained checkpoint, in one shot or in rounds of prune + fine-tune; save a physically smaller checkpoint."""

from __future__ import annotations

import json

import click

from netadapt.cli.options import config_option
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.start import ShortFineTune, StartSettings
from netadapt.config.prune import PruneSettings


def model_data_options(f):
    """Options shared by the commands that start from a trained checkpoint (``StartSettings``)."""
    return options_of(StartSettings)(f)


def load_inputs(start: StartSettings):
    """The checkpoint (checked against ``--model``) and the data set, with a clear error on a mismatch."""
    from netadapt.checkpoint import load_checkpoint
    from netadapt.data import load_data
    from netadapt.errors import UserError

    model, checkpoint, data = start.model, start.checkpoint, start.data
    loaded = load_checkpoint(checkpoint)
    if model is not None and model != loaded.spec.name:
        raise UserError(f"checkpoint {checkpoint} is for model {loaded.spec.name}, not {model}")
    bundle = load_data(data, holdout=start.holdout, seed=start.seed)
    if tuple(bundle.input_shape) != tuple(loaded.input_shape[1:]):
        raise UserError(f"data {data} has images of shape {tuple(bundle.input_shape)}, the checkpoint "
                        f"expects {tuple(loaded.input_shape[1:])}")
    return loaded, bundle


@click.command()
@config_option()
@model_data_options
@options_of(PruneSettings, only=("ratios", "target", "steps"))
@options_of(ShortFineTune, helps={"finetune_steps": "SGD iterations after each round."})
@options_of(PruneSettings, only=("criterion", "output"))
def prune(**options):
    """Prune a trained checkpoint by per-group ratios, in one shot or in --steps rounds.

    Example: netadapt prune --checkpoint base.pt --ratios out/ratios.json --steps 3 --finetune-steps 100 -o pruned.pt
    """
    from pathlib import Path

    from netadapt.checkpoint import save_checkpoint
    from netadapt.criteria.registry import CRITERIA
    from netadapt.iterative import iterative_prune, read_ratios, uniform_ratios
    from netadapt.pruning import analyze

    start, settings, ft = (settings_from(cls, options) for cls in (StartSettings, PruneSettings, ShortFineTune))
    checkpoint, seed = start.checkpoint, start.seed
    loaded, bundle = load_inputs(start)
    net, shape = loaded.model, loaded.input_shape
    ratios = read_ratios(settings.ratios) if settings.ratios else uniform_ratios(analyze(net, shape), settings.target)
    crit = CRITERIA.create(settings.criterion, seed=seed)
    click.echo(f"{'round':>5} {'params':>10} {'channels':>9} {'holdout acc':>11} {'test acc':>9}")

    def show(r):
        click.echo(f"{r.round:>5} {r.params:>10,} {sum(r.channels.values()):>9} {r.holdout_accuracy:>11.4f} "
                   f"{r.test_accuracy:>9.4f}")

    steps = settings.steps
    rounds = iterative_prune(net, shape, ratios, crit, steps=steps, train=bundle.train,
                             finetune_steps=ft.finetune_steps, finetune=ft.as_kwargs(bundle.augment),
                             holdout=bundle.holdout, test=bundle.test, seed=seed, on_round=show)
    channels = rounds[-1].channels
    out = save_checkpoint(settings.output, net, loaded.spec, shape, channels=channels,
                          extra={"pruned_from": str(checkpoint), "ratios": ratios, "steps": steps,
                                 "test_accuracy": rounds[-1].test_accuracy})
    report = Path(out).with_suffix(".json")
    report.write_text(json.dumps({"checkpoint": str(checkpoint), "criterion": settings.criterion, "ratios": ratios,
                                  "steps": steps, "finetune_steps": ft.finetune_steps,
                                  "rounds": [r.to_dict() for r in rounds]}, indent=2) + "\n")
    click.echo(f"Pruned {rounds[0].params:,} -> {rounds[-1].params:,} parameters; wrote {out} and {report.name}.")
