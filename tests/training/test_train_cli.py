"""``netadapt train`` and ``netadapt export`` end to end on tiny synthetic data."""

import json

import onnx
import pytest
import torch
from click.testing import CliRunner

from netadapt.checkpoint import load_checkpoint
from netadapt.cli import cli, main
from netadapt.training import load_rewind

DATA = "synthetic:classes=3,size=16,n=90,test=30,noise=0.2"


def _train(out, *extra):
    return CliRunner().invoke(cli, ["train", "--model", "digits_cnn", "--width-mult", "0.25", "--data", DATA,
                                    "--holdout", "10", "--epochs", "2", "--batch-size", "20", "--lr", "0.05",
                                    "--rewind-iteration", "3", "--no-progress", "--out", str(out), *extra])


def test_train_writes_checkpoint_rewind_and_report_then_export(tmp_path):
    out = tmp_path / "run"
    result = _train(out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["last.pt", "model.pt", "rewind_3.pt", "train.json"]
    report = json.loads((out / "train.json").read_text())
    assert f"Test accuracy: {report['test_accuracy']:.4f}" in result.output
    assert [h["epoch"] for h in report["history"]] == [1, 2]
    loaded = load_checkpoint(out / "model.pt")
    assert loaded.spec.kwargs == {"num_classes": 3, "in_channels": 1, "width_mult": 0.25}
    assert loaded.extra["input_shape"] == [1, 1, 16, 16]
    assert load_rewind(out / "rewind_3.pt")["iteration"] == 3
    for name, tensor in load_rewind(out / "rewind_3.pt")["state_dict"].items():
        if name.endswith("weight") and tensor.ndim == 4:
            assert not torch.equal(tensor, loaded.model.state_dict()[name])

    # a second identical command resumes from last.pt and trains nothing
    again = _train(out)
    assert again.exit_code == 0 and "epoch 1/2" not in again.output

    onnx_path = tmp_path / "m.onnx"
    exported = CliRunner().invoke(cli, ["export", str(out / "model.pt"), "-o", str(onnx_path)])
    assert exported.exit_code == 0, exported.output
    assert "max |ONNX Runtime - PyTorch|" in exported.output
    dims = [d.dim_value for d in onnx.load(str(onnx_path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, 16, 16]
    exported = CliRunner().invoke(cli, ["export", str(out / "model.pt"), "-o", str(onnx_path),
                                        "--input-shape", "4x1x16x16"])
    assert exported.exit_code == 0, exported.output
    assert [d.dim_value for d in onnx.load(str(onnx_path)).graph.input[0].type.tensor_type.shape.dim][0] == 4


@pytest.mark.parametrize("argv,message", [
    (["train", "--data", "nope", "--out", "{tmp}/x"], "unknown data source"),
    (["train", "--model", "resnet99", "--data", DATA, "--out", "{tmp}/x"], "unknown model"),
    (["train", "--data", DATA, "--schedule", "step", "--out", "{tmp}/x"], "'step' is not one of"),
    (["export", "{tmp}/missing.pt", "-o", "{tmp}/m.onnx"], "does not exist"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main([a.format(tmp=tmp_path) for a in argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
