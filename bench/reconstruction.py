"""Does feature-map reconstruction make a candidate's no-fine-tune score mean something?

On a trained CIFAR-10 base (../shared/models, as bench/netadapt_vs_uniform.py loads it), the first NetAdapt
iteration's candidates are found as the loop finds them (every group searched for the largest count whose
table estimate meets the first step's target, ``largest_counts_meeting``; the lookup table is kept in
bench/out/), each pruned with the run's criterion, and scored on the holdout:

- ``plain``: pruned, no fine-tune;
- ``plain+bn``: the same after re-estimating batch-norm on ``--bn-batches`` training batches (EagleEye);
- ``recon``: the cut groups' consumers refit by least squares to the unpruned network's outputs on
  ``--samples`` training images (netadapt.pruning.reconstruct), no fine-tune;
- ``recon+bn``: that, then batch-norm re-estimated;
- ``ft``: plain pruning then the short-term fine-tune (``--short-steps``, the run's learning rate and
  distillation), the accuracy NetAdapt ranks candidates by; ``recon+ft``: reconstruction, then the same.

It prints every candidate's scores and the Spearman correlation of each no-fine-tune score with ``ft`` (and
with ``recon+ft``). Each candidate's scores are kept in bench/out/reconstruction-<settings>/, so a killed
run resumes.

    python bench/reconstruction.py --base resnet20     # about 30 minutes on 2 busy cores
    python bench/reconstruction.py --base resnet20 --eval-limit 300 --short-steps 5 --groups 3  # a smoke test
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
BASES = {"resnet20": SHARED / "models" / "resnet20-cifar10" / "model.pt",
         "mobilenet_v1": SHARED / "models" / "mobilenet_v1-x0.5-cifar10" / "model.pt"}
sys.path.insert(0, str(HERE))


def first_iteration_cuts(model, graph, shape, step: int, reduction: float, lut: str, s: dict) -> dict[str, int]:
    """Each group's count in the first NetAdapt iteration: the largest on its grid whose anchored table
    estimate meets the start's table latency less ``reduction`` of it."""
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.algorithm.search import largest_counts_meeting
    from netadapt.latency import LatencyEstimator
    from netadapt.latency.grid import probe_grids
    from profilers import ProfileConfig, get_profiler

    device = get_device(s["device"], threads=s["threads"])
    estimator = LatencyEstimator(LatencyTable(lut), device,
                                 get_profiler(device, ProfileConfig(warmup=s["warmup"], repeats=s["repeats"])))
    estimates = CandidateEstimates(estimator, model, graph, math.nan, grids=probe_grids(graph, graph.sizes(), step))
    estimates.anchor_ms = estimates.current_ms
    target = estimates.current_ms * (1 - reduction)
    found = largest_counts_meeting(estimates, {g: (graph.groups[g].size, None) for g in graph.groups}, step, target)
    return {g: r[0] for g, r in found.items() if isinstance(r, tuple)}


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) > 2 else math.nan


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--base", type=click.Choice(sorted(BASES)), default="resnet20")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path),
              default=SHARED / "data" / "cifar10-jpg.tar.gz")
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=HERE / "out")
@click.option("--eval-limit", type=int, default=1000, help="Holdout images each candidate is scored on.")
@click.option("--samples", type=int, default=256, help="Training images whose activations are reconstructed.")
@click.option("--per-image", type=int, default=16, help="Positions sampled per image for a convolution.")
@click.option("--ridge", type=float, default=1e-3, help="Least squares' penalty on the weights (relative).")
@click.option("--bn-batches", type=int, default=10, help="Training batches batch-norm is re-estimated on.")
@click.option("--short-steps", type=int, default=20, help="Short-term fine-tune steps (netadapt run's default).")
@click.option("--reduction", type=float, default=0.025,
              help="The first iteration's step, of the start's latency (netadapt run's default schedule).")
@click.option("--channel-step", type=int, default=8)
@click.option("--groups", type=int, default=0, help="Candidates kept (evenly spread over the groups); 0: all.")
@click.option("--only-done", is_flag=True, help="Only summarise the candidates already scored.")
@click.option("--reverse", is_flag=True, help="Score the candidates last first (a second process beside the first "
                                               "one then shares the work; each skips what the other has finished).")
@click.option("--device", default="cpu")
@click.option("--threads", type=int, default=1)
@click.option("--batch", type=int, default=32, help="Batch size the latency table is read at.")
@click.option("--warmup", type=int, default=5)
@click.option("--repeats", type=int, default=15)
@click.option("--torch-threads", type=int, default=2)
@click.option("--seed", type=int, default=0)
def main(base, archive, out_root, only_done, reverse, **s):
    """Candidates' no-fine-tune scores, with and without reconstruction, against their fine-tuned accuracy."""
    import torch

    from netadapt.checkpoint import load_checkpoint
    from netadapt.config.run import RunConfig
    from netadapt.criteria import create_criterion
    from netadapt.data import load_data
    from netadapt.data.loader import make_loader
    from netadapt.data.splits import limit
    from netadapt.pruning import analyze, keep_channels
    from netadapt.pruning.reconstruct import reconstruct, refit_layers
    from netadapt.runs import folder as rf
    from netadapt.seeding import derive_seed
    from netadapt.training import evaluate, fine_tune
    from netadapt.training.batchnorm import recalibrate_batchnorm
    from train_cifar import unpack

    torch.set_num_threads(s.pop("torch_threads"))
    t0 = time.perf_counter()
    settings = {"base": base, **s}
    out = out_root / f"reconstruction-{base}-{hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]}"
    out.mkdir(parents=True, exist_ok=True)
    click.echo("settings: " + json.dumps(settings, sort_keys=True))
    run = RunConfig()
    ft = run.finetune
    data = load_data(f"imagefolder:{unpack(archive, out_root / 'cifar10-jpg')}", holdout=run.holdout, seed=0)
    holdout = limit(data.holdout, s["eval_limit"], s["seed"])
    loaded = load_checkpoint(BASES[base])
    model = loaded.model.eval()
    shape = (s["batch"], *tuple(loaded.input_shape)[1:])
    graph = analyze(model, shape)
    cuts_path = out / "cuts.json"
    if cuts_path.is_file():
        cuts = rf.read_json(cuts_path)
    else:
        cuts = first_iteration_cuts(model, graph, shape, s["channel_step"], s["reduction"],
                                    str(out_root / "reconstruction-lut.db"), s)
        rf.write_json(cuts_path, cuts)
    names = list(cuts)
    if s["groups"] and s["groups"] < len(names):
        names = [names[round(i * (len(names) - 1) / (s["groups"] - 1))] for i in range(s["groups"])] \
            if s["groups"] > 1 else names[:1]
    images = next(iter(make_loader(data.train, s["samples"], shuffle=True, seed=s["seed"])))[0]
    criterion = create_criterion(run.criterion, seed=s["seed"])
    full = evaluate(model, holdout)
    click.echo(f"base {base}: holdout accuracy {full:.4f} on {len(holdout)} images; {len(names)} candidates; "
               f"{time.perf_counter() - t0:.0f} s so far")
    rows = []
    for g in reversed(names) if reverse else names:
        done = out / f"{g}.json"
        if done.is_file():
            rows.append(rf.read_json(done))
            continue
        if only_done:
            continue
            continue
        c0 = time.perf_counter()
        keep = {g: criterion.select(model, graph.groups[g], cuts[g])}
        plain = copy.deepcopy(model)
        keep_channels(plain, graph, keep)
        rebuilt = copy.deepcopy(plain)
        fits = reconstruct(model, rebuilt, refit_layers(graph, keep), images, ridge=s["ridge"],
                           per_image=s["per_image"], seed=s["seed"])
        row = {"group": g, "channels": cuts[g], "size": graph.groups[g].size,
               "layer_error": [[f.layer, f.before, f.after] for f in fits],
               "plain": evaluate(plain, holdout), "recon": evaluate(rebuilt, holdout)}
        for name, net in (("plain", plain), ("recon", rebuilt)):
            bn = copy.deepcopy(net)
            recalibrate_batchnorm(bn, data.train, s["bn_batches"], batch_size=ft.batch_size, seed=s["seed"])
            row[f"{name}+bn"] = evaluate(bn, holdout)
        refit_seconds = time.perf_counter() - c0
        for name, net in (("ft", plain), ("recon+ft", rebuilt)):
            fine_tune(net, data.train, s["short_steps"], batch_size=ft.batch_size, lr=ft.short_lr,
                      seed=derive_seed(s["seed"], 0, g), augment=data.augment, teacher=model, distill=ft.distill,
                      temperature=ft.temperature)
            row[name] = evaluate(net, holdout)
        row["seconds"] = {"prune_refit_score": refit_seconds, "all": time.perf_counter() - c0}
        rf.write_json(done, row)
        rows.append(row)
        click.echo(f"{g:>24} {cuts[g]:>3}/{graph.groups[g].size:<3} plain {row['plain']:.4f} plain+bn "
                   f"{row['plain+bn']:.4f} recon {row['recon']:.4f} recon+bn {row['recon+bn']:.4f} | ft "
                   f"{row['ft']:.4f} recon+ft {row['recon+ft']:.4f} ({row['seconds']['all']:.0f} s)")
    scores = ("plain", "plain+bn", "recon", "recon+bn")
    summary = {"settings": settings, "base_holdout_accuracy": full, "rows": rows,
               "spearman": {truth: {k: spearman([r[k] for r in rows], [r[truth] for r in rows]) for k in scores}
                            for truth in ("ft", "recon+ft")},
               "mean": {k: sum(r[k] for r in rows) / len(rows) for k in (*scores, "ft", "recon+ft")},
               "wall_seconds": time.perf_counter() - t0}
    rf.write_json(out / "summary.json", summary)
    for truth, corr in summary["spearman"].items():
        click.echo(f"Spearman with {truth}: " + ", ".join(f"{k} {v:+.3f}" for k, v in corr.items()))
    click.echo("mean holdout accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in summary["mean"].items()))
    best = {k: max(rows, key=lambda r: r[k])["group"] for k in (*scores, "ft")}
    click.echo("candidate each score would pick: " + ", ".join(f"{k} {v}" for k, v in best.items()))
    click.echo(f"results: {out / 'summary.json'}; wall time {summary['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
