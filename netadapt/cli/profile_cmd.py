"""``netadapt profile``: measure every node the first NetAdapt iteration on a model can visit."""

from __future__ import annotations

import time

import click

from netadapt.cli.options import config_option, device_options, lut_option, parse_input_shape
from netadapt.cli.settings import options_of
from netadapt.config.profile import ProfileSettings


@click.command()
@config_option()
@device_options
@options_of(ProfileSettings)
@lut_option
def profile(device_name, threads, gpu_id, model, checkpoint, input_shape, channel_step, scope, warmup, repeats,
            force, limit, no_progress, lut_url):
    """Fill the lookup table for MODEL on a device.

    Each network looked at is exported (or written from a few exports, once they agree on how its integers
    follow the channel counts) and optimised for the device, and every node it runs that the table lacks is
    measured. By default these are the networks the first NetAdapt iteration probes (each group cut to the
    counts its search tries); --scope grid takes every count on the step grid, one group at a
    time. What is stored is skipped; whatever a run needs later is measured when it needs it.

    Example: netadapt profile --device cpu --model mobilenet_v1 --input-shape 1x3x32x32
    """
    from devices import usable_device
    from lut.measure import measure_missing
    from lut.table import LatencyTable
    from netadapt.latency import LatencyEstimator, visitable_configs
    from netadapt.models import model_info
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    dev = usable_device(device_name, threads=threads, gpu_id=gpu_id)
    if checkpoint:
        from netadapt.checkpoint import load_checkpoint

        if click.get_current_context().get_parameter_source("model").name != "DEFAULT":
            from netadapt.errors import UserError

            raise UserError("give --model or --checkpoint, not both (a checkpoint names its model)")
        loaded = load_checkpoint(checkpoint)
        net, default_shape = loaded.model, loaded.input_shape
    else:
        net = ModelSpec(model).build()
        from netadapt.config.run import RunConfig

        batch = RunConfig().batch
        default_shape = (batch, *model_info(model).default_input) if ":" not in model else None
    shape = parse_input_shape(input_shape) if input_shape is not None else default_shape
    if shape is None:
        from netadapt.errors import UserError

        raise UserError("--input-shape is required for a model given as module:factory")
    from tqdm import tqdm

    table = LatencyTable(lut_url)
    started = time.perf_counter()
    net.eval()
    graph = analyze(net, shape)
    for name, why in graph.frozen.items():
        click.echo(f"Frozen (not pruned): {name}: {why}", err=True)
    if scope == "first-iteration":
        _first_iteration(net, graph, shape, table, dev, get_profiler(dev, ProfileConfig(warmup=warmup, repeats=repeats)),
                         channel_step, no_progress, started, device_name)
        return
    configs = [{}] + visitable_configs(graph, channel_step)
    click.echo(f"{model if not checkpoint else checkpoint} at {'x'.join(map(str, shape))}: "
               f"{len(graph.groups)} prunable groups ({len(graph.frozen)} frozen), {len(configs)} networks on the "
               f"step-{channel_step} grid.")
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.latency.grid import probe_grids

    reader = LatencyEstimator(table, dev)
    estimates = CandidateEstimates(reader, net, graph, anchor_ms=float("nan"),
                                   grids=probe_grids(graph, graph.sizes(), channel_step))
    profiler = get_profiler(dev, ProfileConfig(warmup=warmup, repeats=repeats))
    fp = dev.fingerprint()
    seen: set[str] = set()
    measured = stored = 0
    bar = tqdm(configs, desc=f"profiling on {device_name}", unit="net", disable=no_progress, dynamic_ncols=True)
    ahead = reader.batch or 1
    # each network's nodes measured before the next is read (a stop loses nothing); a farm of boards gets the
    # nodes of the networks optimised together at once, to spread them
    together = ahead if getattr(profiler, "parallel", 1) > 1 else 1
    for i, sizes in enumerate(bar):
        if i % ahead == 0:
            estimates.prefetch(configs[i:i + ahead])  # the next networks' nodes from one optimisation
        if i % together:
            continue
        keys = [u.key for net in configs[i:i + together] for u in estimates.units(net) if u.key.key_id not in seen]
        keys = list(dict.fromkeys(keys))
        seen.update(k.key_id for k in keys)
        todo = keys if force else table.missing(fp, keys)
        stored += len(keys) - len(todo)
        if limit is not None:
            todo = todo[:max(0, limit - measured)]
        t0 = time.perf_counter()
        done = measure_missing(table, profiler, todo, force=force, progress=False)
        reader.clock("measure", t0)
        measured += done.measured
        bar.set_postfix_str(f"{len(seen)} nodes, {measured} measured", refresh=False)
        if limit is not None and measured >= limit:
            break
    bar.close()
    click.echo(f"{len(seen)} distinct nodes: measured {measured}{_retaken(profiler)}, {stored} already stored; "
               f"{len(configs)} networks, {estimates.synthesised} of them written rather than exported"
               f"{_joint(estimates)}.{_by_board(profiler)}")
    click.echo(time_split_line(time.perf_counter() - started, reader.seconds, profiler, device_name)
               + f" Table: {table.url}")


def _joint(estimates) -> str:
    n = estimates.joint_exports
    return f"; {n} more exported with every group cut, to learn how" if n else ""


def _by_board(profiler) -> str:
    """A farm's share of the nodes, board by board."""
    counts = getattr(profiler, "nodes_by_board", None)
    return (" Nodes by board: " + ", ".join(f"{url} {n}" for url, n in counts.items()) + ".") if counts else ""


def _retaken(profiler) -> str:
    return f" ({profiler.retaken} timed again: their first take was unsteady)" if profiler.retaken else ""


def time_split_line(wall: float, seconds: dict, profiler, device_name: str) -> str:
    """One line: the wall time, and where it went (exports, written graphs, the device's optimiser and
    inspection, node sessions and table writes, timed runs)."""
    from netadapt.latency.estimator import time_split

    timed = getattr(profiler, "timed_wall_seconds", profiler.timed_seconds)  # a farm's boards time side by side
    parts = time_split(wall, seconds, timed)
    split = ", ".join(f"{name} {value:.1f} s" for name, value in parts.items() if value >= 0.05)
    return f"{wall:.1f} s on {device_name} (overhead {wall / max(timed, 1e-9):.1f}x the timed runs: {split})."


def _first_iteration(net, graph, shape, table, device, profiler, step, no_progress, started, device_name):
    """Measure the nodes of the networks the first iteration's search probes (``first_iteration_search``)."""
    from tqdm import tqdm

    from netadapt.algorithm.search import first_iteration_search

    estimator = _round_estimator(table, device, profiler)
    click.echo(f"{len(graph.groups)} prunable groups ({len(graph.frozen)} frozen); the first iteration's search "
               f"at {'x'.join(map(str, shape))}.")
    estimates = first_iteration_search(
        estimator, net, graph, step,
        progress=lambda groups: tqdm(groups, desc=f"profiling on {device_name}", unit="group", disable=no_progress,
                                     dynamic_ncols=True))
    click.echo(f"Table estimate of the start {estimates.anchor_ms:.3f} ms; {estimates.probes + 1} networks "
               f"({estimates.synthesised} written rather than exported{_joint(estimates)}), "
               f"{estimator.measured_on_the_spot} nodes measured{_retaken(profiler)}.{_by_board(profiler)}")
    click.echo(time_split_line(time.perf_counter() - started, estimator.seconds, profiler, device_name)
               + f" Table: {table.url}")


def _round_estimator(table, device, profiler):
    """The first iteration's estimator. Where the profiler spreads nodes over several boards (a farm), the
    nodes of all the networks a search round works out together (``units_of_many``) are measured in one
    call, before the round looks them up one network at a time: the same nodes, more of them at once."""
    from netadapt.latency import LatencyEstimator

    return LatencyEstimator(table, device, profiler, measure_rounds=getattr(profiler, "parallel", 1) > 1)
