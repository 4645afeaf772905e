"""One version number for the settings a run folder stores, instead of a rule per setting.

A run folder's ``config.json`` holds every setting its run used, under ``"version"``. When netadapt gains a
setting, the folders written before it lack the key, and what their runs used is that setting's value in the
version they were written with. A settings class keeps, per version, what that version's files leave out
(with the value their runs used); :func:`upgrade` fills it in on reading, so every folder still resumes,
reports and verifies. Files written before the version field are version 1.

Default folder names hash only the settings that differ from their defaults (:func:`name_hash`), so a setting
added later, at its default, leaves every name as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from netadapt.errors import UserError

VERSION_KEY = "version"


def _fill(values: dict, left_out: Mapping) -> dict:
    """``values`` with ``left_out``'s keys it lacks (nested dicts filled key by key)."""
    out = dict(values)
    for key, value in left_out.items():
        if isinstance(value, Mapping):
            out[key] = _fill(out.get(key) or {}, value)
        elif key not in out:
            out[key] = value
    return out


def upgrade(stored: Mapping, current: int, left_out: Mapping[int, Mapping], what: str = "config.json") -> dict:
    """``stored`` settings of any earlier version as version ``current`` writes them.

    Args:
        stored: the settings as read (no version key: version 1).
        current: the version this netadapt writes.
        left_out: per version v, what a version-v file leaves out that version v+1 writes, with the value
            runs of version v used.
        what: the file, for the error.

    Raises:
        UserError: a version this netadapt does not know (a newer netadapt wrote it).
    """
    version = stored.get(VERSION_KEY, 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= current:
        raise UserError(f"{what} has settings version {version!r}; this netadapt reads versions 1 to {current} "
                        "(a newer netadapt wrote it: upgrade netadapt)")
    out = {k: v for k, v in stored.items() if k != VERSION_KEY}
    for v in range(version, current):
        out = _fill(out, left_out.get(v, {}))
    return {VERSION_KEY: current, **out}


def name_hash(values: Mapping, defaults: Mapping) -> str:
    """Eight hex digits naming a folder by the settings of ``values`` that differ from ``defaults`` (both as
    ``to_dict`` gives them; nested dicts compared key by key)."""
    return hashlib.sha256(json.dumps(_changed(values, defaults), sort_keys=True, default=str).encode()).hexdigest()[:8]


def _changed(values: Mapping, defaults: Mapping) -> dict:
    out = {}
    for key, value in values.items():
        if key == VERSION_KEY:
            continue
        default = defaults.get(key)
        if isinstance(value, Mapping) and isinstance(default, Mapping) and value and default:
            nested = _changed(value, default)
            if nested:
                out[key] = nested
        elif value != default:
            out[key] = value
    return out


def added_since_version_1(left_out: Mapping[int, Mapping]) -> dict:
    """Every setting some version's files leave out (``upgrade``'s ``left_out`` of all versions merged, nested
    dicts key by key): what version 1 did not write, for :func:`version_1_name_hash`."""
    out: dict = {}
    for version in sorted(left_out):
        out = _fill(out, left_out[version])
    return out


def version_1_name_hash(values: Mapping, left_out: Mapping) -> str:
    """The name hash of a folder made before the version field: every setting version 1 wrote (the version-1
    settings ``left_out`` dropped where they hold the value ``left_out`` gives them)."""
    return hashlib.sha256(json.dumps(_drop(values, left_out), sort_keys=True, default=str).encode()).hexdigest()[:8]


def _drop(values: Mapping, left_out: Mapping) -> dict:
    out = {}
    for key, value in values.items():
        if key == VERSION_KEY:
            continue
        if isinstance(left_out.get(key), Mapping) and isinstance(value, Mapping):
            out[key] = _drop(value, left_out[key])
        elif not (key in left_out and value == left_out[key]):
            out[key] = value
    return out
