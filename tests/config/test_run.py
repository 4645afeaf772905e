"""RunConfig: defaults, and settings read back from run folders made before a setting existed."""

from netadapt.config.run import RunConfig


def test_distillation_is_on_by_default_and_named_in_the_run_settings():
    cfg = RunConfig()
    assert cfg.finetune.distill == 0.5
    assert cfg.to_dict()["finetune"]["distill"] == 0.5
    assert "distill" not in RunConfig.from_dict({**cfg.to_dict(), "finetune": {"short_steps": 20}}).to_dict()[
        "finetune"]  # 0.0, the value a config.json without the key means


def test_a_config_written_before_later_settings_reads_back_as_it_ran():
    old = RunConfig().to_dict()
    del old["finetune"]["distill"]  # a run folder from before distillation existed (or was on by default)
    cfg = RunConfig.from_dict(old)
    assert cfg.finetune.distill == 0.0 and cfg.finetune.temperature == 4.0
    assert cfg.score == "accuracy" and cfg.bn_batches == 0 and cfg.split_seed == 0
    assert cfg.to_dict() == old  # so its folder name and stored settings are unchanged
    assert RunConfig.from_dict(RunConfig(bn_batches=5).to_dict()).bn_batches == 5
