"""Copies of a finished run folder for tests that resume it another way (more workers, another executor)."""

import shutil
from pathlib import Path


def start_from(one: Path, out: Path) -> Path:
    """A copy of run ``one`` up to its measured start model, with its table beside it: the same base model
    without training it again."""
    out.mkdir()
    for name in ("base", "iter_000", "config.json", "run.toml"):
        source = one / name
        shutil.copytree(source, out / name) if source.is_dir() else shutil.copy(source, out / name)
    shutil.copy(one.parent / "lut.db", out.parent / "lut.db")
    return out
