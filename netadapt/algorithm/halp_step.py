"""One HALP iteration (``netadapt.algorithm.halp``): every group cut at once to the counts whose most important
channels fit the iteration's target, then one fine-tune as long as the candidates of a NetAdapt iteration take
together. Its search and its fine-tuned network are kept in the iteration's partial folder, so a resumed run
reuses them."""

from __future__ import annotations

import copy

from netadapt.algorithm.netadapt_step import SMALLEST_STEP, AllDropped, estimates
from netadapt.algorithm.state import Current
from netadapt.algorithm.timer import Timer
from netadapt.pruning import analyze, keep_channels
from netadapt.runs import folder as rf
from netadapt.seeding import derive_seed
from netadapt.task.adapter import CandidateJob


def iterate(run, i: int, state: Current, model, start_ms: float, budget_ms: float, original: dict):
    """Iteration ``i + 1`` (see the module): (its record, its network), or (None, ``model``) when nothing fits."""
    from netadapt.algorithm.halp import halp_counts, keep_most_important

    cfg, task = run.config, run.task
    timer = Timer()
    graph = analyze(model, run.input_shape, validate=False, frozen=run.frozen)
    partial = rf.partial_dir(run.out, i + 1)
    partial.mkdir(exist_ok=True)
    path = partial / "search.json"
    if path.exists():
        search = rf.read_json(path)
    else:
        with timer.phase("search"):
            importance = task.hooks.importance(model, graph.groups, derive_seed(cfg.seed, i, "criterion"))
            found_estimates = estimates(run, i, state, model, graph, original)
            floor = run.floor(state)
            scheduled = reduction = cfg.schedule.reduction_ms(i, start_ms)
            while True:
                target = max(state.measured_ms - reduction, floor)
                found = halp_counts(found_estimates, importance, original, cfg.channel_step, target)
                if found is not None or reduction / 2 < SMALLEST_STEP * start_ms:
                    break
                reduction /= 2
        search = {"target_ms": target, "reduction_ms": reduction, "scheduled_reduction_ms": scheduled,
                  "probes": found_estimates.probes, "found": found,
                  "keep": None if found is None else keep_most_important(importance, found["channels"])}
        rf.write_json(path, search)
    found = search["found"]
    if found is None:
        return None, model
    done = partial / "halp.json"
    if done.exists():
        cand = rf.read_json(done)
    else:
        with timer.phase("prune"):
            pruned = copy.deepcopy(model)
            keep_channels(pruned, graph, search["keep"])
            origin = {**state.origin, **{g: [state.origin[g][k] for k in keep]
                                            for g, keep in search["keep"].items()}}
            overrides = task.hooks.rewinder(cfg.rewinder, run.out).apply(pruned, origin)
        network = {**state.channels, **found["channels"]}
        # one fine-tune as long as a NetAdapt iteration's candidates (one per group) take together
        steps = cfg.finetune.short_steps * len(graph.groups)
        job = CandidateJob(group="halp", channels=sum(network.values()), predicted_ms=found["predicted_ms"],
                           origin=[], network=network, overrides=overrides, seed=derive_seed(cfg.seed, i, "halp"),
                           bn_seed=derive_seed(cfg.seed, i, "batchnorm"), steps=steps)
        cand, seconds = task.candidate(pruned, job)
        timer.add(seconds)
        if not cand["feasible"]:
            raise AllDropped(f"halp: {cand.get('dropped')}")
        cand = {**cand, "origin": origin, "finetune_steps": steps}
        task.checkpoints.save(partial / "halp.pt", pruned.state_dict(), network)
        rf.write_json(done, cand)
    best_model = task.checkpoints.load(partial / "halp.pt")
    changed = sorted(found["channels"])
    groups = f"{len(changed)} group{'s' if len(changed) > 1 else ''}"
    scores = {k: cand[k] for k in run.score_keys if k in cand}
    info = {"iteration": i + 1, "pruned_group": f"{groups} (halp)", "pruned_groups": changed,
            "channels": {**state.channels, **found["channels"]}, "origin": cand["origin"],
            **scores, "predicted_ms": found["predicted_ms"],
            "target_ms": search["target_ms"], "reduction_ms": search["reduction_ms"],
            "scheduled_reduction_ms": search["scheduled_reduction_ms"],
            "lost_importance": found["lost_importance"], "finetune_steps": cand["finetune_steps"],
            "nodes_measured_on_the_spot": run.estimator.measured_on_the_spot,
            "search_probes": search["probes"], "seconds": timer.seconds}
    info = run.write_iteration(i + 1, best_model, info, began=timer.began)
    run.log(f"iteration {i + 1}: cut {groups} ({', '.join(changed)}); predicted "
            f"{found['predicted_ms']:.3f} ms, measured {info['measured_ms']:.3f} ms, {task.describe(cand)}")
    return info, best_model
