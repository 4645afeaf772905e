"""SensitivitySettings: `netadapt sensitivity` takes its options from it; ratios and choices checked where made."""

import pytest

from netadapt.errors import UserError
from netadapt.config.sensitivity import SensitivitySettings, parse_ratios


def test_the_sensitivity_command_takes_its_options_from_the_settings():
    from netadapt.cli.sensitivity_cmd import sensitivity
    from netadapt.config.fields import settings_of

    flags = {opt for p in sensitivity.params for opt in p.opts}
    for s in settings_of(SensitivitySettings):
        assert f"--{s.flag}" in flags
    for flag in ("--device", "--threads", "--gpu-id", "--lut", "--checkpoint", "--finetune-steps", "--task"):
        assert flag in flags
    out = next(p for p in sensitivity.params if p.name == "out")
    assert not out.type.file_okay


def test_ratios_parse_sorted_and_bounded():
    assert parse_ratios("0.3, 0,0.1,0.3") == [0.0, 0.1, 0.3]
    assert SensitivitySettings().ratio_list == [round(0.1 * i, 1) for i in range(10)]
    with pytest.raises(UserError, match="fractions must lie in"):
        SensitivitySettings(ratios="0,1")
    with pytest.raises(UserError, match="expected comma-separated fractions"):
        SensitivitySettings(ratios="0,a")


def test_at_most_one_way_to_choose_ratios():
    with pytest.raises(UserError, match="^give at most one of --threshold, --target-params and --target-latency$"):
        SensitivitySettings(threshold=0.02, target_latency="50%")
    with pytest.raises(UserError, match="^target_params must be above 0"):
        SensitivitySettings(target_params=0)
    assert SensitivitySettings(threshold=0.0).threshold == 0.0
