import json
import re

from click.testing import CliRunner

from netadapt.cli import cli


def test_verify_measures_the_final_model_against_the_budget_again(tiny_run):
    summary = json.loads((tiny_run / "summary.json").read_text())
    result = CliRunner().invoke(cli, ["verify", str(tiny_run)])
    assert result.exit_code == 0, result.output
    m = re.search(r"final: ([\d.]+) ms \(95% CI ([\d.]+)-([\d.]+) ms, (\d+) pairs\) "
                  r"vs budget ([\d.]+) ms -> (\w[\w ]*)", result.output)
    assert m, result.output
    ms, budget, verdict = float(m.group(1)), float(m.group(5)), m.group(6).strip()
    assert abs(ms - summary["final"]["measured_ms"]) < 1e-3 and abs(budget - summary["budget_ms"]) < 1e-3
    assert verdict == ("met" if summary["final"]["budget_met"] else "not met")
    first = CliRunner().invoke(cli, ["verify", str(tiny_run), "--model", "1"])
    assert first.exit_code == 0 and first.output.startswith("1: ")


def test_verify_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(cli, ["verify", str(tmp_path)])
    assert result.exit_code != 0 and "not a netadapt run folder" in str(result.exception)
