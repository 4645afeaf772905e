"""``netadapt export``: a checkpoint to a verified ONNX file."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.export import ExportSettings


@click.command()
@options_of(ExportSettings)
def export(**options):
    """Export CHECKPOINT (from netadapt train or run) to ONNX, and check it against PyTorch in ONNX Runtime."""
    from netadapt.checkpoint import load_checkpoint
    from netadapt.cli.options import parse_input_shape
    from netadapt.export import OnnxMismatchError, export_onnx, verify_onnx

    s = settings_from(ExportSettings, options)
    loaded = load_checkpoint(s.checkpoint)
    shape = parse_input_shape(s.input_shape) if s.input_shape else default_shape(loaded)
    path = export_onnx(loaded.model, s.output, shape, verify=False, opset=s.opset)
    try:
        diff = verify_onnx(loaded.model, path, shape, atol=s.atol, rtol=s.rtol)
    except OnnxMismatchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {path} (input {'x'.join(map(str, shape))}); "
               f"max |ONNX Runtime - PyTorch| = {diff:.3g}")


def default_shape(loaded) -> tuple[int, ...]:
    """The checkpoint's input shape, else ``extra["input_shape"]``, else the zoo default with batch 1."""
    from netadapt.errors import UserError
    from netadapt.models import model_info

    shape = getattr(loaded, "input_shape", None) or loaded.extra.get("input_shape")
    if shape:
        return tuple(int(d) for d in shape)
    if ":" in loaded.spec.name:
        raise UserError(f"model {loaded.spec.name} has no default input; pass --input-shape NxCxHxW")
    return (1, *model_info(loaded.spec.name).default_input)
