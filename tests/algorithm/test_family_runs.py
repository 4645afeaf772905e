"""A short `netadapt run --budget 80%` on the fake device for every architecture family: it must come out
smaller, meet its budget as measured, and export an ONNX model that matches PyTorch.

Two families (a residual network and DenseNet's concatenations) run with the default tests; the others,
which take from five seconds to over a minute each, run with the slow tests.
"""

import json

import pytest
from click.testing import CliRunner

from families import FAMILIES
from netadapt.checkpoint import load_checkpoint
from netadapt.cli import cli
from netadapt.export import verify_onnx

DEFAULT = {"resnet18", "densenet"}


def run_family(name, tmp_path, size=None):
    target, (c, h, _) = FAMILIES[name]
    h = size or h
    out = tmp_path / "run"
    args = ["run", "--budget", "80%", "--model", target, "--device", "fake", "--batch", "64",
            "--data", f"synthetic:classes=4,size={h},n=32,channels={c},test=16", "--holdout", "16",
            "--base-epochs", "1", "--short-term-steps", "1", "--long-term-epochs", "0", "--batch-size", "16",
            "--initial-reduction", "0.1", "--reduction-floor", "0.1", "--warmup", "0", "--repeats", "1",
            "--model-repeats", "1", "--no-progress", "--out", str(out), "--lut", str(tmp_path / "lut.db")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads((out / "summary.json").read_text())
    final = summary["final"]
    assert summary["stopped"] == "budget met" and final["budget_met"]
    assert final["measured_ms"] <= summary["budget_ms"]
    start = summary["iterations"][0]
    assert final["measured_ms"] < start["measured_ms"]
    assert sum(final["channels"].values()) < start["total_channels"]
    model = load_checkpoint(out / "final" / "model.pt").model
    verify_onnx(model, out / "final" / "model.onnx", (64, c, h, h))
    return summary


@pytest.mark.parametrize("name", [n if n in DEFAULT else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(FAMILIES)])
def test_a_short_run_meets_80_percent(name, tmp_path):
    run_family(name, tmp_path)


@pytest.mark.slow
def test_vgg_at_64x64_pools_2x2_features_to_7x7_and_exports(tmp_path):
    """torchvision's VGG at a small input: its (7, 7) adaptive pool does not divide the 2x2 features."""
    run_family("vgg11_bn", tmp_path, size=64)
