"""``netadapt sensitivity``: how much holdout accuracy each layer group loses when pruned alone."""

from __future__ import annotations

import json

import click

from netadapt.cli.options import config_option, device_options, lut_option, task_refused
from netadapt.cli.prune_cmd import load_inputs, model_data_options


def parse_ratios(text: str) -> list[float]:
    from netadapt.errors import UserError

    try:
        ratios = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UserError(f"--ratios {text!r}: expected comma-separated fractions such as 0,0.1,0.2") from None
    if not ratios or ratios[0] < 0 or ratios[-1] >= 1:
        raise UserError(f"--ratios {text!r}: fractions must lie in [0, 1)")
    return ratios


@click.command()
@task_refused("sensitivity")
@config_option()
@model_data_options
@click.option("--ratios", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", show_default=True,
              help="Prune ratios to scan (fractions of a group's channels removed).")
@click.option("--criterion", default="l2", show_default=True,
              help="Which channels stay: l2, l1, bn_scale, taylor, random.")
@click.option("--finetune-steps", type=click.IntRange(0), default=0, show_default=True,
              help="SGD iterations after pruning each point (0: none, as in the lecture).")
@click.option("--lr", type=float, default=0.01, show_default=True, help="Fine-tune learning rate.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--eval-limit", type=click.IntRange(1), default=None,
              help="Evaluate on at most this many holdout images.")
@click.option("--threshold", type=click.FloatRange(0), default=None,
              help="Accuracy drop (e.g. 0.02) each group may lose: writes ratios.json.")
@click.option("--target-params", type=float, default=None,
              help="Keep at most this fraction of the parameters (e.g. 0.5): searches the threshold.")
@click.option("--target-latency", default=None,
              help="Latency budget (2ms, or 50% of the unpruned table estimate) on --device: searches the threshold.")
@device_options
@lut_option
@click.option("--out", default="sensitivity", show_default=True, type=click.Path(file_okay=False),
              help="Folder for sensitivity.csv/.json/.png and ratios.json. A scan with the same settings is reused.")
@click.option("--no-progress", is_flag=True)
def sensitivity(model, checkpoint, data, holdout, seed, ratios, criterion, finetune_steps, lr, batch_size,
                eval_limit, threshold, target_params, target_latency, device_name, threads, gpu_id, lut_url, out,
                no_progress):
    """Prune one group at a time at each ratio; plot accuracy against ratio; pick per-group ratios.

    Example: netadapt sensitivity --checkpoint base.pt --data digits --target-params 0.5 --out sens/
    """
    from pathlib import Path

    from netadapt.criteria.registry import CRITERIA
    from netadapt.errors import UserError
    from netadapt.iterative import write_ratios
    from netadapt.sensitivity import (plot_sensitivity, ratios_for_threshold, read_csv, scan, search_threshold,
                                      write_csv)

    if sum(x is not None for x in (threshold, target_params, target_latency)) > 1:
        raise UserError("give at most one of --threshold, --target-params and --target-latency")
    scanned = parse_ratios(ratios)
    if target_latency is not None:  # a bad budget or a device that cannot run here fails before the scan
        from devices import usable_device
        from netadapt.config.budget import parse_budget

        budget = parse_budget(target_latency)
        dev = usable_device(device_name, threads=threads, gpu_id=gpu_id)
    loaded, bundle = load_inputs(model, checkpoint, data, holdout, seed)
    net, shape = loaded.model, loaded.input_shape
    held = bundle.holdout
    if eval_limit is not None and eval_limit < len(held):
        from netadapt.data.splits import limit

        held = limit(held, eval_limit, seed)  # random: the holdout is in class order for image folders
    out = Path(out)
    settings = {"checkpoint": str(Path(checkpoint).resolve()), "data": data, "holdout": holdout, "seed": seed,
                "ratios": scanned, "criterion": criterion, "finetune_steps": finetune_steps, "lr": lr,
                "batch_size": batch_size, "eval_limit": eval_limit}
    info_path, csv_path = out / "sensitivity.json", out / "sensitivity.csv"
    stored = json.loads(info_path.read_text()) if info_path.is_file() and csv_path.is_file() else {}
    if stored.get("settings") == settings:
        click.echo(f"Reusing the scan in {csv_path} (same settings).")
        baseline, rows = stored["baseline_accuracy"], read_csv(csv_path)
    else:
        crit = CRITERIA.create(criterion, seed=seed)
        baseline, rows = scan(net, shape, held, scanned, crit, train=bundle.train, finetune_steps=finetune_steps,
                              finetune={"lr": lr, "batch_size": batch_size, "augment": bundle.augment},
                              seed=seed, progress=not no_progress)
        write_csv(rows, csv_path)
        info_path.write_text(json.dumps({"settings": settings, "baseline_accuracy": baseline}, indent=2) + "\n")
    chosen, info = None, {}
    if threshold is not None:
        chosen = ratios_for_threshold(rows, threshold)
    elif target_params is not None:
        from netadapt.sensitivity.budget import params_cost, params_target

        goal = params_target(net, target_params)
        threshold, chosen, value = search_threshold(rows, params_cost(net, shape), goal)
        info = {"target_params": target_params, "params_limit": goal}
    elif target_latency is not None:
        from netadapt.sensitivity.budget import latency_cost

        cost, start_ms = latency_cost(net, shape, dev, lut=lut_url)
        goal = budget.resolve(start_ms)
        threshold, chosen, value = search_threshold(rows, cost, goal)
        info = {"target_latency": str(budget), "table_ms": value, "start_table_ms": start_ms, "budget_ms": goal}
    name = f"{loaded.spec.name.split(':')[-1]} on {data.split(':')[0]}"
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
