"""``netadapt lut``: inspect the latency lookup table."""

from __future__ import annotations

import click

from netadapt.cli.options import lut_option
from lut.signature import OPS


def _open(ctx, lut_url):
    from lut.table import LatencyTable

    table = LatencyTable(lut_url)
    ctx.call_on_close(table.close)
    return table


@click.group()
def lut():
    """Inspect the latency lookup table (fill it with `netadapt profile`)."""


@lut.command()
@lut_option
@click.pass_context
def stats(ctx, lut_url):
    """Per device: fingerprint, hardware, provider, threads and rows per op."""
    from devices.base import fingerprint_id_of
    from netadapt.cli.devices_cmd import format_columns

    table = _open(ctx, lut_url)
    click.echo(f"Table: {table.label}")
    devices = table.devices()
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
@lut_option
@click.option("--device-id", type=int, default=None, help="Only this device (ids from `netadapt lut stats`).")
@click.option("--op", type=click.Choice(OPS), default=None, help="Only this layer op.")
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True, help="At most this many rows (0: all).")
@click.pass_context
def show(ctx, lut_url, device_id, op, limit):
    """Stored measurements: signature and latency statistics in milliseconds."""
    from netadapt.cli.devices_cmd import format_columns

    table = _open(ctx, lut_url)
    found = table.rows(device_id, op=op, limit=limit or None)
    if not found:
        click.echo("No rows.")
        return
    rows = [[str(r.device_id), r.sig.short(), f"{r.stats.median:.4f}", f"{r.stats.p10:.4f}",
             f"{r.stats.p90:.4f}", str(r.stats.count)] for r in found]
    click.echo(format_columns(["device", "signature", "median_ms", "p10_ms", "p90_ms", "count"], rows))
    if limit and len(found) == limit:
        click.echo(f"(first {limit} rows; --limit 0 shows all)")
