"""Pruning by ratios: channel counts per round, one shot and iterative, checkpoints that load and export."""

import json

import pytest
import torch
from click.testing import CliRunner
from conftest import DATA

from netadapt.checkpoint import load_checkpoint
from netadapt.cli import cli
from netadapt.criteria import create_criterion
from netadapt.errors import UserError
from netadapt.export import export_onnx
from netadapt.iterative import counts_for, iterative_prune, kept_count, params_at, read_ratios
from netadapt.pruning import analyze

SHAPE = (1, 1, 16, 16)


def test_kept_count_rounds_and_keeps_one():
    assert [kept_count(8, r) for r in (0.0, 0.25, 0.5, 0.9, 0.99)] == [8, 6, 4, 1, 1]
    assert kept_count(10, 0.25) == 8  # 7.5 rounds up
    with pytest.raises(UserError):
        kept_count(8, 1.0)


def test_iterative_rounds_follow_the_ratio_schedule(checkpoint):
    model = load_checkpoint(checkpoint).model
    graph = analyze(model, SHAPE)
    ratios = {"features.0.0": 0.5, "features.4.0": 0.75}
    assert params_at(model, graph, counts_for(graph, ratios)) < sum(p.numel() for p in model.parameters())
    rounds = iterative_prune(model, SHAPE, ratios, create_criterion("l2"), steps=3)
    got = [(r.channels["features.0.0"], r.channels["features.4.0"], r.channels["features.6.0"]) for r in rounds]
    assert got == [(8, 16, 32), (7, 12, 32), (5, 8, 32), (4, 4, 32)]
    assert rounds[-1].params == sum(p.numel() for p in model.parameters())
    with pytest.raises(UserError, match="unknown channel group"):
        iterative_prune(model, SHAPE, {"nope": 0.5}, create_criterion("l2"))


def _invoke(args):
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    return result


def test_prune_command_in_rounds_writes_a_smaller_checkpoint_that_exports(checkpoint, tmp_path):
    ratios = tmp_path / "ratios.json"
    ratios.write_text(json.dumps({"ratios": {"features.0.0": 0.5, "features.4.0": 0.25}}))
    out = tmp_path / "pruned.pt"
    result = _invoke(["prune", "--checkpoint", str(checkpoint), "--data", DATA, "--holdout", "30",
                      "--ratios", str(ratios), "--steps", "2", "--finetune-steps", "2", "--batch-size", "16",
                      "-o", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    loaded = load_checkpoint(out)
    assert analyze(loaded.model, SHAPE).sizes() == {"features.0.0": 4, "features.1.0": 8, "features.3.0": 16,
                                                    "features.4.0": 12, "features.6.0": 32, "features.7.0": 32}
    report = json.loads(out.with_suffix(".json").read_text())
    assert [r["channels"]["features.0.0"] for r in report["rounds"]] == [8, 6, 4]
    assert all(0 <= r["test_accuracy"] <= 1 for r in report["rounds"])
    assert export_onnx(loaded.model, tmp_path / "pruned.onnx", SHAPE).is_file()
    assert read_ratios(ratios) == {"features.0.0": 0.5, "features.4.0": 0.25}


def test_prune_command_uniform_target_and_errors(checkpoint, tmp_path):
    out = tmp_path / "half.pt"
    result = _invoke(["prune", "--checkpoint", str(checkpoint), "--data", DATA, "--holdout", "30",
                      "--target", "0.5", "-o", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    sizes = analyze(load_checkpoint(out).model, SHAPE).sizes()
    assert sizes == {"features.0.0": 4, "features.1.0": 4, "features.3.0": 8, "features.4.0": 8,
                     "features.6.0": 16, "features.7.0": 16}
    both = _invoke(["prune", "--checkpoint", str(checkpoint), "--data", DATA, "--target", "0.5",
                    "--ratios", str(tmp_path / "half.json"), "-o", str(out)])
    assert isinstance(both.exception, UserError) and "exactly one" in str(both.exception)
    wrong = _invoke(["prune", "--checkpoint", str(checkpoint), "--model", "vgg11", "--data", DATA,
                     "--target", "0.5", "-o", str(out)])
    assert isinstance(wrong.exception, UserError) and "DigitsCNN" in str(wrong.exception)


def test_taylor_criterion_prunes_with_data(checkpoint):
    from netadapt.criteria.registry import CRITERIA
    from netadapt.data import load_data

    model = load_checkpoint(checkpoint).model
    data = load_data(DATA, holdout=0)
    rounds = iterative_prune(model, SHAPE, {"features.1.0": 0.5}, CRITERIA.create("taylor"), train=data.train)
    assert rounds[-1].channels["features.1.0"] == 4
    assert torch.isfinite(model(torch.zeros(SHAPE))).all()
