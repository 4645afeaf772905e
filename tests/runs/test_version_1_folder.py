"""A run folder written before config.json held a settings version (tests/runs/data/version-1-run, made by
the netadapt of that time and stopped after iteration 1) still resumes, under the name it was given."""

import shutil
from pathlib import Path

import pytest

from netadapt.algorithm.loop import NetAdaptRun
from netadapt.config.run import FineTuneConfig, RunConfig
from netadapt.errors import UserError
from netadapt.runs import folder as rf

DATA = Path(__file__).resolve().parent / "data" / "version-1-run"
TESTS = Path(__file__).resolve().parents[1]


def _config(**overrides):
    return RunConfig(**{**dict(
        budget="90%", model="usermodels:residual_depthwise_net", model_kwargs={"width": 24},
        data="synthetic:classes=3,size=16,n=120,channels=1,test=30", holdout=30, device="fake", channel_step=8,
        base_epochs=1, finetune=FineTuneConfig(short_steps=2, short_lr=0.01, long_epochs=0, batch_size=32),
        warmup=0, repeats=1, model_repeats=1, seed=3, batch=1, max_iterations=1), **overrides})


def test_the_stored_settings_are_version_1():
    stored = rf.read_json(DATA / rf.CONFIG_FILE)
    assert "version" not in stored and "split_seed" not in stored and "temperature" not in stored["finetune"]
    assert RunConfig.from_dict(stored) == _config()


def test_a_version_1_folder_is_found_by_its_old_name_and_resumes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    runs = tmp_path / "runs"
    old = runs / "usermodels_residual_depthwise_net-90pct-8d5cba59"  # its default name before the version field
    shutil.copytree(DATA, old)
    assert rf.default_folder(runs, "usermodels_residual_depthwise_net-90pct", _config()) == old
    assert rf.default_folder(tmp_path / "elsewhere", "x", _config()).name == f"x-{_config().name_hash()}"

    first = (old / "iter_001" / "info.json").read_text()
    with pytest.raises(UserError, match="holds a run with other settings .*seed: 3 -> 4"):
        NetAdaptRun(_config(seed=4), old, lut=str(tmp_path / "t.db"), progress=False, log=lambda *_: None).run()
    result = NetAdaptRun(_config(max_iterations=2), old, lut=str(tmp_path / "t.db"), progress=False,
                         log=lambda *_: None).run()
    assert [it["iteration"] for it in result.iterations] == [0, 1, 2]
    assert (old / "iter_001" / "info.json").read_text() == first  # resumed, not redone
    assert "version" not in rf.read_json(old / rf.CONFIG_FILE)  # the file stays as it was written
    assert (old / "final" / "model.onnx").is_file()
