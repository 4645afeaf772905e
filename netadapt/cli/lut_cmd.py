"""``netadapt lut``: inspect the latency lookup table."""

from __future__ import annotations

import click

from netadapt.cli.devices_cmd import format_columns
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.lut import LutCheck, LutInversions, LutRetake, LutShow, LutStats
from netadapt.config.table import TableSettings


def _open(ctx, lut_url, hint: bool = True):
    """The table, closed with the command; ``hint``: say in one line (on stderr) when it still holds the rows
    of a table made before node keys."""
    from lut.table import LatencyTable

    table = LatencyTable(lut_url)
    ctx.call_on_close(table.close)
    old = table.old_rows.count() if hint else 0
    if old:
        click.echo(f"{table.label} still holds {old} layer-signature rows from before node keys; they are not "
                   "used: `netadapt lut migrate` removes them", err=True)
    return table


@click.group()
def lut():
    """Inspect the latency lookup table (fill it with `netadapt profile`)."""


@lut.command()
@options_of(LutStats)
@click.pass_context
def stats(ctx, **options):
    """Per device: fingerprint, hardware, provider, threads and rows per op."""
    from lut.fingerprint import fingerprint_id_of

    s = settings_from(LutStats, options)
    table = _open(ctx, s.lut)
    devices = table.devices.all()
    if s.as_json:
        import json

        counts = table.stats()
        for device_id, name, fp, total in devices:
            click.echo(json.dumps({"id": device_id, "fingerprint_id": fingerprint_id_of(fp), "name": name,
                                   "fingerprint": fp, "rows": total, "per_op": counts.get(device_id, {})},
                                  sort_keys=True))
        return
    click.echo(f"Table: {table.label}")
    if not devices:
        click.echo("No devices measured yet.")
        return
    counts = table.stats()
    rows = []
    for device_id, name, fp, total in devices:
        per_op = ", ".join(f"{op} {n}" for op, n in sorted(counts.get(device_id, {}).items())) or "-"
        rows.append([str(device_id), fingerprint_id_of(fp), name,
                     str(fp.get("gpu") or fp.get("processor") or fp.get("kind", "?")),
                     str(fp.get("provider", "-")).replace("ExecutionProvider", ""),
                     str(fp.get("intra_op_threads", fp.get("threads", "-"))),
                     str(total), per_op])
    click.echo(format_columns(["id", "fingerprint", "name", "hardware", "provider", "threads", "rows", "per op"],
                        rows))


@lut.command()
@options_of(TableSettings)
@click.pass_context
def migrate(ctx, **options):
    """Bring a table made before node keys up to date: its layer-signature rows, which a layer signature
    cannot turn into the nodes a device runs, are removed; node rows, devices and calibrations stay."""
    table = _open(ctx, settings_from(TableSettings, options).lut, hint=False)
    removed = table.old_rows.drop()
    click.echo(f"{table.label}: removed {removed} layer-signature rows" if removed
               else f"{table.label}: nothing to migrate")


@lut.command()
@options_of(LutShow)
@click.pass_context
def show(ctx, **options):
    """Stored measurements: the node and its latency statistics in milliseconds."""
    s = settings_from(LutShow, options)
    limit = s.limit
    table = _open(ctx, s.lut)
    found = table.rows(s.device_id, op=s.op, limit=limit or None)
    rows = [[str(r.device_id), r.key.short(), f"{r.stats.median:.4f}", f"{r.stats.p10:.4f}",
             f"{r.stats.p90:.4f}", str(r.stats.count)] for r in found]
    if not found:
        click.echo("No rows.")
        return
    click.echo(format_columns(["device", "node", "median_ms", "p10_ms",
                               "p90_ms", "count"], rows))
    if limit and len(found) == limit:
        click.echo(f"(first {limit} rows; --limit 0 shows all)")


@lut.command()
@options_of(LutInversions)
@click.pass_context
def inversions(ctx, **options):
    """Channel counts measured slower than a larger count of the same layer.

    NetAdapt never prunes to such a count for speed (it takes the largest count meeting its target),
    but they show where the device's kernels fall off a fast path.

    Example: netadapt lut inversions --tolerance 0.1
    """
    from lut.inversions import find_inversions
    from netadapt.errors import UserError

    s = settings_from(LutInversions, options)
    device_id, tolerance, limit = s.device_id, s.tolerance, s.limit
    table = _open(ctx, s.lut)
    devices = table.devices.all()
    if not devices:
        click.echo("No devices measured yet.")
        return
    if device_id is None:
        if len(devices) > 1:
            raise UserError(f"the table holds {len(devices)} devices; choose one with --device-id "
                            f"({', '.join(str(d[0]) for d in devices)})")
        device_id = devices[0][0]
    elif device_id not in {d[0] for d in devices}:
        raise UserError(f"no device {device_id} in {table.label} (ids: {', '.join(str(d[0]) for d in devices)})")
    found, compared = find_inversions(((r.key, r.stats.median) for r in table.rows(device_id)), tolerance)
    click.echo(f"{len(found)} of {compared} measured channel counts are slower than a larger count of the same "
               f"layer by more than {tolerance:.0%} (device {device_id}).")
    if found:
        shown = found[:limit] if limit else found
        click.echo(format_columns(
            ["axis", "node", "count", "ms", "larger count", "ms", "slower by"],
            [[inv.axis, inv.smaller.short(), str(inv.count(inv.smaller)), f"{inv.smaller_ms:.4f}",
              str(inv.count(inv.larger)), f"{inv.larger_ms:.4f}", f"{100 * (inv.ratio - 1):.1f}%"]
             for inv in shown]))
        if len(shown) < len(found):
            click.echo(f"(worst {len(shown)}; --limit 0 shows all)")


@lut.command()
@options_of(LutCheck)
@click.pass_context
def check(ctx, **options):
    """Table estimate vs a measurement of the whole model, with the per-node breakdown.

    The model is exported and optimised for the device; the nodes it runs that the table lacks are
    measured first. When the device has a calibration (fitted on the
    whole models measured by `netadapt run`, earlier checks and bench/fidelity.py), the calibrated
    estimate is shown too. The measurement is stored and the calibration refitted.

    Example: netadapt lut check --model resnet20 --input-shape 1x3x32x32
    """
    import json

    from netadapt.cli.options import parse_input_shape
    from netadapt.errors import UserError
    from netadapt.latency import LatencyEstimator
    from netadapt.latency.calibration import Calibration, record, refit
    from netadapt.latency.check import check_model
    from netadapt.models import model_info
    from netadapt.models.spec import ModelSpec
    from profilers import ProfileConfig, get_profiler

    s = settings_from(LutCheck, options)
    model, warmup, repeats, as_json = s.model, s.warmup, s.repeats, s.as_json
    dev = s.device.usable()
    if s.checkpoint:
        from netadapt.checkpoint import load_checkpoint

        loaded = load_checkpoint(s.checkpoint)
        net, default_shape = loaded.model, loaded.input_shape
    else:
        net = ModelSpec(model, dict(s.model_args or {})).build()
        default_shape = None if ":" in model else (1, *model_info(model).default_input)
    shape = parse_input_shape(s.input_shape) if s.input_shape else default_shape
    if shape is None:
        raise UserError("--input-shape is required for a model given as module:factory")
    table = _open(ctx, s.lut)
    fp = dev.fingerprint()
    estimator = LatencyEstimator(table, dev, get_profiler(dev, ProfileConfig(warmup=warmup, repeats=repeats)),
                                 progress=not as_json)
    model_profiler = get_profiler(dev, ProfileConfig(warmup=warmup, repeats=4 * repeats))
    calibration = Calibration.load(table, fp)
    result = check_model(net.eval(), shape, estimator, model_profiler, calibration)
    if as_json:
        record(table, fp, result.breakdown, result.measured_ms, "lut check")
        refit(table, fp)
        click.echo(json.dumps({
            "table_ms": result.table_ms, "measured_ms": result.measured_ms, "error": result.error,
            "calibrated_ms": result.calibrated_ms, "calibrated_error": result.calibrated_error,
            "calibration": dict(calibration.coef) if calibration else None, "device": fp,
            "input_shape": list(shape),
            "nodes": [{"name": n, "node": k.short(), "key_id": k.key_id, "ms": ms} for n, k, ms in result.breakdown]},
            sort_keys=True))
        return
    if s.layers:
        total = result.table_ms
        click.echo(format_columns(["node", "kind", "ms", "share"],
                                  [[name, key.short(), f"{ms:.4f}", f"{100 * ms / total:.1f}%"]
                                   for name, key, ms in result.breakdown]))
    click.echo(f"table estimate {result.table_ms:.4f} ms ({result.units} nodes), measured "
               f"{result.measured_ms:.4f} ms: error {100 * result.error:+.1f}%")
    if result.calibrated_ms is not None:
        click.echo(f"calibrated estimate {result.calibrated_ms:.4f} ms: error "
                   f"{100 * result.calibrated_error:+.1f}% (calibration fitted on {calibration.models} models "
                   f"before this one: {calibration.describe()})")
    record(table, fp, result.breakdown, result.measured_ms, "lut check")
    refitted = refit(table, fp)
    click.echo(f"measurement stored; the device's calibration is refitted on {refitted.models} whole models")


@lut.command()
@options_of(LutRetake)
@click.pass_context
def retake(ctx, **options):
    """Time again the stored nodes of this machine's device whose take was unsteady.

    A node timed while other work took the CPU has samples far slower than its fastest ones: its median
    lies well above its 10th percentile. `netadapt profile` times such nodes again as it goes; this
    mends a table filled before, or on a busy machine. A row is replaced only by a take with a lower median.

    Example: netadapt lut retake --dry-run
    """
    from tqdm import tqdm

    from profilers import ProfileConfig, get_profiler

    s = settings_from(LutRetake, options)
    max_spread, limit = s.max_spread, s.limit
    dev = s.device.usable()
    table = _open(ctx, s.lut)
    config = ProfileConfig(warmup=s.warmup, repeats=s.repeats, max_spread=max_spread)
    stored = table.rows(dev)
    unsteady = [r for r in stored if config.unsteady(r.stats)]
    click.echo(f"{len(unsteady)} of {len(stored)} rows of this device ({table.label}) have a median more than "
               f"{max_spread:.0%} above their 10th percentile.")
    if not unsteady:
        return
    shown = unsteady[:limit] if limit else unsteady
    if s.dry_run:
        click.echo(format_columns(["node", "median_ms", "p10_ms", "count"],
                                  [[r.key.short(), f"{r.stats.median:.4f}", f"{r.stats.p10:.4f}", str(r.stats.count)]
                                   for r in shown]))
        return
    profiler = get_profiler(dev, config)
    changes = []
    for row in tqdm(unsteady, desc=f"timing again on {dev.name}", unit="node", dynamic_ncols=True):
        again = profiler.measure_node(row.key)
        replaced = again.median < row.stats.median
        if replaced:
            table.record(dev, row.key, again, force=True)
        changes.append((row, again, replaced))
    click.echo(format_columns(["node", "stored median_ms", "again median_ms", "p10_ms", "kept"],
                              [[r.key.short(), f"{r.stats.median:.4f}", f"{a.median:.4f}", f"{a.p10:.4f}",
                                "again" if replaced else "stored"] for r, a, replaced in changes[:len(shown)]]))
    click.echo(f"{sum(c[2] for c in changes)} of {len(changes)} rows replaced by a faster take.")
