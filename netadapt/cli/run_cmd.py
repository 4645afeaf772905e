"""``netadapt run``: shrink a model until its measured latency meets a budget."""

from __future__ import annotations

import click

from netadapt.cli.options import config_option, lut_option
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.run import EXECUTION, ExecutionConfig, RunConfig, as_options
from netadapt.config.run_command import RunCommand


@click.command()
@config_option(translate=as_options)
@options_of(RunCommand, only=("task", "task_args"))
@options_of(RunConfig, defaults={"long_term_steps": 0})
@options_of(ExecutionConfig)
@options_of(RunCommand, skip=("task", "task_args"))
@lut_option
def run(lut_url, **settings):
    """Run NetAdapt until the measured latency meets --budget.

    Example: netadapt run --budget 70%   (built-in digits data and model, CPU; or a time: --budget 8ms)
    """
    from pathlib import Path

    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.config.budget import parse_budget
    from netadapt.errors import UserError
    from netadapt.runs.folder import default_folder

    command = settings_from(RunCommand, settings)
    budget = settings["budget"]
    parse_budget(budget)  # bad budgets fail before anything is loaded
    if command.task is not None:
        return _run_task(click.get_current_context(), command)
    if settings.pop("long_term_steps"):
        raise UserError("--long-term-steps is for --task (your own train); netadapt's classification task takes "
                        "--long-term-epochs")
    if settings["checkpoint"]:
        settings["checkpoint"] = str(Path(settings["checkpoint"]).resolve())
    execution = ExecutionConfig(**{k: settings.pop(k) for k in EXECUTION})
    config = RunConfig.from_options({**settings, "model_args": settings["model_args"] or {}})
    out = command.out
    if out is None:
        tag = budget_tag(budget)
        out = default_folder(Path("runs"), f"{config.model.replace(':', '_').replace('.', '_')}-{tag}", config)

    def log(message):
        click.echo(message, err=command.as_json)

    log(f"Run folder: {out}")
    result = NetAdaptRun(config, out, lut=lut_url, progress=not command.no_progress, log=log, execution=execution,
                         verbose=command.verbose).run()
    if command.as_json:
        click.echo((Path(out) / "summary.json").read_text().strip())
    else:
        click.echo(format_table(result))
    if command.uniform_baseline:
        from netadapt.baseline import build_uniform_baseline

        points = build_uniform_baseline(out, points=command.uniform_baseline, progress=not command.no_progress,
                                        log=log)
        log(f"uniform baseline: {len(points)} point(s) in {Path(out) / 'baseline'}; "
                   f"see `netadapt report {out}`")


# `netadapt run` options of its own classification task, refused with --task.
_CLASSIFICATION_ONLY = ("model", "model_args", "checkpoint", "data", "holdout", "eval_limit", "base_epochs",
                        "rewind_iteration", "split_seed", "short_term_lr", "long_term_lr", "long_term_epochs",
                        "batch_size", "distill_temperature", "uniform_baseline", "reconstruct")
# Options that are not settings of the run.
_NOT_SETTINGS = ("budget", "task", "task_args", "out", "no_progress", "json", "lut_url", "device",
                 "short_term_steps", "long_term_steps", "verbose")


def _run_task(ctx, command: RunCommand):
    """``netadapt run --task``: the factory's task through ``netadapt.prune``, with the options given."""
    from pathlib import Path

    from click.core import ParameterSource

    from netadapt.api import prune
    from netadapt.errors import UserError
    from netadapt.runs.folder import config_hash
    from netadapt.task.factory import load_task

    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}
    refused = sorted(given & set(_CLASSIFICATION_ONLY))
    if refused:
        flags = ", ".join("--" + n.replace("_", "-") for n in refused)
        raise UserError(f"{flags}: netadapt's own classification task's option(s); with --task, your task's "
                        "train and evaluate own them")
    target, kwargs, as_json = command.task, command.task_args or {}, command.as_json
    options = {name: ctx.params[name] for name in given if name not in _NOT_SETTINGS}
    p = ctx.params
    out = command.out
    if out is None:
        tag = budget_tag(p["budget"])
        name = target.replace(":", "_").replace(".", "_")
        out = Path("runs") / f"{name}-{tag}-{config_hash({'task': target, 'args': kwargs, **options})}"

    def log(message):
        click.echo(message, err=as_json)

    log(f"Run folder: {out}")
    task = load_task(target, kwargs)
    result = prune(task, budget=p["budget"], out=out, device=p["device"],
                   short_term_steps=p["short_term_steps"], long_term_steps=p["long_term_steps"], lut=p["lut_url"],
                   progress=not command.no_progress, log=log, verbose=command.verbose, **options)
    if as_json:
        click.echo((Path(out) / "summary.json").read_text().strip())
    else:
        from netadapt.algorithm.loop import RunResult

        click.echo(format_table(RunResult(result.run_dir, [_info(r) for r in result.iterations], result.final,
                                          result.budget_ms, result.stopped), score="score"))


def budget_tag(budget: str) -> str:
    """The budget as it appears in a default run folder's name (``70%`` -> ``70pct``)."""
    return budget.strip().replace("%", "pct").replace(" ", "")


def _info(record) -> dict:
    return {"iteration": record.iteration, "pruned_group": record.pruned_group, "predicted_ms": record.predicted_ms,
            "measured_ms": record.measured_ms, "score": record.score}


def format_table(result, score: str = "holdout_accuracy") -> str:
    """The run's iterations and its final model as a table (``score``: the field that ranked candidates)."""
    head = "holdout acc" if score == "holdout_accuracy" else "score"
    lines = [f"{'iter':>4}  {'pruned group':<22} {'predicted ms':>12} {'measured ms':>11} {head:>11}"]
    for it in result.iterations:
        pred = f"{it['predicted_ms']:.3f}" if it.get("predicted_ms") is not None else "-"
        lines.append(f"{it['iteration']:>4}  {(it.get('pruned_group') or '(start)')[:22]:<22} {pred:>12} "
                     f"{it['measured_ms']:>11.3f} {it[score]:>11.4f}")
    f = result.final
    if f:
        verdict = "MET" if f["budget_met"] else ("WITHIN THE MEASUREMENT'S UNCERTAINTY"
                                                 if f.get("verdict") == "uncertain" else "NOT MET")
        measured = f"{f['measured_ms']:.3f} ms"
        if "measured_low_ms" in f:
            measured += (f" (95% CI {f['measured_low_ms']:.3f}-{f['measured_high_ms']:.3f} ms, "
                         f"{f['pairs']} pairs against the start)")
        quality = (f"test accuracy {f['test_accuracy']:.4f}" if "test_accuracy" in f
                   else f"score {f['score']:.4f}")
        lines.append(f"final (iteration {f['from_iteration']} + long-term fine-tune): measured {measured} "
                     f"vs budget {result.budget_ms:.3f} ms -> {verdict}; {quality}")
    lines.append(f"stopped: {result.stopped}; models in {result.run_dir}")
    return "\n".join(lines)
