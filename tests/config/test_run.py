"""RunConfig: defaults, settings read back from run folders of every settings version, default folder names,
and the one declaration each setting has (option, help, bounds)."""

import pytest

from netadapt.config.run import ExecutionConfig, FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule


def test_distillation_is_on_by_default_and_every_setting_is_stored_with_the_version():
    cfg = RunConfig()
    assert cfg.finetune.distill == 0.5
    stored = cfg.to_dict()
    assert stored["version"] == 3 and stored["finetune"]["distill"] == 0.5 and stored["split_seed"] == 0
    assert stored["finetune"]["reconstruct"] == 0
    assert RunConfig.from_dict(stored) == RunConfig(model_kwargs={})


def test_a_version_2_config_reads_back_without_reconstruction():
    old = RunConfig(finetune=FineTuneConfig(short_steps=5)).to_dict()
    old["version"] = 2
    del old["finetune"]["reconstruct"]
    cfg = RunConfig.from_dict(old)
    assert cfg.finetune.reconstruct == 0 and cfg.finetune.short_steps == 5


def test_a_version_1_config_reads_back_as_its_run_ran():
    # what a run folder made before the version field holds: no "version", and the settings added after
    # folders were first named left out at the value those runs used ("distill" was 0.0 then)
    old = {k: v for k, v in RunConfig().to_dict().items()
           if k not in ("version", "score", "bn_batches", "split_seed", "search")}
    old["finetune"] = {k: v for k, v in old["finetune"].items()
                       if k not in ("distill", "temperature", "long_steps", "reconstruct")}
    cfg = RunConfig.from_dict(old)
    assert cfg.finetune.distill == 0.0 and cfg.finetune.temperature == 4.0 and cfg.finetune.long_steps is None
    assert cfg.score == "accuracy" and cfg.bn_batches == 0 and cfg.split_seed == 0 and cfg.search == "netadapt"
    assert RunConfig.from_dict({**old, "bn_batches": 5}).bn_batches == 5  # written when not the default
    # the folder name such a run got by default is still found (runs.folder.default_folder)
    assert cfg.version_1_name_hash() == _old_config_hash(old)


def _old_config_hash(config):
    import hashlib
    import json

    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]


def test_a_config_of_a_newer_version_is_refused_in_one_line():
    from netadapt.errors import UserError

    with pytest.raises(UserError, match=r"^config.json has settings version 4; this netadapt reads versions 1 to 3 "
                                        r"\(a newer netadapt wrote it: upgrade netadapt\)$"):
        RunConfig.from_dict({**RunConfig().to_dict(), "version": 4})
    with pytest.raises(UserError, match="settings version 'two'"):
        RunConfig.from_dict({**RunConfig().to_dict(), "version": "two"})


def test_default_names_hash_only_the_settings_that_differ_from_the_defaults():
    from netadapt.config.version import name_hash

    a = RunConfig(budget="50%", seed=3)
    assert a.name_hash() == name_hash({"budget": "50%", "seed": 3}, {})
    assert a.name_hash() != RunConfig(budget="50%").name_hash()
    # a setting added later at its default leaves the name as it was
    assert name_hash({**a.to_dict(), "new_setting": 1}, {**RunConfig().to_dict(), "new_setting": 1}) == a.name_hash()
    assert RunConfig(finetune=FineTuneConfig(short_steps=3)).name_hash() == name_hash(
        {"finetune": {"short_steps": 3}}, {})


def test_every_setting_is_declared_once_with_its_flag_help_and_bounds():
    from netadapt.config.fields import settings_of
    from netadapt.config.run import OPTION_NAMES, SETTINGS

    flags = [s.flag for s in SETTINGS]
    assert len(flags) == len(set(flags)) == len(OPTION_NAMES)
    assert all(s.help for s in SETTINGS)
    assert OPTION_NAMES["finetune.short_steps"] == "short-term-steps"
    assert OPTION_NAMES["schedule.initial"] == "initial-reduction"
    assert [s.flag for s in settings_of(ExecutionConfig)] == ["workers", "executor", "ray-address", "train-device"]


def test_bounds_and_choices_are_checked_where_the_settings_are_made():
    from netadapt.errors import UserError

    with pytest.raises(UserError, match="^channel_step must be at least 1, not 0$"):
        RunConfig(channel_step=0)
    with pytest.raises(UserError, match="^selection must be one of accuracy, efficiency, not 'best'$"):
        RunConfig(selection="best")
    with pytest.raises(UserError, match="^initial_reduction must be below 1, not 1.5$"):
        ReductionSchedule(initial=1.5)
    with pytest.raises(UserError, match="^distill_temperature must be above 0"):
        FineTuneConfig(temperature=0.0)
    with pytest.raises(UserError, match="^workers must be at least 1"):
        ExecutionConfig(workers=0)
    RunConfig(eval_limit=None, checkpoint=None)  # optional settings take None


def test_from_options_nests_the_keywords_the_command_line_uses():
    config = RunConfig.from_options({"budget": "50%", "short_term_steps": 3, "initial_reduction": 0.1,
                                     "model_args": {"width": 8}, "unknown": 1})
    assert config.budget == "50%" and config.finetune.short_steps == 3 and config.schedule.initial == 0.1
    assert config.model_kwargs == {"width": 8} and config.finetune.long_lr == FineTuneConfig().long_lr


def test_the_run_command_is_made_from_the_settings():
    from click.testing import CliRunner

    from netadapt.cli import cli
    from netadapt.cli.run_cmd import run as command
    from netadapt.config.fields import settings_of
    from netadapt.config.run import SETTINGS

    flags = {o for p in command.params for o in p.opts}
    assert {"--" + s.flag for s in SETTINGS + settings_of(ExecutionConfig)} <= flags
    option = next(p for p in command.params if "--channel-step" in p.opts)
    assert option.default == RunConfig().channel_step and option.help == next(
        s.help for s in SETTINGS if s.flag == "channel-step")
    out = CliRunner().invoke(cli, ["run", "--budget", "50%", "--channel-step", "0"])
    assert out.exit_code == 2 and "0 is not in the range 1<=x<=4096" in out.output


def test_the_old_import_path_still_gives_the_settings_with_a_deprecation_warning():
    import importlib
    import sys

    sys.modules.pop("netadapt.algorithm.config", None)
    with pytest.warns(DeprecationWarning, match="import RunConfig and its parts from netadapt.config"):
        old = importlib.import_module("netadapt.algorithm.config")
    assert old.RunConfig is RunConfig and old.FineTuneConfig is FineTuneConfig
