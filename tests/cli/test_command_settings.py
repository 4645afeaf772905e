"""The smaller commands (export, verify, report, data download, agent, devices, models, the lut commands) take
their options and arguments from settings dataclasses, as run and train do; the dataclasses check the values."""

import click
import pytest

from netadapt.cli import cli, main
from netadapt.config.agent import AgentSettings
from netadapt.config.data import DownloadSettings
from netadapt.config.device import DeviceListing, DeviceSettings
from netadapt.config.export import ExportSettings
from netadapt.config.fields import same_as, setting, settings_of
from netadapt.config.lottery import LotteryRun
from netadapt.config.lut import LutCheck, LutInversions, LutRetake, LutShow, LutStats
from netadapt.config.report import ReportSettings
from netadapt.config.run import RunConfig
from netadapt.config.table import TableSettings
from netadapt.config.verify import VerifySettings
from netadapt.config.zoo import ModelListing
from netadapt.errors import UserError

SETTINGS = {("export",): ExportSettings, ("verify",): VerifySettings, ("report",): ReportSettings,
            ("data", "download"): DownloadSettings, ("agent",): AgentSettings, ("devices",): DeviceListing,
            ("models",): ModelListing, ("lut", "stats"): LutStats, ("lut", "migrate"): TableSettings,
            ("lut", "show"): LutShow, ("lut", "inversions"): LutInversions, ("lut", "check"): LutCheck,
            ("lut", "retake"): LutRetake}


def _command(path):
    command = cli
    for name in path:
        command = command.get_command(click.Context(command), name)
    return command


@pytest.mark.parametrize("path", list(SETTINGS), ids=" ".join)
def test_every_option_and_argument_comes_from_the_settings(path):
    params = [p for p in _command(path).params if p.name != "help"]
    settings = settings_of(SETTINGS[path])
    assert [p.name for p in params] == [s.name for s in settings]  # declaration order, nothing hand-written
    for p, s in zip(params, settings):
        assert isinstance(p, click.Argument) == s.argument, s.name
        if s.argument:
            assert p.required == s.required
            continue
        assert p.opts == ([f"-{s.short}"] if s.short else []) + [f"--{s.flag}"]
        assert p.help == s.help and (p.default == s.default or s.required)


def test_flags_keep_their_names_and_defaults():
    report = {p.name: p for p in _command(("report",)).params}
    assert report["out"].opts == ["-o", "--out"] and report["baseline"].default == 0
    check = {p.name: p for p in _command(("lut", "check")).params}
    assert check["layers"].secondary_opts == ["--no-layers"] and check["layers"].default is True
    assert check["json"].is_flag and check["warmup"].default == 10 and check["model"].default == "mobilenet_v1"
    assert {p.name: p.default for p in _command(("lut", "retake")).params}["limit"] == 20
    models = _command(("models",)).params[0]
    assert isinstance(models, click.Argument) and models.default == "*" and not models.required
    download = {p.name: p for p in _command(("data", "download")).params}
    assert list(download["source"].type.choices) == ["cifar10"] and download["directory"].required


def test_shared_settings_are_declared_once():
    by_name = {s.name: s for s in settings_of(RunConfig)}
    for s in settings_of(DeviceSettings):
        assert s == by_name[s.name]
    checked = {s.name: s for s in settings_of(LutCheck)}
    assert checked["threads"].path == "device.threads" and checked["lut"] == settings_of(TableSettings)[0]
    assert (checked["threads"].low, checked["threads"].high, checked["threads"].help) == \
        (by_name["threads"].low, by_name["threads"].high, by_name["threads"].help)
    listing = {s.name: s for s in settings_of(DeviceListing)}
    assert (listing["threads"].low, listing["threads"].high) == (1, 256)
    assert "fingerprints" in listing["threads"].help
    run = {s.name: s for s in settings_of(LotteryRun)}
    assert run["train_limit"].low == 2 and run["data"].default == "digits"


def test_same_as_copies_a_field_with_changes():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Source:
        n: int = setting(3, "How many.", low=1)

    @dataclass(frozen=True)
    class Copy:
        n: int = same_as(Source, "n")
        m: int = same_as(Source, "n", default=5, help="How many more.", high=9)

    n, m = settings_of(Copy)
    assert (n.default, n.help, n.low, n.high) == (3, "How many.", 1, None)
    assert (m.default, m.help, m.low, m.high) == (5, "How many more.", 1, 9)
    with pytest.raises(TypeError, match="no field 'k'"):
        same_as(Source, "k")
    with pytest.raises(TypeError, match="not keywords of setting"):
        same_as(Source, "n", lowest=0)


def test_the_settings_check_their_values():
    with pytest.raises(UserError, match="^model must be final or an iteration number, not 'last'$"):
        VerifySettings(model="last")
    assert VerifySettings(model="3").model == "3"
    with pytest.raises(UserError, match="^md5 must be 32 hex digits, not 'abc'$"):
        DownloadSettings(source="cifar10", directory="x", md5="abc")
    with pytest.raises(UserError, match="^port must be at most 65535, not 70000$"):
        AgentSettings(port=70000)
    with pytest.raises(UserError, match="^train_limit must be at least 2, not 1$"):
        LotteryRun(train_limit=1)
    with pytest.raises(UserError, match="^opset must be at least 7, not 6$"):
        ExportSettings(opset=6)
    with pytest.raises(UserError, match="^max_spread must be above 0, not 0$"):
        LutRetake(max_spread=0)
    with pytest.raises(UserError, match="^threads must be at least 1, not 0$"):
        LutCheck(device=DeviceSettings(threads=0))


@pytest.mark.parametrize("argv,needle", [
    (["verify", "{tmp}", "--model", "last"], "model must be final or an iteration number"),
    (["data", "download", "cifar10", "{tmp}/c", "--md5", "abc"], "md5 must be 32 hex digits"),
    (["export", "{tmp}/x.pt", "-o", "{tmp}/x.onnx", "--opset", "6"], "--opset"),
    (["export", "{tmp}/x.pt", "-o", "{tmp}/x.onnx", "--atol", "-1"], "--atol"),
    (["lut", "show", "--limit", "-1"], "--limit"),
    (["lut", "check", "--model-args", "[1]"], "must be a JSON object"),
    (["lottery", "--train-limit", "1"], "--train-limit"),
    (["agent", "--port", "70000"], "--port"),
])
def test_bad_values_are_one_line_with_status_2(argv, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and needle in err[0], err


def test_amc_takes_where_it_writes_and_trains_from_amc_output():
    from netadapt.amc.config import AmcConfig
    from netadapt.config.amc import AmcOutput

    params = {p.name: p for p in _command(("amc",)).params}
    for s in settings_of(AmcOutput):
        assert params[s.name].opts == [f"--{s.flag}"] and params[s.name].help == s.help
    assert params["train_device"].default == "cpu" and params["no_progress"].is_flag
    device = {s.name: s for s in settings_of(DeviceSettings)}
    assert all(s == device[s.name] for s in settings_of(AmcConfig) if s.name in device)


def test_every_option_of_run_comes_from_its_settings():
    from netadapt.config.run import ExecutionConfig
    from netadapt.config.run_command import RunCommand

    params = {p.name: p for p in _command(("run",)).params}
    declared = [s for cls in (RunCommand, RunConfig, ExecutionConfig, TableSettings) for s in settings_of(cls)]
    # --config reads a settings file (command machinery), --lut keeps its parameter name lut_url
    assert sorted(params) == sorted(["config", "lut_url"] + [s.name for s in declared if s.name != "lut"])
    own = {s.name: s for s in settings_of(RunCommand)}
    assert params["json"].opts == ["--json"] and params["json"].is_flag
    assert params["uniform_baseline"].default == 0 and params["task"].metavar == own["task"].metavar
    assert params["no_progress"].help == own["no_progress"].help


@pytest.mark.parametrize("bad, why", [("{nope", "not JSON"), ("[1]", "must be a JSON object")])
def test_run_task_args_must_be_a_json_object(bad, why, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--task", "usertasks:make_task", "--task-args", bad, "--budget", "80%"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and why in err[0] and "--task-args" in err[0], err
