"""``netadapt export``: a checkpoint to a verified ONNX file."""

from __future__ import annotations

import click


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .onnx file to write.")
@click.option("--input-shape", default=None, metavar="NxCxHxW",
              help="Input shape (default: the checkpoint's, else the model's default input with batch 1).")
@click.option("--opset", type=click.IntRange(7, 30), default=17, show_default=True, help="ONNX opset version.")
@click.option("--atol", type=float, default=1e-4, show_default=True, help="Absolute tolerance of the check.")
@click.option("--rtol", type=float, default=1e-3, show_default=True, help="Relative tolerance of the check.")
def export(checkpoint, output, input_shape, opset, atol, rtol):
    """Export CHECKPOINT (from netadapt train or run) to ONNX, and check it against PyTorch in ONNX Runtime."""
    from netadapt.checkpoint import load_checkpoint
    from netadapt.cli.options import parse_input_shape
    from netadapt.export import OnnxMismatchError, export_onnx, verify_onnx

    loaded = load_checkpoint(checkpoint)
    shape = parse_input_shape(input_shape) if input_shape else default_shape(loaded)
    path = export_onnx(loaded.model, output, shape, verify=False, opset=opset)
    try:
        diff = verify_onnx(loaded.model, path, shape, atol=atol, rtol=rtol)
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
