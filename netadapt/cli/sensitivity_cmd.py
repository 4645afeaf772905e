"""``netadapt sensitivity``: how much holdout accuracy each layer group loses when pruned alone."""

from __future__ import annotations

import json

import click

from netadapt.cli.options import config_option, device_options, lut_option, task_refused
from netadapt.cli.prune_cmd import load_inputs, model_data_options
from netadapt.cli.settings import options_of, settings_from
from netadapt.config.start import ShortFineTune, StartSettings
from netadapt.config.run import ExecutionConfig
from netadapt.config.sensitivity import SensitivitySettings


@click.command()
@task_refused("sensitivity")
@config_option()
@model_data_options
@options_of(SensitivitySettings, only=("ratios", "criterion"))
@options_of(ShortFineTune, helps={"finetune_steps": "SGD iterations after pruning each point (0: none, as in the "
                                                    "lecture)."})
@options_of(SensitivitySettings, only=("eval_limit", "threshold", "target_params", "target_latency"))
@device_options
@lut_option
@options_of(ExecutionConfig, only=("workers", "executor", "ray_address"),
            helps={"workers": "Score this many points at once, in worker processes (each with its share of the "
                             "torch threads; pays off with more cores than one process uses)."})
@options_of(SensitivitySettings, only=("out", "no_progress"))
def sensitivity(device_name, threads, gpu_id, lut_url, workers, executor, ray_address, **options):
    """Prune one group at a time at each ratio; plot accuracy against ratio; pick per-group ratios.

    Example: netadapt sensitivity --checkpoint base.pt --data digits --target-params 0.5 --out sens/
    """
    from pathlib import Path

    from netadapt.criteria.registry import CRITERIA
    from netadapt.iterative import write_ratios
    from netadapt.sensitivity import (plot_sensitivity, ratios_for_threshold, read_csv, scan, search_threshold,
                                      write_csv)

    start, s, ft = (settings_from(cls, options) for cls in (StartSettings, SensitivitySettings, ShortFineTune))
    seed, criterion, threshold = start.seed, s.criterion, s.threshold
    scanned = s.ratio_list
    if s.target_latency is not None:  # a bad budget or a device that cannot run here fails before the scan
        from devices import usable_device
        from netadapt.config.budget import parse_budget

        budget = parse_budget(s.target_latency)
        dev = usable_device(device_name, threads=threads, gpu_id=gpu_id)
    loaded, bundle = load_inputs(start)
    net, shape = loaded.model, loaded.input_shape
    held = bundle.holdout
    if s.eval_limit is not None and s.eval_limit < len(held):
        from netadapt.data.splits import limit

        held = limit(held, s.eval_limit, seed)  # random: the holdout is in class order for image folders
    out = Path(s.out)
    settings = {"checkpoint": str(Path(start.checkpoint).resolve()), "data": start.data, "holdout": start.holdout,
                "seed": seed, "ratios": scanned, "criterion": criterion, "finetune_steps": ft.finetune_steps,
                "lr": ft.lr, "batch_size": ft.batch_size, "eval_limit": s.eval_limit}
    info_path, csv_path = out / "sensitivity.json", out / "sensitivity.csv"
    stored = json.loads(info_path.read_text()) if info_path.is_file() and csv_path.is_file() else {}
    if stored.get("settings") == settings:
        click.echo(f"Reusing the scan in {csv_path} (same settings).")
        baseline, rows = stored["baseline_accuracy"], read_csv(csv_path)
    else:
        crit = CRITERIA.create(criterion, seed=seed)
        baseline, rows = scan(net, shape, held, scanned, crit, train=bundle.train, finetune_steps=ft.finetune_steps,
                              finetune=ft.as_kwargs(bundle.augment), seed=seed, progress=not s.no_progress,
                              workers=workers, executor=executor, ray_address=ray_address)
        write_csv(rows, csv_path)
        info_path.write_text(json.dumps({"settings": settings, "baseline_accuracy": baseline}, indent=2) + "\n")
    chosen, info = None, {}
    if threshold is not None:
        chosen = ratios_for_threshold(rows, threshold)
    elif s.target_params is not None:
        from netadapt.sensitivity.budget import params_cost, params_target

        goal = params_target(net, s.target_params)
        threshold, chosen, value = search_threshold(rows, params_cost(net, shape), goal)
        info = {"target_params": s.target_params, "params_limit": goal}
    elif s.target_latency is not None:
        from netadapt.sensitivity.budget import latency_cost

        cost, start_ms = latency_cost(net, shape, dev, lut=lut_url)
        goal = budget.resolve(start_ms)
        threshold, chosen, value = search_threshold(rows, cost, goal)
        info = {"target_latency": str(budget), "table_ms": value, "start_table_ms": start_ms, "budget_ms": goal}
    name = f"{loaded.spec.name.split(':')[-1]} on {start.data.split(':')[0]}"
    plot_sensitivity(rows, baseline, out / "sensitivity.png", threshold=threshold,
                     title=f"{name}: one group pruned at a time ({criterion})")
    click.echo(format_table(rows, baseline))
    if chosen is not None:
        from netadapt.iterative.ratios import count_params, counts_for, params_at
        from netadapt.pruning import analyze

        graph = analyze(net, shape)
        counts = counts_for(graph, chosen)
        params = params_at(net, graph, counts)
        path = write_ratios(out / "ratios.json", chosen, threshold=threshold, criterion=criterion,
                            checkpoint=settings["checkpoint"], channels=counts, params=params,
                            original_params=count_params(net), **info)
        click.echo(f"Threshold {threshold:.4g}: keeps {params:,} of {count_params(net):,} parameters; "
                   f"ratios in {path}")
    click.echo(f"Wrote {csv_path} and {out / 'sensitivity.png'}.")


def format_table(rows, baseline) -> str:
    groups = list(dict.fromkeys(r.group for r in rows))
    ratios = sorted({r.ratio for r in rows})
    acc = {(r.group, r.ratio): r.accuracy for r in rows}
    width = max(12, *(len(g) for g in groups))
    lines = [f"holdout accuracy (unpruned {baseline:.4f}) by prune ratio",
             f"{'group':<{width}} " + " ".join(f"{r:>6.2f}" for r in ratios)]
    for g in groups:
        lines.append(f"{g:<{width}} " + " ".join(f"{acc[(g, r)]:>6.3f}" if (g, r) in acc else f"{'-':>6}"
                                                 for r in ratios))
    return "\n".join(lines)
