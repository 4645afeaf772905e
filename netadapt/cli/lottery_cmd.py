"""``netadapt lottery``: lottery tickets by iterative magnitude pruning with rewinding, against a control."""

from __future__ import annotations

import json
import math

import click

from netadapt.cli.options import config_option


@click.command()
@config_option()
@click.option("--model", default="digits_cnn", show_default=True, help="Zoo name or package.module:factory.")
@click.option("--model-args", default=None, metavar="JSON", help="Constructor arguments as JSON.")
@click.option("--data", default="digits", show_default=True,
              help="digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")
@click.option("--rounds", type=click.IntRange(0), default=5, show_default=True,
              help="Pruning rounds after the dense run.")
@click.option("--rate", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Fraction of the surviving weights removed per round.")
@click.option("--rewind-iter", type=click.IntRange(0), default=0, show_default=True,
              help="Reset survivors to their values at this training iteration (0: the original init).")
@click.option("--scope", type=click.Choice(["global", "layer"]), default="global", show_default=True,
              help="Rank magnitudes over all layers, or prune every layer by --rate.")
@click.option("--control", type=click.Choice(["random-reinit", "none"]), default="random-reinit", show_default=True,
              help="Also train a random re-initialisation under the same mask.")
@click.option("--epochs", type=click.IntRange(1), default=10, show_default=True, help="Training epochs per round.")
@click.option("--lr", type=float, default=0.05, show_default=True, help="Peak learning rate (cosine schedule).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--train-limit", type=click.IntRange(2), default=None, help="Use at most this many training images.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="lottery", show_default=True, type=click.Path(file_okay=False),
              help="Folder for lottery.csv, lottery.png and per-round state; re-run to resume.")
def lottery(model, model_args, data, rounds, rate, rewind_iter, scope, control, epochs, lr, batch_size,
            train_limit, seed, out):
    """Find lottery tickets: train, prune --rate of the weights by magnitude, rewind, retrain; repeat.

    Example: netadapt lottery --data digits --rounds 8 --rate 0.2 --rewind-iter 0 --out lottery/
    """
    from netadapt.data import load_data
    from netadapt.errors import UserError
    from netadapt.lottery import LotteryConfig, run_lottery
    from netadapt.models.spec import spec_for_data
    from netadapt.training import TrainConfig

    try:
        kwargs = json.loads(model_args) if model_args else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"--model-args is not JSON: {exc.msg}") from exc
    if not isinstance(kwargs, dict):
        raise UserError("--model-args must be a JSON object")
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
