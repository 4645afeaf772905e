"""``netadapt lottery``: lottery tickets by iterative magnitude pruning with rewinding, against a control."""

from __future__ import annotations

import math

import click

from netadapt.cli.options import config_option
from netadapt.cli.settings import options_of
from netadapt.config.source import DataSource, ModelSource
from netadapt.config.lottery import LotteryConfig
from netadapt.config.train import TrainConfig


@click.command()
@config_option()
@options_of(ModelSource, only=("model", "model_args"))
@options_of(DataSource, only=("data",))
@options_of(LotteryConfig, only=("rounds", "rate", "rewind_iter", "scope", "control"))
@options_of(TrainConfig, only=("epochs", "batch_size", "lr", "seed"), defaults={"epochs": 10, "batch_size": 64, "lr": 0.05},
            helps={"epochs": "Training epochs per round.", "lr": "Peak learning rate (cosine schedule)."})
@click.option("--train-limit", type=click.IntRange(2), default=None, help="Use at most this many training images.")
@click.option("--out", default="lottery", show_default=True, type=click.Path(file_okay=False),
              help="Folder for lottery.csv, lottery.png and per-round state; re-run to resume.")
def lottery(model, model_args, data, rounds, rate, rewind_iter, scope, control, epochs, batch_size, lr, seed,
            train_limit, out):
    """Find lottery tickets: train, prune --rate of the weights by magnitude, rewind, retrain; repeat.

    Example: netadapt lottery --data digits --rounds 8 --rate 0.2 --rewind-iter 0 --out lottery/
    """
    from netadapt.data import load_data
    from netadapt.lottery import run_lottery
    from netadapt.models.spec import spec_for_data

    kwargs = dict(model_args or {})
    bundle = load_data(data, holdout=0, seed=seed, train_limit=train_limit)
    spec = spec_for_data(model, kwargs, bundle.num_classes, bundle.input_shape[0])
    config = LotteryConfig(rounds=rounds, rate=rate, rewind_iteration=rewind_iter, scope=scope, control=control,
                           train=TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed))
    rows = run_lottery(spec, bundle, config, out, log=click.echo)
    click.echo(f"{'round':>5} {'remaining':>9} {'test acc':>8} {'control':>8}")
    for r in rows:
        ctrl = "-" if math.isnan(r["control_accuracy"]) else f"{r['control_accuracy']:.4f}"
        click.echo(f"{r['round']:>5} {100 * r['remaining']:>8.1f}% {r['test_accuracy']:>8.4f} {ctrl:>8}")
    click.echo(f"Wrote {out}/lottery.csv and {out}/lottery.png.")
