"""Training from scratch: SGD with momentum, a per-iteration schedule, resumable, with weight rewinding."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from netadapt.data.bundle import DataBundle
from netadapt.data.loader import make_loader
from netadapt.errors import UserError
from netadapt.training import state
from netadapt.config.train import TrainConfig
from netadapt.training.device import placed, training_device
from netadapt.training.distill import DistillationLoss
from netadapt.training.evaluate import evaluate
from netadapt.training.schedule import make_scheduler
from netadapt.training.steps import make_optimizer, sgd_step


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        history: one dict per epoch: ``epoch``, ``loss`` (mean training loss), ``lr`` (at the epoch's end),
            ``holdout_accuracy`` (NaN without a holdout), ``seconds``.
        test_accuracy: top-1 accuracy on the test split after the last epoch.
        seconds: training time summed over all epochs, including those run before a resume.
    """

    history: list[dict] = field(default_factory=list)
    test_accuracy: float = float("nan")
    seconds: float = 0.0


def _resume(path: Path, config: TrainConfig, model, optimizer, scheduler) -> tuple[int, list[dict]]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("config") != config.to_dict():
        changed = sorted(k for k, v in config.to_dict().items() if saved.get("config", {}).get(k) != v)
        raise UserError(f"{path} was written with other settings ({', '.join(changed)} differ); "
                        "use the same settings, another output folder, or --no-resume")
    try:
        from netadapt.checkpoint import load_weights

        load_weights(model, saved["model"])
    except RuntimeError as exc:
        raise UserError(f"{path} holds weights of another architecture; use another output folder "
                        "or --no-resume") from exc
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    return int(saved["epoch"]), list(saved["history"])


def train(model: nn.Module, data: DataBundle, config: TrainConfig = TrainConfig(), out_dir=None,
          progress: bool = True, resume: bool = True,
          on_checkpoint: Callable[[int, Path | None], None] | None = None,
          teacher: nn.Module | None = None, device: str | torch.device | None = None) -> TrainResult:
    """Train ``model`` in place on ``data.train``.

    Each epoch replays the same order and augmentation for the same seed (see
    :class:`~netadapt.data.loader.BatchLoader`), so a resumed run ends with the same weights as an
    uninterrupted one.

    Args:
        model: the model to train.
        data: the data bundle; ``data.augment`` selects the augmentation.
        config: hyperparameters.
        out_dir: if given, ``last.pt`` is written there after every epoch (atomically) and
            ``rewind_<k>.pt`` at iteration ``config.rewind_iteration``.
        progress: show a tqdm progress bar on stderr.
        resume: continue from ``out_dir/last.pt`` when it exists (it must have the same config).
        on_checkpoint: called as ``on_checkpoint(epoch, path_of_last_pt_or_None)`` after every epoch.
        teacher: the network distilled from when ``config.distill`` > 0.
        device: where the SGD steps and the per-epoch holdout evaluation run (``cpu``, ``cuda``, ...;
            default: where the model is). The model (and teacher) go there for the call and come back after;
            checkpoints are read onto the CPU, so a run can resume on another device.

    Returns:
        A :class:`TrainResult`.

    Raises:
        UserError: an empty training split, a rewind iteration beyond the run, or a ``last.pt``
            written with other settings or for another model.
    """
    target = training_device(device) if device is not None else None
    with placed(target, model, teacher if config.distill > 0 else None):
        return _train(model, data, config, out_dir, progress, resume, on_checkpoint, teacher)


def _train(model, data, config, out_dir, progress, resume, on_checkpoint, teacher) -> TrainResult:
    from tqdm.auto import tqdm

    batch_size = min(config.batch_size, len(data.train))
    if batch_size < 2:
        raise UserError(f"training split of {data.name} has {len(data.train)} images; need at least 2")
    # Batch norm cannot train on a batch of one, so drop a trailing batch of that size.
    loader = make_loader(data.train, batch_size, shuffle=True, seed=config.seed, augment=data.augment,
                         drop_last=len(data.train) % batch_size == 1)
    steps_per_epoch = len(loader)
    total_steps = config.epochs * steps_per_epoch
    rewind = config.rewind_iteration
    if rewind is not None and rewind > total_steps:
        raise UserError(f"rewind iteration {rewind} is beyond the run's {total_steps} iterations "
                        f"({config.epochs} epochs x {steps_per_epoch})")
    optimizer = make_optimizer(model, config.lr, config.momentum, config.weight_decay, config.nesterov)
    scheduler = make_scheduler(optimizer, total_steps, config.schedule, config.warmup_epochs * steps_per_epoch)
    if config.distill > 0:
        if teacher is None:
            raise UserError("distillation (distill > 0) needs a teacher network")
        loss_fn = DistillationLoss(teacher, config.distill, config.distill_temperature, config.label_smoothing)
    else:
        loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    out = Path(out_dir) if out_dir is not None else None

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        start_epoch, history = 0, []
        if out is not None and resume and state.last_path(out).is_file():
            start_epoch, history = _resume(state.last_path(out), config, model, optimizer, scheduler)
        step = start_epoch * steps_per_epoch
        if out is not None and rewind is not None and step > rewind and not state.rewind_path(out, rewind).is_file():
            warnings.warn(f"resuming past iteration {rewind}, but {state.rewind_path(out, rewind)} is missing")

        def save_rewind():
            if out is not None and rewind == step:
                state.atomic_save({"iteration": step, "state_dict": state.copy_state(model),
                                   "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                   "lr": optimizer.param_groups[0]["lr"]}, state.rewind_path(out, rewind))

        bar = tqdm(total=total_steps, initial=step, disable=not progress, unit="it", dynamic_ncols=True)
        try:
            model.train()
            for epoch in range(start_epoch, config.epochs):
                began, losses = time.perf_counter(), []
                loader.set_epoch(epoch)
                for images, labels in loader:
                    save_rewind()
                    losses.append(sgd_step(model, optimizer, loss_fn, images, labels))
                    scheduler.step()
                    step += 1
                    bar.update(1)
                    if progress and (step % 20 == 0 or step == total_steps):  # reading a GPU loss waits for it
                        bar.set_postfix(epoch=f"{epoch + 1}/{config.epochs}", loss=f"{float(losses[-1]):.3f}")
                save_rewind()  # when k is the very last iteration
                holdout = evaluate(model, data.holdout)
                model.train()
                history.append({"epoch": epoch + 1, "loss": float(torch.stack(losses).mean()),
                                "lr": optimizer.param_groups[0]["lr"], "holdout_accuracy": holdout,
                                "seconds": time.perf_counter() - began})
                if progress:
                    bar.write(f"epoch {epoch + 1}/{config.epochs}: loss {history[-1]['loss']:.4f}, "
                              f"holdout accuracy {holdout:.4f}, {history[-1]['seconds']:.1f} s")
                path = None
                if out is not None:
                    path = state.atomic_save({"config": config.to_dict(), "epoch": epoch + 1,
                                              "model": state.copy_state(model),
                                              "optimizer": optimizer.state_dict(),
                                              "scheduler": scheduler.state_dict(),
                                              "rng": torch.get_rng_state(), "history": history},
                                             state.last_path(out))
                if on_checkpoint is not None:
                    on_checkpoint(epoch + 1, path)
        finally:
            bar.close()
    return TrainResult(history=history, test_accuracy=evaluate(model, data.test),
                       seconds=sum(h["seconds"] for h in history))
