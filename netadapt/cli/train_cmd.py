"""``netadapt train``: train a zoo model on a data set, resumably, and save a netadapt checkpoint."""

from __future__ import annotations

import click

from netadapt.cli.options import config_option
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.source import DataSource, ModelSource
from netadapt.config.train import TrainConfig, TrainOutput


@click.command()
@config_option()
@options_of(ModelSource)
@options_of(DataSource)
@options_of(TrainConfig)
@options_of(TrainOutput)
def train(**options):
    """Train a model from scratch; re-run the same command to resume.

    Example: netadapt train --model resnet20 --data imagefolder:cifar10 --epochs 30 --out runs/r20
    """
    from pathlib import Path

    from netadapt.checkpoint import save_checkpoint
    from netadapt.data import load_data
    from netadapt.models.spec import spec_for_data
    from netadapt.training import train as run_training
    from netadapt.training.state import atomic_write_json

    source, data_source, train_config, output = (settings_from(cls, options)
                                                 for cls in (ModelSource, DataSource, TrainConfig, TrainOutput))
    from netadapt.training.device import training_device

    training_device(output.train_device)  # before the data is loaded
    model, data = source.model, data_source.data
    bundle = load_data(data, seed=train_config.seed, **data_source.load_kwargs())
    spec = spec_for_data(model, source.kwargs(), bundle.num_classes, bundle.input_shape[0])
    kwargs = spec.kwargs
    net = spec.build()
    out = Path(output.out)
    click.echo(f"Training {model} {kwargs} on {data}: {len(bundle.train)} training, {len(bundle.holdout)} "
               f"holdout, {len(bundle.test)} test images; output in {out}")
    result = run_training(net, bundle, train_config, out_dir=out, progress=not output.no_progress,
                          resume=output.resume, device=output.train_device)
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
