"""ProfileSettings: `netadapt profile`'s options come from its fields, bounds checked where they are made."""

import pytest

from netadapt.config.profile import ProfileSettings
from netadapt.errors import UserError


def test_the_profile_command_takes_its_options_from_the_settings():
    from netadapt.cli.profile_cmd import profile
    from netadapt.config.fields import settings_of

    flags = {opt for p in profile.params for opt in p.opts}
    for s in settings_of(ProfileSettings):
        assert f"--{s.flag}" in flags
    force = next(p for p in profile.params if p.name == "force")
    assert force.is_flag and force.secondary_opts == []  # a switch, as before: no --no-force
    shape = next(p for p in profile.params if p.name == "input_shape")
    assert shape.metavar == "NxCxHxW"


def test_bounds_are_checked_where_the_settings_are_made():
    with pytest.raises(UserError, match="^channel_step must be at least 1, not 0$"):
        ProfileSettings(channel_step=0)
    with pytest.raises(UserError, match="^scope must be one of first-iteration, grid"):
        ProfileSettings(scope="all")
    assert ProfileSettings().warmup == 2 and ProfileSettings(limit=None).limit is None
