"""``netadapt run``: shrink a model until its measured latency meets a budget."""

from __future__ import annotations

import json

import click

from netadapt.algorithm.selection import SELECTIONS
from netadapt.cli.options import config_option, device_options, lut_option
from netadapt.config.run import SCORES, ExecutionConfig, FineTuneConfig, RunConfig, as_options

_R, _F, _X = RunConfig(), FineTuneConfig(), ExecutionConfig()


@click.command()
@config_option(translate=as_options)
@click.option("--budget", required=True, help="Latency budget: 20ms, 1.5s, 800us, or 50% of the start.")
@click.option("--task", "task_target", default=None, metavar="MODULE:FACTORY",
              help="Your own task: a factory returning a netadapt.Task (or an object with model, example_inputs, "
                   "train and evaluate); replaces --model, --data and netadapt's own training.")
@click.option("--task-args", default=None, metavar="JSON", help="Arguments of the --task factory, as a JSON object.")
@click.option("--model", default="digits_cnn", show_default=True, help="Zoo name or package.module:factory.")
@click.option("--model-args", default=None, metavar="JSON",
              help='Constructor arguments as JSON, e.g. \'{"width_mult": 0.5}\'.')
@click.option("--checkpoint", default=None, type=click.Path(dir_okay=False),
              help="Trained checkpoint (netadapt train). Without one, the base model is trained first.")
@click.option("--data", default="digits", show_default=True,
              help="digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")
@device_options
@click.option("--batch", type=click.IntRange(1, 4096), default=_R.batch, show_default=True,
              help="Batch size the latency is measured at.")
@click.option("--initial-reduction", type=float, default=_R.schedule.initial, show_default=True,
              help="First iteration's latency reduction, as a fraction of the start.")
@click.option("--reduction-decay", type=float, default=_R.schedule.decay, show_default=True,
              help="Each iteration's reduction is this times the previous one.")
@click.option("--reduction-floor", type=float, default=_R.schedule.floor, show_default=True,
              help="Smallest reduction, as a fraction of the start (makes deep budgets reachable).")
@click.option("--short-term-steps", type=click.IntRange(0), default=_F.short_steps, show_default=True,
              help="Fine-tune iterations per candidate.")
@click.option("--short-term-lr", type=float, default=_F.short_lr, show_default=True)
@click.option("--long-term-epochs", type=click.IntRange(0), default=_F.long_epochs, show_default=True,
              help="Fine-tune epochs of the final model.")
@click.option("--long-term-lr", type=float, default=_F.long_lr, show_default=True)
@click.option("--long-term-steps", type=click.IntRange(0), default=0, show_default=True,
              help="With --task: steps of your train for the final model.")
@click.option("--batch-size", type=click.IntRange(1), default=_F.batch_size, show_default=True,
              help="Fine-tune batch size.")
@click.option("--base-epochs", type=click.IntRange(0), default=_R.base_epochs, show_default=True,
              help="Epochs to train the base model when no checkpoint is given.")
@click.option("--channel-step", type=click.IntRange(1, 4096), default=_R.channel_step, show_default=True)
@click.option("--holdout", type=float, default=_R.holdout, show_default=True,
              help="Holdout carved from the training data to rank candidates (fraction or count).")
@click.option("--eval-limit", type=click.IntRange(1), default=None,
              help="Rank candidates on at most this many holdout images.")
@click.option("--criterion", default="l2", show_default=True, help="Which filters stay: l2, l1, bn_scale, random.")
@click.option("--rewinder", default="none", show_default=True, help="Rewinding plug-in.")
@click.option("--selection", type=click.Choice(SELECTIONS), default=_R.selection,
              show_default=True, help="accuracy: the best holdout score; efficiency: the least score lost per ms saved.")
@click.option("--score", type=click.Choice(SCORES), default=_R.score, show_default=True,
              help="What ranks candidates on the holdout: accuracy, cross-entropy, or KL to the start model.")
@click.option("--bn-batches", type=click.IntRange(0), default=_R.bn_batches, show_default=True,
              help="Re-estimate batch-norm statistics on this many training batches before scoring a candidate.")
@click.option("--search", type=click.Choice(["netadapt", "halp"]), default=_R.search, show_default=True,
              help="netadapt: cut one group per iteration (the best of one fine-tuned candidate per group); halp: "
                   "cut every group at once, keeping the channels with the most Taylor importance that fit the "
                   "iteration's target (--criterion is not used).")
@click.option("--distill", type=click.FloatRange(0, 1), default=_F.distill, show_default=True,
              help="Weight of distillation from the start model in short- and long-term fine-tuning.")
@click.option("--distill-temperature", type=click.FloatRange(0, min_open=True), default=_F.temperature,
              show_default=True)
@click.option("--warmup", type=click.IntRange(0), default=_R.warmup, show_default=True)
@click.option("--repeats", type=click.IntRange(1), default=_R.repeats, show_default=True,
              help="Timed runs per layer.")
@click.option("--model-repeats", type=click.IntRange(1), default=_R.model_repeats, show_default=True,
              help="Timed runs per whole-model measurement round (3 rounds, interleaved with the start).")
@click.option("--max-iterations", type=click.IntRange(0), default=_R.max_iterations, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of fine-tuning, random criteria and the --eval-limit subset.")
@click.option("--split-seed", type=int, default=_R.split_seed, show_default=True,
              help="Seed of the holdout split: the one the checkpoint was trained with (netadapt train --seed).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Run folder (default: runs/<model>-<budget>-<settings hash>). Re-run to resume.")
@click.option("--uniform-baseline", type=click.IntRange(0), default=0, show_default=True,
              help="Also build N uniform width-multiplier models at the latencies of N iterations, "
                   "with the same fine-tuning, for `netadapt report` to compare against.")
@click.option("--rewind-iteration", type=click.IntRange(0), default=_R.rewind_iteration, show_default=True,
              help="When the base model is trained here: the iteration lottery/lr_rewind rewind to.")
@click.option("--workers", type=click.IntRange(1, 256), default=_X.workers, show_default=True,
              help="Fine-tune and score this many candidates at once, in worker processes (the result is the "
                   "same; a run may resume with another count).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=_X.executor, show_default=True,
              help="Where workers run: processes on this machine, or a Ray cluster (pip install 'netadapt[ray]').")
@click.option("--ray-address", default=None, metavar="ADDR", help="Ray cluster address, e.g. ray://head:10001.")
@click.option("--train-device", default=_X.train_device, show_default=True,
              help="Where fine-tuning runs (PyTorch: cpu, cuda, cuda:1); latency is still measured on --device. "
                   "A run may resume with another.")
@click.option("--no-progress", is_flag=True)
@click.option("--verbose", is_flag=True, help="Say where each iteration's time went: search, fine-tune, score, measure "
                                            "(also kept in summary.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON on stdout (messages go to stderr).")
@lut_option
def run(budget, task_target, task_args, model, model_args, checkpoint, data, device_name, threads, gpu_id, batch,
        initial_reduction, reduction_decay, reduction_floor, short_term_steps, short_term_lr, long_term_epochs,
        long_term_lr, long_term_steps, batch_size, base_epochs, channel_step, holdout, eval_limit, criterion, rewinder, selection, score,
        bn_batches, search, distill, distill_temperature, warmup,
        repeats, model_repeats, max_iterations, seed, split_seed, out, uniform_baseline, rewind_iteration, workers, executor,
        ray_address, train_device, no_progress, verbose, as_json, lut_url):
    """Run NetAdapt until the measured latency meets --budget.

    Example: netadapt run --budget 70%   (built-in digits data and model, CPU; or a time: --budget 8ms)
    """
    from pathlib import Path

    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.config.budget import parse_budget
    from netadapt.config.schedule import ReductionSchedule
    from netadapt.errors import UserError
    from netadapt.runs.folder import config_hash

    parse_budget(budget)  # bad budgets fail before anything is loaded
    if task_target is not None:
        return _run_task(click.get_current_context(), task_target, task_args, as_json, no_progress)
    if long_term_steps:
        raise UserError("--long-term-steps is for --task (your own train); netadapt's classification task takes "
                        "--long-term-epochs")
    try:
        kwargs = json.loads(model_args) if model_args else {}
        schedule = ReductionSchedule(initial_reduction, reduction_decay, reduction_floor)
    except (json.JSONDecodeError, ValueError) as exc:
        raise UserError(f"bad option: {exc}") from exc
    if not isinstance(kwargs, dict):
        raise UserError("--model-args must be a JSON object")
    config = RunConfig(
        budget=budget, model=model, model_kwargs=kwargs,
        checkpoint=str(Path(checkpoint).resolve()) if checkpoint else None, data=data,
        holdout=holdout, eval_limit=eval_limit, device=device_name, threads=threads, gpu_id=gpu_id,
        batch=batch, warmup=warmup, repeats=repeats, model_repeats=model_repeats, channel_step=channel_step,
        schedule=schedule,
        finetune=FineTuneConfig(short_term_steps, short_term_lr, long_term_epochs, long_term_lr, batch_size,
                                distill, distill_temperature),
        base_epochs=base_epochs, rewind_iteration=rewind_iteration, criterion=criterion, rewinder=rewinder,
        selection=selection, score=score, bn_batches=bn_batches, search=search,
        max_iterations=max_iterations, seed=seed, split_seed=split_seed)
    if out is None:
        tag = budget.strip().replace("%", "pct").replace(" ", "")
        out = Path("runs") / f"{model.replace(':', '_').replace('.', '_')}-{tag}-{config_hash(config.to_dict())}"
    def log(message):
        click.echo(message, err=as_json)

    log(f"Run folder: {out}")
    execution = ExecutionConfig(workers=workers, executor=executor, ray_address=ray_address,
                                train_device=train_device)
    result = NetAdaptRun(config, out, lut=lut_url, progress=not no_progress, log=log, execution=execution,
                         verbose=verbose).run()
    if as_json:
        click.echo((Path(out) / "summary.json").read_text().strip())
    else:
        click.echo(format_table(result))
    if uniform_baseline:
        from netadapt.baseline import build_uniform_baseline

        points = build_uniform_baseline(out, points=uniform_baseline, progress=not no_progress, log=log)
        log(f"uniform baseline: {len(points)} point(s) in {Path(out) / 'baseline'}; "
                   f"see `netadapt report {out}`")


# `netadapt run` options of its own classification task, refused with --task.
_CLASSIFICATION_ONLY = ("model", "model_args", "checkpoint", "data", "holdout", "eval_limit", "base_epochs",
                        "rewind_iteration", "split_seed", "short_term_lr", "long_term_lr", "long_term_epochs",
                        "batch_size", "distill_temperature", "uniform_baseline")
# Options that are not settings of the run.
_NOT_SETTINGS = ("budget", "task_target", "task_args", "out", "no_progress", "as_json", "lut_url", "device_name",
                 "short_term_steps", "long_term_steps", "verbose")


def _run_task(ctx, target, task_args, as_json, no_progress):
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
    try:
        kwargs = json.loads(task_args) if task_args else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"--task-args is not JSON ({exc.msg})") from exc
    if not isinstance(kwargs, dict):
        raise UserError("--task-args must be a JSON object")
    options = {name: ctx.params[name] for name in given if name not in _NOT_SETTINGS}
    p = ctx.params
    out = p["out"]
    if out is None:
        tag = p["budget"].strip().replace("%", "pct").replace(" ", "")
        name = target.replace(":", "_").replace(".", "_")
        out = Path("runs") / f"{name}-{tag}-{config_hash({'task': target, 'args': kwargs, **options})}"

    def log(message):
        click.echo(message, err=as_json)

    log(f"Run folder: {out}")
    task = load_task(target, kwargs)
    result = prune(task, budget=p["budget"], out=out, device=p["device_name"],
                   short_term_steps=p["short_term_steps"], long_term_steps=p["long_term_steps"], lut=p["lut_url"],
                   progress=not no_progress, log=log, verbose=p["verbose"], **options)
    if as_json:
        click.echo((Path(out) / "summary.json").read_text().strip())
    else:
        from netadapt.algorithm.loop import RunResult

        click.echo(format_table(RunResult(result.run_dir, [_info(r) for r in result.iterations], result.final,
                                          result.budget_ms, result.stopped), score="score"))


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
