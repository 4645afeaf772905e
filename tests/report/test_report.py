"""netadapt report on a tiny fake-device run: the files, their content, and the errors a user can cause."""

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from netadapt.cli import cli, main
from netadapt.errors import UserError
from netadapt.report import load_run, write_report

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ("latency_accuracy.png", "channels.png", "latency_prediction.png")


def _iterations(run):
    return [json.loads((p / "info.json").read_text())
            for p in sorted(run.glob("iter_[0-9][0-9][0-9]"))]


def test_cli_writes_figures_html_and_markdown(tiny_run, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", str(tiny_run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data[:8] == PNG
        assert len(data) > 5_000
    html = (out / "report.html").read_text()
    # self-contained: every figure embedded, nothing loaded from a file
    assert html.count('src="data:image/png;base64,') == 3
    assert not re.search(r'src="(?!data:)', html)
    its = _iterations(tiny_run)
    assert len(its) >= 3
    rows = [int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td><td>', html)]
    assert rows == [it["iteration"] for it in its]
    for it in its[1:]:
        assert f"<td>{it['pruned_group']}</td>" in html
    final = json.loads((tiny_run / "final" / "info.json").read_text())
    verdict = "MET" if final["budget_met"] else "NOT MET"
    assert f'budget <span class="{"met" if final["budget_met"] else "missed"}">{verdict}</span>' in html
    assert f"{final['test_accuracy']:.4f}" in html
    md = (out / "report.md").read_text()
    for name in FIGURES:
        assert f"({name})" in md
    assert f"budget {verdict}" in md
    assert "| setting | value |" in md and "| criterion | l2 |" in md
    assert "| kind | fake |" in md  # the device fingerprint


def test_default_folder_is_inside_the_run(run_copy):
    written = write_report(run_copy)
    assert written["report.html"] == run_copy / "report" / "report.html"
    assert all(path.is_file() for path in written.values())


def test_unfinished_run_says_it_has_no_final_model(run_copy, tmp_path):
    shutil.rmtree(run_copy / "final")
    (run_copy / "summary.json").unlink()
    written = write_report(run_copy, tmp_path / "out")
    html = written["report.html"].read_text()
    assert "no final model yet" in html
    data = load_run(run_copy)
    assert data.final is None
    start = data.iterations[0]["measured_ms"]
    assert data.budget_ms == pytest.approx(0.75 * start)  # resolved from the config's "75%"


def test_baseline_points_appear_in_table_and_figure(run_copy, tmp_path):
    final = json.loads((run_copy / "final" / "info.json").read_text())
    ms, acc = final["measured_ms"], final["test_accuracy"]
    points = [{"iteration": 1, "width": 0.5, "target_ms": 0.8 * ms, "measured_ms": 0.8 * ms,
               "test_accuracy": acc - 0.2, "holdout_accuracy": 0.3, "finetune_steps": 2, "long_epochs": 1},
              {"iteration": 2, "width": 0.875, "target_ms": 1.5 * ms, "measured_ms": 1.5 * ms,
               "test_accuracy": acc + 0.2, "holdout_accuracy": 0.4, "finetune_steps": 4, "long_epochs": 1}]
    without = (write_report(run_copy, tmp_path / "plain")["latency_accuracy.png"]).read_bytes()
    (run_copy / "baseline").mkdir()
    (run_copy / "baseline" / "points.json").write_text(json.dumps(points))
    written = write_report(run_copy, tmp_path / "with")
    md = written["report.md"].read_text()
    assert "## Uniform width-multiplier baseline" in md
    assert "| 0.875 | 2 |" in md
    # baseline at the final latency: halfway up the first segment (0.8 ms .. 1.5 ms) -> acc - 0.2 + 0.4 * 0.2/0.7
    assert f"{acc - 0.2 + 0.4 * 0.2 / 0.7:.4f} test accuracy" in md
    # NetAdapt's accuracy is reached by the baseline at 0.8 + 0.7 * 0.5 = 1.15 x the final latency
    assert "needs 1.15x its latency" in md
    assert written["latency_accuracy.png"].read_bytes() != without


@pytest.mark.parametrize("make", ["missing", "empty", "no_iterations"])
def test_a_folder_that_is_not_a_run_exits_2(tmp_path, capsys, make):
    folder = tmp_path / "x"
    if make != "missing":
        folder.mkdir()
    if make == "no_iterations":
        (folder / "config.json").write_text("{}")
    with pytest.raises(SystemExit) as exc:
        main(["report", str(folder)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and str(folder) in err and len(err.strip().splitlines()) == 1
    with pytest.raises(UserError, match="not a"):
        write_report(folder)
    assert not (folder / "report").exists()
