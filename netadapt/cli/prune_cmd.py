"""``netadapt prune``: apply per-group prune ratios (from ``netadapt sensitivity``, or uniform) to a
trained checkpoint, in one shot or in rounds of prune + fine-tune; save a physically smaller checkpoint."""

from __future__ import annotations

import json

import click

from netadapt.cli.options import config_option


def model_data_options(f):
    """Options shared by the commands that start from a trained checkpoint."""
    f = click.option("--seed", type=int, default=0, show_default=True, help="Seed for splits and fine-tuning.")(f)
    f = click.option("--holdout", type=float, default=0.1, show_default=True,
                     help="Holdout carved from the training data (fraction or count); never the test set.")(f)
    f = click.option("--data", default="digits", show_default=True,
                     help="digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")(f)
    f = click.option("--checkpoint", required=True, type=click.Path(dir_okay=False),
                     help="Trained checkpoint (netadapt train).")(f)
    f = click.option("--model", default=None,
                     help="Expected zoo name or package.module:factory (default: the checkpoint's).")(f)
    return f


def load_inputs(model, checkpoint, data, holdout, seed):
    """The checkpoint (checked against ``--model``) and the data set, with a clear error on a mismatch."""
    from netadapt.checkpoint import load_checkpoint
    from netadapt.data import load_data
    from netadapt.errors import UserError

    loaded = load_checkpoint(checkpoint)
    if model is not None and model != loaded.spec.name:
        raise UserError(f"checkpoint {checkpoint} is for model {loaded.spec.name}, not {model}")
    bundle = load_data(data, holdout=holdout, seed=seed)
    if tuple(bundle.input_shape) != tuple(loaded.input_shape[1:]):
        raise UserError(f"data {data} has images of shape {tuple(bundle.input_shape)}, the checkpoint "
                        f"expects {tuple(loaded.input_shape[1:])}")
    return loaded, bundle


@click.command()
@config_option()
@model_data_options
@click.option("--ratios", "ratios_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="ratios.json from `netadapt sensitivity` ({group: fraction of channels to remove}).")
@click.option("--target", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Remove this fraction of every group's channels instead (uniform pruning).")
@click.option("--steps", type=click.IntRange(1), default=1, show_default=True,
              help="Rounds of prune + fine-tune (1: one shot).")
@click.option("--finetune-steps", type=click.IntRange(0), default=0, show_default=True,
              help="SGD iterations after each round.")
@click.option("--lr", type=float, default=0.01, show_default=True, help="Fine-tune learning rate.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--criterion", default="l2", show_default=True,
              help="Which channels stay: l2, l1, bn_scale, taylor, random.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the pruned checkpoint (a JSON report is written beside it).")
def prune(model, checkpoint, data, holdout, seed, ratios_path, target, steps, finetune_steps, lr, batch_size,
          criterion, output):
    """Prune a trained checkpoint by per-group ratios, in one shot or in --steps rounds.

    Example: netadapt prune --checkpoint base.pt --ratios out/ratios.json --steps 3 --finetune-steps 100 -o pruned.pt
    """
    from pathlib import Path

    from netadapt.checkpoint import save_checkpoint
    from netadapt.criteria.registry import CRITERIA
    from netadapt.errors import UserError
    from netadapt.iterative import iterative_prune, read_ratios, uniform_ratios
    from netadapt.pruning import analyze

    if (ratios_path is None) == (target is None):
        raise UserError("give exactly one of --ratios FILE and --target FRACTION")
    loaded, bundle = load_inputs(model, checkpoint, data, holdout, seed)
    net, shape = loaded.model, loaded.input_shape
    ratios = read_ratios(ratios_path) if ratios_path else uniform_ratios(analyze(net, shape), target)
    crit = CRITERIA.create(criterion, seed=seed)
    click.echo(f"{'round':>5} {'params':>10} {'channels':>9} {'holdout acc':>11} {'test acc':>9}")

    def show(r):
        click.echo(f"{r.round:>5} {r.params:>10,} {sum(r.channels.values()):>9} {r.holdout_accuracy:>11.4f} "
                   f"{r.test_accuracy:>9.4f}")

    rounds = iterative_prune(net, shape, ratios, crit, steps=steps, train=bundle.train,
                             finetune_steps=finetune_steps,
                             finetune={"lr": lr, "batch_size": batch_size, "augment": bundle.augment},
                             holdout=bundle.holdout, test=bundle.test, seed=seed, on_round=show)
    channels = rounds[-1].channels
    out = save_checkpoint(output, net, loaded.spec, shape, channels=channels,
                          extra={"pruned_from": str(checkpoint), "ratios": ratios, "steps": steps,
                                 "test_accuracy": rounds[-1].test_accuracy})
    report = Path(out).with_suffix(".json")
    report.write_text(json.dumps({"checkpoint": str(checkpoint), "criterion": criterion, "ratios": ratios,
                                  "steps": steps, "finetune_steps": finetune_steps,
                                  "rounds": [r.to_dict() for r in rounds]}, indent=2) + "\n")
    click.echo(f"Pruned {rounds[0].params:,} -> {rounds[-1].params:,} parameters; wrote {out} and {report.name}.")
