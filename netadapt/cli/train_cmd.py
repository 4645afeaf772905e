"""``netadapt train``: train a zoo model on a data set, resumably, and save a netadapt checkpoint."""

from __future__ import annotations

import json

import click

from netadapt.cli.options import config_option
from netadapt.cli.settings import options_of
from netadapt.training.config import TrainConfig


@click.command()
@config_option()
@click.option("--model", default="digits_cnn", show_default=True, help="Zoo name or package.module:factory.")
@click.option("--model-args", default=None, metavar="JSON", help="Constructor arguments as a JSON object.")
@click.option("--width-mult", type=float, default=None, help="Width multiplier (zoo models).")
@click.option("--data", default="digits", show_default=True,
              help="digits, synthetic[:opts], cifar10:<dir> or imagefolder:<dir>.")
@click.option("--image-size", type=click.IntRange(1), default=None, help="Resize images to this square size.")
@click.option("--holdout", type=float, default=0.1, show_default=True,
              help="Images kept out of training for validation (fraction below 1, or a count).")
@click.option("--train-limit", type=click.IntRange(1), default=None, help="Use at most this many training images.")
@click.option("--test-limit", type=click.IntRange(1), default=None, help="Use at most this many test images.")
@options_of(TrainConfig)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: last.pt (resume), rewind_<k>.pt, model.pt, train.json.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from OUT/last.pt when it exists.")
@click.option("--train-device", default="cpu", show_default=True,
              help="Where the SGD steps run (PyTorch: cpu, cuda, cuda:1). A run may resume on another.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(model, model_args, width_mult, data, image_size, holdout, train_limit, test_limit, out, resume,
          train_device, no_progress, **config):
    """Train a model from scratch; re-run the same command to resume.

    Example: netadapt train --model resnet20 --data imagefolder:cifar10 --epochs 30 --out runs/r20
    """
    from pathlib import Path

    from netadapt.checkpoint import save_checkpoint
    from netadapt.data import load_data
    from netadapt.errors import UserError
    from netadapt.models.spec import spec_for_data
    from netadapt.training import train as run_training
    from netadapt.training.state import atomic_write_json

    try:
        kwargs = json.loads(model_args) if model_args else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"--model-args is not valid JSON ({exc})") from exc
    if not isinstance(kwargs, dict):
        raise UserError("--model-args must be a JSON object")
    train_config = TrainConfig(**config)
    from netadapt.training.device import training_device

    training_device(train_device)  # before the data is loaded
    bundle = load_data(data, image_size=image_size, holdout=int(holdout) if holdout >= 1 else holdout,
                       seed=train_config.seed, train_limit=train_limit, test_limit=test_limit)
    if width_mult is not None:
        kwargs["width_mult"] = width_mult
    spec = spec_for_data(model, kwargs, bundle.num_classes, bundle.input_shape[0])
    kwargs = spec.kwargs
    net = spec.build()
    out = Path(out)
    click.echo(f"Training {model} {kwargs} on {data}: {len(bundle.train)} training, {len(bundle.holdout)} "
               f"holdout, {len(bundle.test)} test images; output in {out}")
    result = run_training(net, bundle, train_config, out_dir=out, progress=not no_progress, resume=resume,
                          device=train_device)
    input_shape = (1, *bundle.input_shape)
    extra = {"input_shape": list(input_shape), "data": data, "test_accuracy": result.test_accuracy,
             "train_config": train_config.to_dict()}
    save_checkpoint(out / "model.pt", net, spec, input_shape, extra=extra)
    atomic_write_json({**extra, "model": spec.to_dict(), "history": result.history, "seconds": result.seconds},
                      out / "train.json")
    click.echo(f"Test accuracy: {result.test_accuracy:.4f} after {len(result.history)} epochs "
               f"({result.seconds:.1f} s of training)")
    click.echo(f"Model: {out / 'model.pt'}")
    if train_config.rewind_iteration is not None:
        click.echo(f"Rewind weights: {out / f'rewind_{train_config.rewind_iteration}.pt'}")
