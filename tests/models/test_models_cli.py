from click.testing import CliRunner

from netadapt.cli import cli
from netadapt.models import list_models


def test_models_lists_every_zoo_entry_with_its_input():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["model", "task", "input", "description"]
    rows = {line.split()[0]: line.split()[1:3] for line in lines[2:]}
    assert sorted(rows) == list_models()
    assert rows["digits_cnn"] == ["classification", "1x32x32"] and rows["resnet56"] == ["classification", "3x32x32"]
    assert rows["yolo_tiny"] == ["detection", "3x96x96"] and rows["lraspp_tiny"] == ["segmentation", "3x64x64"]


def test_models_filters_by_pattern():
    result = CliRunner().invoke(cli, ["models", "mobilenet*"])
    assert [line.split()[0] for line in result.output.splitlines()[2:]] == ["mobilenet_v1", "mobilenet_v2"]
    assert "No zoo model" in CliRunner().invoke(cli, ["models", "xyz*"]).output
