"""PruneSettings / StartSettings / ShortFineTune: `netadapt prune` takes its options from them; checked where made."""

import pytest

from netadapt.config.start import ShortFineTune, StartSettings
from netadapt.errors import UserError
from netadapt.config.prune import PruneSettings


def test_the_prune_command_takes_its_options_from_the_settings():
    from netadapt.cli.prune_cmd import prune
    from netadapt.config.fields import settings_of

    flags = {opt for p in prune.params for opt in p.opts}
    for cls in (StartSettings, PruneSettings, ShortFineTune):
        for s in settings_of(cls):
            assert f"--{s.flag}" in flags
    output = next(p for p in prune.params if p.name == "output")
    assert output.opts == ["-o", "--output"] and output.required
    ratios = next(p for p in prune.params if p.name == "ratios")
    assert ratios.type.exists and not ratios.type.dir_okay


def test_exactly_one_of_ratios_and_target():
    with pytest.raises(UserError, match="^give exactly one of --ratios FILE and --target FRACTION$"):
        PruneSettings(output="x.pt")
    with pytest.raises(UserError, match="^give exactly one of"):
        PruneSettings(ratios="r.json", target=0.5, output="x.pt")
    assert PruneSettings(target=0.5, output="x.pt").steps == 1


def test_bounds():
    with pytest.raises(UserError, match="^target must be below 1, not 1.0$"):
        PruneSettings(target=1.0)
    with pytest.raises(UserError, match="^steps must be at least 1, not 0$"):
        PruneSettings(target=0.5, steps=0)
    with pytest.raises(UserError, match="^lr must be above 0, not 0$"):
        ShortFineTune(lr=0)
    with pytest.raises(UserError, match="^holdout must be at least 0, not -0.1$"):
        StartSettings(holdout=-0.1)
    assert ShortFineTune().as_kwargs(augment=None) == {"lr": 0.01, "batch_size": 64, "augment": None}


def test_the_command_line_refuses_both_in_one_line(tmp_path, capsys):
    from netadapt.cli import main

    ckpt = tmp_path / "base.pt"
    ckpt.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        main(["prune", "--checkpoint", str(ckpt), "-o", str(tmp_path / "p.pt")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("give exactly one of --ratios FILE and --target FRACTION") and "\n" not in err
    assert list(tmp_path.iterdir()) == [ckpt]
