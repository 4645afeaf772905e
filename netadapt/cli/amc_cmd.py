"""``netadapt amc``: AMC, an agent choosing every group's keep ratio under a latency budget."""

from __future__ import annotations

import click

from netadapt.amc.config import AmcConfig
from netadapt.cli.options import config_option, device_options, lut_option, task_refused

_A = AmcConfig()


@click.command()
@task_refused("amc")
@config_option()
@click.option("--budget", required=True, help="Latency budget: 20ms, 1.5s, 800us, or 50% of the start.")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Trained checkpoint (netadapt train).")
@click.option("--data", default=_A.data, show_default=True, help="digits, cifar10:<dir>, imagefolder:<dir>, ...")
@device_options
@click.option("--batch", type=click.IntRange(1), default=_A.batch, show_default=True,
              help="Batch size the latency is measured at.")
@click.option("--episodes", type=click.IntRange(1), default=_A.episodes, show_default=True)
@click.option("--warmup-episodes", type=click.IntRange(0), default=_A.warmup_episodes, show_default=True,
              help="Episodes of random actions before the agent acts.")
@click.option("--noise", type=click.FloatRange(0), default=_A.noise, show_default=True,
              help="Exploration noise (truncated normal) after warm-up.")
@click.option("--noise-decay", type=click.FloatRange(0, 1), default=_A.noise_decay, show_default=True)
@click.option("--lowest-ratio", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=_A.lowest_ratio, show_default=True, help="Smallest keep ratio of a group.")
@click.option("--holdout", type=float, default=_A.holdout, show_default=True)
@click.option("--eval-limit", type=click.IntRange(1), default=_A.eval_limit, show_default=True,
              help="Holdout images each episode's reward is computed on.")
@click.option("--bn-batches", type=click.IntRange(0), default=_A.bn_batches, show_default=True,
              help="Batch-norm statistics re-estimated on this many batches before each reward.")
@click.option("--reward", type=click.Choice(["accuracy", "loss"]), default=_A.reward, show_default=True)
@click.option("--criterion", default=_A.criterion, show_default=True)
@click.option("--finetune-epochs", type=click.IntRange(0), default=_A.finetune_epochs, show_default=True,
              help="Fine-tune epochs of the best policy's network.")
@click.option("--finetune-lr", type=float, default=_A.finetune_lr, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=_A.batch_size, show_default=True)
@click.option("--channel-step", type=click.IntRange(1), default=_A.channel_step, show_default=True)
@click.option("--warmup", type=click.IntRange(0), default=_A.warmup, show_default=True)
@click.option("--repeats", type=click.IntRange(1), default=_A.repeats, show_default=True)
@click.option("--model-repeats", type=click.IntRange(1), default=_A.model_repeats, show_default=True)
@click.option("--seed", type=int, default=_A.seed, show_default=True)
@click.option("--split-seed", type=int, default=_A.split_seed, show_default=True,
              help="Seed of the holdout split: the one the checkpoint was trained with (netadapt train --seed).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Search folder (default: runs/amc-<model>-<budget>-<settings hash>). Re-run to resume.")
@click.option("--train-device", default="cpu", show_default=True,
              help="Where rewards are scored and the result fine-tuned (PyTorch: cpu, cuda, cuda:1); latency "
                   "is still measured on --device.")
@click.option("--no-progress", is_flag=True)
@lut_option
def amc(budget, checkpoint, data, device_name, threads, gpu_id, batch, episodes, warmup_episodes, noise, noise_decay,
        lowest_ratio, holdout, eval_limit, bn_batches, reward, criterion, finetune_epochs, finetune_lr, batch_size,
        channel_step, warmup, repeats, model_repeats, seed, split_seed, out, train_device, no_progress, lut_url):
    """AMC: a DDPG agent picks each group's keep ratio; every episode meets the budget by construction.

    The reward is the holdout score with batch-norm re-estimated and no fine-tuning; the best policy's
    network is pruned, fine-tuned, exported and timed against the start model.

    Example: netadapt amc --checkpoint r20.pt --data imagefolder:data/cifar10 --budget 50% --episodes 300
    """
    from pathlib import Path

    from netadapt.amc import AmcSearch
    from netadapt.checkpoint import read_checkpoint
    from netadapt.config.budget import parse_budget
    from netadapt.runs.folder import config_hash

    parse_budget(budget)
    model = read_checkpoint(checkpoint)["spec"]["name"]
    config = AmcConfig(budget=budget, model=model, checkpoint=str(Path(checkpoint).resolve()), data=data,
                       holdout=holdout, eval_limit=eval_limit, device=device_name, threads=threads, gpu_id=gpu_id,
                       batch=batch, warmup=warmup, repeats=repeats, model_repeats=model_repeats,
                       channel_step=channel_step, episodes=episodes, warmup_episodes=warmup_episodes, noise=noise,
                       noise_decay=noise_decay, lowest_ratio=lowest_ratio, bn_batches=bn_batches, reward=reward,
                       criterion=criterion, finetune_epochs=finetune_epochs, finetune_lr=finetune_lr,
                       batch_size=batch_size, seed=seed, split_seed=split_seed)
    if out is None:
        tag = budget.strip().replace("%", "pct")
        out = Path("runs") / f"amc-{model.replace(':', '_').replace('.', '_')}-{tag}-{config_hash(config.to_dict())}"
    click.echo(f"Search folder: {out}")
    final = AmcSearch(config, out, lut=lut_url, progress=not no_progress, log=click.echo,
                      train_device=train_device).run()
    verdict = "MET" if final["budget_met"] else ("WITHIN THE MEASUREMENT'S UNCERTAINTY"
                                                 if final["verdict"] == "uncertain" else "NOT MET")
    click.echo(f"best policy (episode {final['episode']}): measured {final['measurement']} -> {verdict}; "
               f"test accuracy {final['test_accuracy']:.4f}; models in {out}")
