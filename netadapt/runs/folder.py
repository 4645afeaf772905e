"""Run folders: one sub-folder per iteration, each published atomically, and a guarded config.

An iteration folder is written under a temporary name and renamed into place only when complete, so
a folder named ``iter_NNN`` is always whole. Re-running a command resumes from the last whole one;
re-running with different settings is refused rather than silently mixing two experiments.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from netadapt.errors import UserError

CONFIG_FILE = "config.json"


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]


def default_folder(parent: Path, stem: str, config) -> Path:
    """``parent/<stem>-<hash>``, the folder a run is named by default: ``config`` (settings with ``name_hash``
    and ``version_1_name_hash``) names it, and the same settings' folder from before the version field is
    used when only it exists, so a command run again resumes there."""
    new = Path(parent) / f"{stem}-{config.name_hash()}"
    old = Path(parent) / f"{stem}-{config.version_1_name_hash()}"
    return old if old.is_dir() and not new.exists() else new


def write_json(path: Path, obj) -> Path:
    """Write JSON atomically (temporary file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def iteration_dir(run: Path, i: int) -> Path:
    return Path(run) / f"iter_{i:03d}"


def partial_dir(run: Path, i: int) -> Path:
    return Path(run) / f"iter_{i:03d}.partial"


def final_dir(run: Path) -> Path:
    return Path(run) / "final"


def prepare_run_dir(run: Path, config: dict, ignore: tuple[str, ...] = (), upgrade=None) -> Path:
    """Create ``run`` or check that its stored config matches ``config`` (keys in ``ignore`` may differ).

    ``upgrade`` turns a stored config of an earlier settings version into this one's (its file stays as
    written)."""
    run = Path(run)
    try:
        run.mkdir(parents=True, exist_ok=True)
        probe = run / f".write-test{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to output folder {run}: {exc.strerror or exc}") from exc
    stored_path = run / CONFIG_FILE
    if not stored_path.exists() and any(p.name.startswith(("iter_", "final")) for p in run.iterdir()):
        raise UserError(f"{run} holds a run's iterations but no {CONFIG_FILE}, so what made them is unknown; "
                        "use another output folder")
    # A folder holding only its config (and temporaries) did no work yet, e.g. a run refused on bad input:
    # new settings may take it over.
    if stored_path.exists() and any(p.name not in (CONFIG_FILE, "run.toml") and not p.name.startswith(".")
                                    for p in run.iterdir()):
        stored = read_json(stored_path)
        stored = upgrade(stored) if upgrade is not None else stored
        diff = sorted(k for k in set(stored) | set(config)
                      if k not in ignore and stored.get(k) != config.get(k))
        if diff:
            shown = ", ".join(f"{k}: {stored.get(k)!r} -> {config.get(k)!r}" for k in diff[:4])
            raise UserError(f"{run} holds a run with other settings ({shown}); "
                            "use another --out folder, or the same settings to resume it")
    else:
        write_json(stored_path, config)
    for stale in run.rglob(".*.tmp*"):  # left by a killed process (also inside partial and base folders)
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    return run


def publish(tmp: Path, final: Path) -> Path:
    """Rename a finished temporary folder into place, replacing an older one without a half-deleted moment."""
    if final.exists():
        old = final.with_name(f".{final.name}.old.tmp{os.getpid()}")  # cleaned up on resume if killed here
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        return final
    os.replace(tmp, final)
    return final


def fresh_tmp_dir(run: Path, name: str) -> Path:
    tmp = Path(run) / f".{name}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def last_iteration(run: Path) -> int | None:
    done = sorted(int(p.name[5:]) for p in Path(run).glob("iter_[0-9][0-9][0-9]")
                  if p.is_dir() and (p / "info.json").exists())
    return done[-1] if done else None
