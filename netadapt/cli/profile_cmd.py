"""``netadapt profile``: measure every layer signature a NetAdapt run on a model can visit."""

from __future__ import annotations

import time

import click

from netadapt.cli.options import device_options, lut_option, parse_input_shape


@click.command()
@device_options
@click.option("--model", default="mobilenet_v1", show_default=True,
              help="Zoo name or package.module:factory.")
@click.option("--checkpoint", default=None, type=click.Path(dir_okay=False),
              help="Profile the (possibly pruned) model stored in this checkpoint instead.")
@click.option("--input-shape", default=None, metavar="NxCxHxW",
              help="Input shape, e.g. 1x3x32x32 (default: the model's default input at the batch "
                   "`netadapt run` measures by default, 32).")
@click.option("--channel-step", type=click.IntRange(1, 4096), default=8, show_default=True,
              help="Channel counts on multiples of this step are profiled.")
@click.option("--warmup", type=click.IntRange(0, 10_000), default=10, show_default=True)
@click.option("--repeats", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--force", is_flag=True, help="Measure again what the table already holds.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Measure at most this many missing signatures (the rest on a later run).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@lut_option
def profile(device_name, threads, gpu_id, model, checkpoint, input_shape, channel_step, warmup, repeats,
            force, limit, no_progress, lut_url):
    """Fill the lookup table for MODEL on a device.

    Every prunable layer at every channel count on the step grid is measured, together with the
    neighbouring layers whose input channels change with it. What is stored is skipped.

    Example: netadapt profile --device cpu --model mobilenet_v1 --input-shape 1x3x32x32
    """
    from devices import get_device
    from lut.measure import measure_missing
    from lut.table import LatencyTable
    from netadapt.errors import DeviceUnavailable
    from netadapt.latency import visitable_signatures
    from netadapt.models import model_info
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    dev = get_device(device_name, threads=threads, gpu_id=gpu_id)
    ok, why = dev.available()
    if not ok:
        raise DeviceUnavailable(f"device {device_name!r} is not available here: {why}")
    if checkpoint:
        from netadapt.checkpoint import load_checkpoint

        if click.get_current_context().get_parameter_source("model").name != "DEFAULT":
            from netadapt.errors import UserError

            raise UserError("give --model or --checkpoint, not both (a checkpoint names its model)")
        loaded = load_checkpoint(checkpoint)
        net, default_shape = loaded.model, loaded.input_shape
    else:
        net = ModelSpec(model).build()
        from netadapt.algorithm.config import RunConfig

        batch = RunConfig().batch
        default_shape = (batch, *model_info(model).default_input) if ":" not in model else None
    shape = parse_input_shape(input_shape) if input_shape is not None else default_shape
    if shape is None:
        from netadapt.errors import UserError

        raise UserError("--input-shape is required for a model given as module:factory")
    table = LatencyTable(lut_url)
    started = time.perf_counter()
    graph = analyze(net, shape)
    sigs = visitable_signatures(graph, channel_step)
    fp = dev.fingerprint()
    todo = sigs if force else table.missing(fp, sigs)
    stored = len(sigs) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    click.echo(f"{model if not checkpoint else checkpoint} at {'x'.join(map(str, shape))}: "
               f"{len(graph.groups)} prunable groups, {len(sigs)} signatures on the step-{channel_step} grid, "
               f"{stored} already stored.")
    profiler = get_profiler(dev, ProfileConfig(warmup=warmup, repeats=repeats))
    summary = measure_missing(table, profiler, todo, force=force, progress=not no_progress)
    skipped = len(sigs) - summary.measured
    click.echo(f"Measured {summary.measured}, skipped {skipped} (already stored), "
               f"{time.perf_counter() - started:.1f} s on {device_name} "
               f"(timed runs {summary.timed_seconds:.1f} s). Table: {table.url}")
