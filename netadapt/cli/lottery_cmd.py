"""``netadapt lottery``: lottery tickets by iterative magnitude pruning with rewinding, against a control."""

from __future__ import annotations

import math

import click

from netadapt.cli.options import config_option
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.lottery import LotteryConfig, LotteryRun
from netadapt.config.source import ModelSource
from netadapt.config.train import TrainConfig


@click.command()
@config_option()
@options_of(ModelSource, only=("model", "model_args"))
@options_of(LotteryRun, only=("data",))
@options_of(LotteryConfig, only=("rounds", "rate", "rewind_iter", "scope", "control"))
@options_of(TrainConfig, only=("epochs", "batch_size", "lr", "seed"), defaults={"epochs": 10, "batch_size": 64, "lr": 0.05},
            helps={"epochs": "Training epochs per round.", "lr": "Peak learning rate (cosine schedule)."})
@options_of(LotteryRun, only=("train_limit", "out"))
def lottery(**options):
    """Find lottery tickets: train, prune --rate of the weights by magnitude, rewind, retrain; repeat.

    Example: netadapt lottery --data digits --rounds 8 --rate 0.2 --rewind-iter 0 --out lottery/
    """
    from netadapt.data import load_data
    from netadapt.lottery import run_lottery
    from netadapt.models.spec import spec_for_data

    source, run, config = (settings_from(cls, options) for cls in (ModelSource, LotteryRun, LotteryConfig))
    bundle = load_data(run.data, holdout=0, seed=config.train.seed, train_limit=run.train_limit)
    spec = spec_for_data(source.model, source.kwargs(), bundle.num_classes, bundle.input_shape[0])
    out = run.out
    rows = run_lottery(spec, bundle, config, out, log=click.echo)
    click.echo(f"{'round':>5} {'remaining':>9} {'test acc':>8} {'control':>8}")
    for r in rows:
        ctrl = "-" if math.isnan(r["control_accuracy"]) else f"{r['control_accuracy']:.4f}"
        click.echo(f"{r['round']:>5} {100 * r['remaining']:>8.1f}% {r['test_accuracy']:>8.4f} {ctrl:>8}")
    click.echo(f"Wrote {out}/lottery.csv and {out}/lottery.png.")
