"""The packages' layers, as contracts for import-linter (pyproject.toml, [tool.importlinter]): an import that
points up a layer fails here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(monkeypatch, capsys):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert "BROKEN" not in out
    assert out.count("KEPT") == 2
    assert code == 0, out


def test_a_new_arrow_up_is_caught(tmp_path, monkeypatch, capsys):
    """The contracts are live: the same layers over a copy where lut imports the devices fail."""
    import shutil

    from importlinter.cli import lint_imports

    for name in ("lut", "devices", "profilers"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "lut" / "backwards.py").write_text("import devices.base\n")
    (tmp_path / "setup.cfg").write_text("[importlinter]\nroot_packages =\n    profilers\n    devices\n    lut\n\n"
                                        "[importlinter:contract:down]\nname = down\ntype = layers\n"
                                        "layers =\n    profilers\n    devices\n    lut\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in [m for m in list(__import__("sys").modules) if m.split(".")[0] in ("lut", "devices", "profilers")]:
        monkeypatch.delitem(__import__("sys").modules, mod)
    code = lint_imports(config_filename=str(tmp_path / "setup.cfg"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 1
    assert "lut.backwards -> devices.base" in out
