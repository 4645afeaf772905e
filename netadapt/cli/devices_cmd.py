"""``netadapt devices``: which devices exist, whether they run here, and their identity."""

from __future__ import annotations

import json

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.device import DeviceListing


def format_columns(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned text columns under a header and a rule."""
    widths = [max(len(str(v)) for v in col) for col in zip(headers, *rows)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines)


def fingerprint_summary(fp: dict) -> str:
    """One line: hardware, provider, threads, ONNX Runtime version."""
    parts = [fp.get("gpu") or fp.get("processor") or fp.get("kind", "?")]
    if "provider" in fp:
        parts.append(str(fp["provider"]).replace("ExecutionProvider", ""))
    threads = fp.get("intra_op_threads", fp.get("threads"))
    if threads is not None:
        parts.append(f"{threads} thread{'s' if threads != 1 else ''}")
    if "onnxruntime" in fp:
        parts.append(f"ort {fp['onnxruntime']}")
    return ", ".join(str(p) for p in parts)


@click.command()
@options_of(DeviceListing)
def devices(**options):
    """List devices: available here or not (and why), and the fingerprint that keys their table rows."""
    from devices import get_device, list_devices
    from netadapt.errors import UserError

    s = settings_from(DeviceListing, options)
    rows = []
    for name in list_devices():
        try:
            dev = get_device(name, threads=s.threads, gpu_id=s.gpu_id)
            ok, why = dev.available()
            fp = dev.fingerprint()
        except UserError as exc:  # a broken plug-in must not hide the others
            rows.append({"name": name, "available": False, "reason": str(exc), "fingerprint": {}})
            continue
        rows.append({"name": name, "available": ok, "reason": why, "fingerprint": fp,
                     "fingerprint_id": dev.fingerprint_id()})
    if s.as_json:
        for row in rows:
            click.echo(json.dumps(row, sort_keys=True))
        return
    table = [[r["name"], "yes" if r["available"] else "no", r.get("fingerprint_id", ""),
              fingerprint_summary(r["fingerprint"]) if r["fingerprint"] else "", r["reason"]] for r in rows]
    click.echo(format_columns(["device", "available", "fingerprint", "identity", "reason"], table))
