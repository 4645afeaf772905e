"""One NetAdapt iteration: every group's candidate count from the table, the candidates pruned, fine-tuned
and scored by the task, and the best one kept (``netadapt.algorithm.selection``).

Everything an iteration has decided is kept in its partial folder (``iter_NNN.partial``): the search as
``search.json``, each fine-tuned candidate as ``<group>.json`` and ``<group>.pt``, so a killed run resumes
down to the candidates already fine-tuned.
"""

from __future__ import annotations

import copy
import time

from netadapt.algorithm.executors import InProcess
from netadapt.algorithm.estimates import CandidateEstimates
from netadapt.algorithm.search import largest_counts_meeting
from netadapt.algorithm.selection import select_candidate, slower_than_cut
from netadapt.algorithm.state import Current
from netadapt.algorithm.timer import Timer
from netadapt.errors import first_line
from netadapt.pruning import analyze, keep_channels
from netadapt.pruning.reconstruct import reconstruct, refit_layers
from netadapt.pruning.remove import check_counts, checked_analysis
from netadapt.runs import folder as rf
from netadapt.seeding import derive_seed
from netadapt.task.adapter import CandidateJob

# When no group can meet an iteration's target, its reduction is halved, down to this fraction of the
# starting latency (below it a step is within the table's resolution and the run stops instead).
SMALLEST_STEP = 0.001


class AllDropped(Exception):
    """Every candidate of an iteration was dropped (none could be built or scored); the message says why."""


def estimates(run, i: int, state: Current, model, graph, original: dict) -> CandidateEstimates:
    """Anchored estimates of the networks cut from iteration ``i``'s, on the export the loop made of it to
    measure it (exported again only where that file is missing). What the estimates of the iteration before
    learnt is taken over (``CandidateEstimates``'s ``previous``)."""
    from netadapt.latency.grid import probe_grids

    onnx_path = rf.iteration_dir(run.out, i) / "model.onnx"
    before = run.last_estimates
    found = CandidateEstimates(run.estimator, model, graph, state.measured_ms,
                               exported=onnx_path.read_bytes() if onnx_path.exists() else None,
                               grids=probe_grids(graph, original, run.config.channel_step),
                               previous=before[1] if before is not None and before[0] in (i - 1, i) else None)
    run.last_estimates = (i, found)
    return found


def search(run, i: int, state: Current, model, graph, start_ms: float, original: dict, timer: Timer) -> dict:
    """Every group's candidate count for iteration ``i + 1``: the largest count on its grid whose anchored
    estimate meets the iteration's target.

    When no group can meet the target (one small group of a large network rarely removes the scheduled share
    of it), the reduction is halved and the search repeated, down to ``SMALLEST_STEP`` of the starting latency,
    so the run goes on in smaller steps instead of stopping short of the budget. The result is stored in the
    iteration's partial folder, so a resumed run reuses it.
    """
    from tqdm.auto import tqdm

    cfg = run.config
    path = rf.partial_dir(run.out, i + 1) / "search.json"
    if path.exists():
        return rf.read_json(path)
    scheduled = cfg.schedule.reduction_ms(i, start_ms)
    reduction = scheduled
    smallest = SMALLEST_STEP * start_ms
    found_estimates = estimates(run, i, state, model, graph, original)
    hints = {c["group"]: c["channels"] for c in state.candidates if c.get("feasible")}
    with timer.phase("search"):
        floor = run.floor(state)
        while True:
            target = max(state.measured_ms - reduction, floor)
            results = {}
            groups = sorted(graph.groups)
            bar = tqdm(total=len(groups), desc=f"iteration {i + 1} estimates", leave=False,
                       disable=not run.progress)
            found = largest_counts_meeting(found_estimates, {g: (original[g], hints.get(g)) for g in groups},
                                           cfg.channel_step, target, done=lambda g: bar.update())
            bar.close()
            for g in groups:
                if isinstance(found[g], Exception):  # e.g. a pruned copy that cannot be exported: this group only
                    error = first_line(found[g], 300)
                    results[g] = {"error": error}
                    run.log(f"iteration {i + 1}: group {g} cannot be estimated and is skipped: {error}")
                else:
                    results[g] = None if found[g] is None else {"channels": found[g][0], "predicted_ms": found[g][1]}
            if any(r and "channels" in r for r in results.values()) or reduction / 2 < smallest:
                break
            reduction /= 2
    found = {"target_ms": target, "reduction_ms": reduction, "scheduled_reduction_ms": scheduled,
             "groups": results, "probes": found_estimates.probes}
    rf.write_json(path, found)
    return found


def prune_candidates(run, i: int, groups: list[str], found: dict, state: Current, model, graph, rewinder,
                     timer: Timer, dropped: list):
    """Prune a copy of ``model`` for each group, one at a time as the executor asks for them: criteria and
    rewinders run here, in order, so a candidate is the same whichever worker fine-tunes it. A candidate that
    cannot be built (its network does not run) is left out, its record (with why) appended to ``dropped``;
    whether its counts are those asked for is checked only if it is chosen (``checked_candidate``)."""
    cfg = run.config
    for g in groups:
        count, predicted = found["groups"][g]["channels"], found["groups"][g]["predicted_ms"]
        with timer.phase("prune"):
            try:
                cand_model = copy.deepcopy(model)
                keep = run.criterion.select(cand_model, graph.groups[g], count)
                keep_channels(cand_model, graph, {g: keep}, check=False)  # the kept one is checked
                if cfg.finetune.reconstruct:
                    reconstruct(model, cand_model, refit_layers(graph, {g: keep}), run.samples(),
                                seed=derive_seed(cfg.seed, i, g))
                origin = [state.origin[g][k] for k in keep]
                overrides = rewinder.apply(cand_model, {**state.origin, g: origin})
            except Exception as exc:  # noqa: BLE001 - this candidate only; the others go on
                why = f"cannot be built: {first_line(exc, 300)}"
                run.log(f"iteration {i + 1}: the candidate of group {g} at {count} channels {why}")
                dropped.append({"group": g, "feasible": False, "channels": count, "predicted_ms": predicted,
                                "dropped": why})
                continue
        yield CandidateJob(group=g, channels=count, predicted_ms=predicted, origin=origin,
                           network={**state.channels, g: count}, overrides=overrides,
                           seed=derive_seed(cfg.seed, i, g), bn_seed=derive_seed(cfg.seed, i, "batchnorm")), cand_model


def iterate(run, i: int, state: Current, model, start_ms: float, budget_ms: float, original: dict):
    """Iteration ``i + 1``: (its record, its network) once written, or (None, ``model``) when no group can
    shrink.

    Raises:
        AllDropped: every candidate was dropped.
    """
    from tqdm.auto import tqdm

    cfg, task = run.config, run.task
    timer = Timer()
    if run.analysed is not None and run.analysed[0] is model:
        graph = run.analysed[1]
    else:
        graph = analyze(model, run.input_shape, validate=False, frozen=run.frozen)
    partial = rf.partial_dir(run.out, i + 1)
    partial.mkdir(exist_ok=True)
    found = search(run, i, state, model, graph, start_ms, original, timer)
    rewinder = task.hooks.rewinder(cfg.rewinder, run.out)
    feasible_groups = [g for g, r in sorted(found["groups"].items()) if r and "channels" in r]
    candidates = [{"group": g, "feasible": False, **(r or {})} for g, r in sorted(found["groups"].items())
                  if g not in feasible_groups]
    if not feasible_groups:
        return None, model
    if hasattr(run.criterion, "prepare"):  # data-aware criteria (e.g. taylor) see the current model
        task.hooks.prepare_criterion(run.criterion, model, derive_seed(cfg.seed, i, "criterion"))
    todo = []
    for g in feasible_groups:
        done = partial / f"{g}.json"
        if done.exists():  # fine-tuned (or dropped) before the run was stopped
            candidates.append(rf.read_json(done))
        else:
            todo.append(g)
    bar = tqdm(total=len(todo), desc=f"iteration {i + 1} candidates", leave=False, disable=not run.progress)
    dropped: list = []
    jobs = prune_candidates(run, i, todo, found, state, model, graph, rewinder, timer, dropped)
    began = time.perf_counter()
    for job, cand, weights, seconds in run.executor.map(jobs, task):
        timer.add(seconds)  # summed over workers when they run side by side
        if cand["feasible"]:
            task.checkpoints.save(partial / f"{job.group}.pt", weights, job.network)
        rf.write_json(partial / f"{job.group}.json", cand)  # written last: its presence means it is whole
        candidates.append(cand)
        bar.update(1)
    bar.close()
    for cand in dropped:
        rf.write_json(partial / f"{cand['group']}.json", cand)
        candidates.append(cand)
    if not isinstance(run.executor, InProcess):
        timer.seconds["candidates_wall"] = time.perf_counter() - began
    # in group order whatever order the candidates finished in: ties are broken the same way
    feasible = sorted((c for c in candidates if c["feasible"]), key=lambda c: c["group"])
    if not feasible:
        reasons = [f"{c['group']}: {c['dropped']}" for c in candidates if c.get("dropped")]
        raise AllDropped(reasons[0] if reasons else "no candidate")
    while True:
        best = select_candidate(feasible, state.record, cfg.selection, task.value, stop_ms=run.stop_line())
        best_model, analysed, why = checked_candidate(run, partial / f"{best['group']}.pt", graph, best, timer)
        if why is None:
            info = run.write_iteration(i + 1, best_model, iteration_record(i, run, state, best, found, candidates,
                                                                           timer),
                                       began=timer.began, refuse=lambda m: slower_than_cut(m, state.measured_ms))
            if "refused" not in info:
                run.analysed = best_model, analysed  # what the next iteration starts from
                break
            # measured slower than the network it cut: dropped, and the next best is measured instead
            why = info["refused"]
            best.update(refused_measured_ms=info["measured_ms"])
        best.update(feasible=False, dropped=why)
        rf.write_json(partial / f"{best['group']}.json", best)
        run.log(f"iteration {i + 1}: {best['group']} at {best['channels']} channels refused: {why}")
        feasible = [c for c in feasible if c is not best]
        if not feasible:
            raise AllDropped(f"{best['group']}: {why}")
    run.log(f"iteration {i + 1}: pruned {best['group']} to {best['channels']} channels; "
            f"predicted {best['predicted_ms']:.3f} ms, measured {info['measured_ms']:.3f} ms, "
            f"{task.describe(best)}")
    return info, best_model


def checked_candidate(run, path, graph, best: dict, timer: Timer):
    """The chosen candidate's network loaded from ``path`` and checked to hold every group at the counts its
    cut asked for (the check ``keep_channels`` left out while the candidates were pruned): (the network, its
    analysis, None), or (None, None, why it cannot be built)."""
    with timer.phase("prune"):
        try:
            model, analysed = run.task.checkpoints.load_analysed(path, graph.frozen)
            expected = {**graph.sizes(), best["group"]: best["channels"]}
            if analysed is None:
                analysed = checked_analysis(model, graph.input_shape, expected, graph.frozen)
            else:
                check_counts(analysed, expected)
        except Exception as exc:  # noqa: BLE001 - this candidate only; the next best is taken
            return None, None, f"cannot be built: {first_line(exc, 300)}"
    return model, analysed, None


def iteration_record(i: int, run, state: Current, best: dict, found: dict, candidates: list, timer: Timer) -> dict:
    """Iteration ``i + 1``'s record before its network is measured: what was kept, its scores, the search and
    every candidate."""
    scores = {k: best[k] for k in run.score_keys if k in best}
    return {"iteration": i + 1, "pruned_group": best["group"],
            "channels": {**state.channels, best["group"]: best["channels"]},
            "origin": {**state.origin, best["group"]: best["origin"]},
            **scores, "predicted_ms": best["predicted_ms"],
            "target_ms": found["target_ms"], "reduction_ms": found["reduction_ms"],
            "scheduled_reduction_ms": found["scheduled_reduction_ms"],
            "candidates": [{k: v for k, v in c.items() if k != "origin"} for c in sorted(
                candidates, key=lambda c: c["group"])],
            "nodes_measured_on_the_spot": run.estimator.measured_on_the_spot,
            "search_probes": found["probes"],
            "seconds": timer.seconds}
