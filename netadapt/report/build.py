"""``write_report``: the figures, report.html (self-contained) and report.md of one run folder."""

from __future__ import annotations

import math
import os
from pathlib import Path

from netadapt.report import plots
from netadapt.report.document import Figure, Heading, Paragraph, Table, to_html, to_markdown
from netadapt.runs.rundata import RunData, load_run

# Phases in the order a NetAdapt iteration runs them; others follow alphabetically.
PHASES = ("search", "prune", "finetune", "evaluate", "export_measure")


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key in sorted(d):
        value = d[key]
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value if not isinstance(value, dict) else "{}"))
    return rows


def _error_pct(predicted, measured):
    if predicted is None or not measured:
        return None
    return round(100.0 * (predicted - measured) / measured, 2) + 0.0  # + 0.0: no "-0.0"


def result_text(run: RunData) -> str:
    """One sentence: the final model and whether it meets the budget, or that there is no final yet."""
    f = run.final
    if f is None:
        last = run.iterations[-1]
        budget = f"{run.budget_ms:.4g} ms" if run.budget_ms is not None else "unknown"
        state = "met" if run.budget_ms is not None and last["measured_ms"] <= run.budget_ms else "not yet met"
        return (f"The run has no final model yet: the last iteration ({last['iteration']}) measured "
                f"{last['measured_ms']:.4g} ms against a budget of {budget} (budget {state} by the iterations).")
    verdict = "MET" if f["budget_met"] else "NOT MET"
    stale = "" if f["from_iteration"] == run.iterations[-1]["iteration"] else \
        f" (the run went on to iteration {run.iterations[-1]['iteration']} after this final model was made)"
    quality = (f"Score {f['score']:.4f}." if run.own_task else
               f"Test accuracy {f['test_accuracy']:.4f}, holdout accuracy {f['holdout_accuracy']:.4f}.")
    return (f"Final model: iteration {f['from_iteration']} after long-term fine-tuning{stale}: measured "
            f"{f['measured_ms']:.4g} ms against a budget of {f['budget_ms']:.4g} ms: budget {verdict}. {quality}")


def iteration_table(run: RunData) -> Table:
    seen = {p for it in run.iterations for p in (it.get("seconds") or {})}
    phases = [p for p in PHASES if p in seen] + sorted(seen - set(PHASES))
    headers = ["iteration", "pruned group", "channels", "target ms", "predicted ms", "measured ms",
               "prediction error %", "table ms", run.score_label] + [f"{p} s" for p in phases]
    rows = []
    for it in run.iterations:
        secs = it.get("seconds") or {}
        rows.append([it["iteration"], it.get("pruned_group") or "(start)", sum(it["channels"].values()),
                     it.get("target_ms"), it.get("predicted_ms"), it["measured_ms"],
                     _error_pct(it.get("predicted_ms"), it["measured_ms"]), it.get("table_ms"),
                     run.score(it)] + [secs.get(p) for p in phases])
    return Table(headers, rows)


def baseline_blocks(run: RunData) -> list:
    from netadapt.baseline.compare import interpolate, latency_ratio

    if not run.baseline:
        return []
    pts = sorted(run.baseline, key=lambda p: p["measured_ms"])
    blocks = [Heading("Uniform width-multiplier baseline"),
              Paragraph("Every group pruned to width x channels (rounded to the nearest count on the run's channel "
                        "grid, as the zoo's width multipliers round to multiples of 8) with the run's criterion, "
                        "then fine-tuned "
                        "with the budget NetAdapt spent to reach the matching iteration (its short-term steps "
                        "plus the long-term epochs)."),
              Table(["width", "matches iteration", "target ms", "measured ms", "fine-tune steps",
                     "long-term epochs", run.final_label, run.score_label],
                    [[p["width"], p.get("iteration"), p.get("target_ms"), p["measured_ms"],
                      p.get("finetune_steps"), p.get("long_epochs"), run.final_score(p), run.score(p)]
                     for p in pts])]
    if run.final:
        curve = [(p["measured_ms"], run.final_score(p)) for p in pts]
        f = run.final
        acc = interpolate(curve, f["measured_ms"])
        ratio = latency_ratio((f["measured_ms"], run.final_score(f)), curve)
        text = [f"At the final model's latency ({f['measured_ms']:.4g} ms) the uniform baseline reaches "
                + (f"{acc:.4f} {run.final_label} (NetAdapt: {run.final_score(f):.4f})." if not math.isnan(acc)
                   else "a score outside its measured range.")]
        if not math.isnan(ratio):
            text.append(f"To match NetAdapt's {run.final_label} the baseline needs {ratio:.2f}x its latency.")
        blocks.append(Paragraph(" ".join(text)))
    return blocks


def report_blocks(run: RunData, figures: dict[str, Path]) -> list:
    cfg = run.config
    device = (run.final or {}).get("device") or {"name": cfg.get("device"), "threads": cfg.get("threads"),
                                                 "note": "full fingerprint is recorded with the final model"}
    stopped = (run.summary or {}).get("stopped")
    blocks = [Paragraph(f"Run folder: {run.run_dir}. Model {cfg.get('model')} on data {cfg.get('data')}, "
                        f"measured on device {cfg.get('device')} at batch {cfg.get('batch')}; budget "
                        f"{cfg.get('budget')}. {len(run.iterations) - 1} iterations"
                        + (f"; stopped: {stopped}." if stopped else ".")),
              Heading("Result"), Paragraph(result_text(run))]
    for name, (_, caption) in plots.FIGURES.items():
        blocks.append(Figure(figures[name], caption))
    blocks += [Heading("Iterations"), iteration_table(run)]
    blocks += baseline_blocks(run)
    blocks += [Heading("Device"), Table(["key", "value"], [[k, v] for k, v in _flatten(device)]),
               Heading("Settings"), Table(["setting", "value"], [[k, v] for k, v in _flatten(cfg)])]
    return blocks


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_report(run_dir, out_dir=None) -> dict[str, Path]:
    """Write the figures, ``report.html`` and ``report.md`` for the run in ``run_dir``.

    Args:
        run_dir: a folder written by ``netadapt run`` (finished or not).
        out_dir: where to write (default ``<run_dir>/report``).

    Returns:
        File name -> path of every file written.

    Raises:
        UserError: ``run_dir`` is not a run folder.
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = {name: draw(run, out / name) for name, (draw, _) in plots.FIGURES.items()}
    title = f"NetAdapt report: {run.run_dir.name}"
    blocks = report_blocks(run, written)
    written["report.html"] = _write_text(out / "report.html", to_html(title, blocks))
    written["report.md"] = _write_text(out / "report.md", to_markdown(title, blocks))
    return written
