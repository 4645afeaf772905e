"""`netadapt train` takes its options from ModelSource, DataSource, TrainConfig and TrainOutput."""

import pytest

from netadapt.config.source import DataSource, ModelSource
from netadapt.errors import UserError
from netadapt.config.train import TrainConfig, TrainOutput


def test_the_train_command_takes_its_options_from_the_settings():
    from netadapt.cli.train_cmd import train
    from netadapt.config.fields import settings_of

    flags = {opt for p in train.params for opt in p.opts}
    for cls in (ModelSource, DataSource, TrainConfig, TrainOutput):
        for s in settings_of(cls):
            assert f"--{s.flag}" in flags
    resume = next(p for p in train.params if p.name == "resume")
    assert resume.secondary_opts == ["--no-resume"] and resume.default is True
    out = next(p for p in train.params if p.name == "out")
    assert out.required and not out.type.file_okay


def test_model_and_data_sources():
    assert ModelSource(model_args={"stages": [[4]]}, width_mult=0.5).kwargs() == {"stages": [[4]], "width_mult": 0.5}
    assert ModelSource().kwargs() == {}
    assert DataSource(holdout=500).load_kwargs()["holdout"] == 500
    assert isinstance(DataSource(holdout=500).load_kwargs()["holdout"], int)
    assert DataSource(holdout=0.2).load_kwargs()["holdout"] == 0.2
    with pytest.raises(UserError, match="^width_mult must be above 0, not 0$"):
        ModelSource(width_mult=0)
    with pytest.raises(UserError, match="^train_limit must be at least 1, not 0$"):
        DataSource(train_limit=0)


def test_bad_model_args_are_one_line(capsys):
    from netadapt.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--model-args", "[1, 2]", "--out", "never"])
    assert exit_.value.code == 2
    assert "must be a JSON object" in capsys.readouterr().err
