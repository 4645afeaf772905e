"""Settings of ``netadapt export``: which checkpoint, where the ONNX file goes, and how closely it must agree."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class ExportSettings:
    """A checkpoint to an ONNX file, checked against PyTorch in ONNX Runtime."""

    checkpoint: str | None = setting(None, "Checkpoint from netadapt train or run.", required=True, file=True,
                                     argument=True)
    output: str | None = setting(None, "The .onnx file to write.", required=True, file=True, short="o")
    input_shape: str | None = setting(None, "Input shape (default: the checkpoint's, else the model's default input "
                                            "with batch 1).", metavar="NxCxHxW")
    opset: int = setting(17, "ONNX opset version.", low=7, high=30)
    atol: float = setting(1e-4, "Absolute tolerance of the check.", low=0)
    rtol: float = setting(1e-3, "Relative tolerance of the check.", low=0)

    def __post_init__(self):
        check(self)
