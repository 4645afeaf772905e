"""`netadapt run --config`: settings from a TOML file, command-line options winning, a run folder's
settings reading back in, and a wrong key or type named in one line."""

import json
from pathlib import Path

import pytest

from netadapt.cli import main

TESTS = Path(__file__).resolve().parents[1]
SMALL = ["--device", "fake", "--data", "synthetic:classes=3,size=16,n=60,channels=1,test=20", "--holdout", "20",
         "--batch", "16", "--warmup", "0", "--repeats", "1", "--model-repeats", "1", "--base-epochs", "1",
         "--short-term-steps", "1", "--long-term-epochs", "0", "--no-progress", "--max-iterations", "1"]


def _main(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


@pytest.fixture(autouse=True)
def _models(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("NETADAPT_LUT", str(tmp_path / "lut.db"))


def test_settings_come_from_the_file_and_the_command_line_wins(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text('budget = "95%"\nmodel = "usermodels:residual_depthwise_net"\nmodel-args = \'{"width": 16}\'\n'
                    'seed = 4\nchannel_step = 4\n')
    code, out, err = _main(["run", "--config", str(toml), *SMALL, "--seed", "5", "--out", str(tmp_path / "r")],
                           capsys)
    assert code == 0, err
    stored = json.loads((tmp_path / "r" / "config.json").read_text())
    assert stored["budget"] == "95%" and stored["channel_step"] == 4 and stored["seed"] == 5
    assert stored["model_kwargs"] == {"width": 16}
    # the run folder's own settings read back in (its run.toml, or its config.json) give the same run
    for settings in (tmp_path / "r" / "run.toml", tmp_path / "r" / "config.json"):
        code, out, err = _main(["run", "--config", str(settings), "--out", str(tmp_path / "r")], capsys)
        assert code == 0, err
        assert json.loads((tmp_path / "r" / "config.json").read_text()) == stored


@pytest.mark.parametrize("text,needle", [
    ('budget = "90%"\nbudgt = "1ms"\n', "unknown key 'budgt'"),
    ('budget = "90%"\nseed = "five"\n', "'seed'"),
    ('budget = "90%\n', "not TOML"),
    ('budget = "90%"\nno-progress = 3\n', "true or false"),
])
def test_a_wrong_key_or_type_is_one_line_naming_it(tmp_path, capsys, text, needle):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    code, out, err = _main(["run", "--config", str(toml), "--out", str(tmp_path / "r")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], err
    assert not (tmp_path / "r").exists()


def test_run_json_prints_the_summary_alone_on_stdout(tmp_path, capsys):
    code, out, err = _main(["run", "--budget", "95%", "--model", "usermodels:residual_depthwise_net", *SMALL,
                            "--out", str(tmp_path / "r"), "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["final"]["budget_met"] in (True, False) and summary["iterations"][0]["iteration"] == 0
    assert "Run folder" in err and "Start:" in err
