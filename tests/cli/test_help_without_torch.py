"""`netadapt --help` and the settings behind every command load without torch (0.3 s instead of 2-3 s)."""

import subprocess
import sys

CHECK = """
import sys
from click.testing import CliRunner
from netadapt.cli import cli
COMMANDS = ("", "run", "train", "sensitivity", "prune", "lottery", "amc", "profile", "export", "verify", "report",
            "agent", "devices", "models", "data", "data download", "lut", "lut stats", "lut migrate", "lut show",
            "lut inversions", "lut check", "lut retake")
for command in COMMANDS:
    args = [*command.split(), "--help"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (args, result.output)
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def test_help_of_every_command_imports_no_torch():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
