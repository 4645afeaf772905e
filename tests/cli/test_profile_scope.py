"""`netadapt profile` measures what the first iteration of a run will look at: a run on that table then
times no node on the spot before its second iteration."""

import json
import re

import torch
from click.testing import CliRunner

from netadapt.checkpoint import save_checkpoint
from netadapt.cli import cli
from netadapt.models import create_model
from netadapt.models.spec import ModelSpec


def test_a_first_iteration_profile_leaves_nothing_for_the_first_iteration_to_measure(tmp_path):
    torch.manual_seed(0)
    spec = ModelSpec("resnet20", {"num_classes": 3, "in_channels": 3, "width_mult": 0.5})
    ckpt = save_checkpoint(tmp_path / "r20.pt", create_model("resnet20", **spec.kwargs), spec, (1, 3, 16, 16))
    lut = str(tmp_path / "lut.db")
    result = CliRunner().invoke(cli, ["profile", "--device", "fake", "--checkpoint", str(ckpt), "--input-shape",
                                      "32x3x16x16", "--no-progress", "--lut", lut])
    assert result.exit_code == 0, result.output
    networks, written, joint, nodes = map(int, re.search(
        r"(\d+) networks \((\d+) written rather than exported; (\d+) more exported with every group cut, to "
        r"learn how\), (\d+) nodes measured", result.output).groups())
    assert networks > 5 and nodes > 20 and 0 < written < networks and joint == 3
    assert re.search(r"overhead [\d.]+x the timed runs: exporting [\d.]+ s", result.output)
    run = CliRunner().invoke(cli, ["run", "--budget", "90%", "--checkpoint", str(ckpt), "--device", "fake",
                                   "--data", "synthetic:classes=3,size=16,n=60,channels=3,test=20", "--holdout", "20",
                                   "--max-iterations", "1", "--short-term-steps", "1", "--long-term-epochs", "0",
                                   "--warmup", "0", "--repeats", "1", "--model-repeats", "1", "--no-progress",
                                   "--out", str(tmp_path / "run"), "--lut", lut])
    assert run.exit_code == 0, run.output
    first = json.loads((tmp_path / "run" / "iter_001" / "info.json").read_text())
    assert first["nodes_measured_on_the_spot"] == 0
    again = CliRunner().invoke(cli, ["profile", "--device", "fake", "--checkpoint", str(ckpt), "--input-shape",
                                     "32x3x16x16", "--no-progress", "--lut", lut])
    assert "0 nodes measured" in again.output
