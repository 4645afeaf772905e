"""Image classification on netadapt's own data sources and model zoo: the task ``netadapt run`` builds.

The model is a zoo name or ``package.module:factory`` with a checkpoint (or trained here first, in the run's
``base/`` folder); candidates are fine-tuned with SGD on the data's training split (optionally distilling from
the start model), ranked on a holdout carved from it by top-1 accuracy, cross-entropy or KL to the start model,
and the final model is trained for whole epochs and scored on the test split.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from torch import nn

from netadapt.config.run import RunConfig
from netadapt.errors import UserError
from netadapt.models.spec import ModelSpec
from netadapt.task.adapter import CandidateJob, LoopTask
from netadapt.task.checkpoints import ZooCheckpoints
from netadapt.task.hooks import ClassificationHooks
from netadapt.task.run_data import RunData
from netadapt.task.teacher import StartTeacher, needs_teacher


class ClassificationTask(LoopTask):
    """Classification of a data source's images by a zoo or factory model.

    Args:
        config: the run's settings (model, checkpoint, data, fine-tuning, score).
        train_device: where candidates and the final model are trained and scored (a torch device name).
    """

    score_label = "holdout accuracy"
    score_keys = ("holdout_accuracy", "holdout_loss", "holdout_kl")
    summary_keys = ("holdout_accuracy",)

    def __init__(self, config: RunConfig, train_device: str = "cpu"):
        self.config = config
        self.use_device(train_device)
        self.data = RunData(config)  # loaded once per process
        self.checkpoints = ZooCheckpoints()
        self.teacher = StartTeacher(self.checkpoints)
        self.hooks = ClassificationHooks(config, self.data, self.checkpoints)

    # ---- before the run folder exists -----------------------------------------------------------------------
    def check(self, log) -> None:
        cfg = self.config
        if cfg.rewinder != "none":
            from netadapt.rewinding import list_rewinders

            if cfg.rewinder not in list_rewinders():
                raise UserError(f"unknown rewinder {cfg.rewinder!r}; valid: {', '.join(list_rewinders())}")
        data = self.data.bundle  # a missing data set fails before the run folder exists
        if cfg.checkpoint:
            from netadapt.checkpoint import read_checkpoint

            read_checkpoint(cfg.checkpoint)
        elif ":" not in cfg.model:
            from netadapt.models import model_info

            kind = model_info(cfg.model).task
            if kind != "classification":
                raise UserError(f"{cfg.model} is a {kind} model: prune it through its task, e.g. netadapt run "
                                f"--task netadapt.tasks.{kind}:make_task")
        self.input_shape = self.checkpoints.input_shape = (cfg.batch, *data.input_shape)

    def candidate_model(self) -> nn.Module:
        """The given checkpoint's model, or the untrained architecture the run would train."""
        from netadapt.checkpoint import load_checkpoint

        if self.config.checkpoint:
            return load_checkpoint(self.config.checkpoint).model
        return self._data_spec().build()

    def _data_spec(self) -> ModelSpec:
        from netadapt.models.spec import spec_for_data

        data = self.data.bundle
        return spec_for_data(self.config.model, dict(self.config.model_kwargs or {}), data.num_classes,
                             data.input_shape[0])

    # ---- the starting model -----------------------------------------------------------------------------------
    def start_model(self, out: Path, log, progress: bool) -> nn.Module:
        """The given checkpoint, or a base model trained once in ``base/``."""
        import torch

        from netadapt.checkpoint import load_checkpoint, save_checkpoint

        cfg = self.config
        spec = ModelSpec(cfg.model, dict(cfg.model_kwargs or {}))
        if cfg.checkpoint:
            loaded = load_checkpoint(cfg.checkpoint)
            if loaded.spec.name != spec.name and cfg.model != RunConfig.model:
                raise UserError(f"checkpoint {cfg.checkpoint} is for model {loaded.spec.name}, not {cfg.model}")
            self.checkpoints.spec = loaded.spec
            return loaded.model
        path = Path(out) / "base" / "model.pt"
        if path.exists():
            return self.checkpoints.load(path)
        from netadapt.training import TrainConfig, train

        data = self.data.bundle
        spec = self._data_spec()
        torch.manual_seed(cfg.seed)  # the base model's initial weights follow the run's seed
        model = spec.build()
        log(f"No checkpoint given: training {spec.name} on {data.name} "
            f"for {cfg.base_epochs} epochs first (kept in {path.parent}).")
        base = TrainConfig(epochs=cfg.base_epochs, seed=cfg.seed, lr=0.05, batch_size=32)
        total_steps = cfg.base_epochs * -(-len(data.train) // base.batch_size)
        base = dataclasses.replace(base, rewind_iteration=min(cfg.rewind_iteration, total_steps))
        result = train(model, data, base, out_dir=path.parent / "train", progress=progress, resume=True,
                       device=self.train_device)
        save_checkpoint(path, model, spec, (1, *data.input_shape), extra={"test_accuracy": result.test_accuracy})
        self.checkpoints.spec = spec
        return model

    @property
    def needs_start(self) -> bool:
        return needs_teacher(self.config)

    def start(self, model: nn.Module, channels: dict[str, int]) -> None:
        """The start model is distillation's teacher and the ``kl`` score's reference."""
        if needs_teacher(self.config):
            self.teacher.keep(model, channels)

    # ---- scoring and training ---------------------------------------------------------------------------------
    def scores(self, model: nn.Module) -> dict:
        from netadapt.training import score

        scores = score(model, self.data.holdout, reference=model if self.config.score == "kl" else None)
        return {"holdout_accuracy": scores.accuracy, "holdout_loss": scores.loss, "holdout_kl": scores.kl}

    def value(self, info: dict) -> float:
        key = self.config.score
        if key == "accuracy":
            return info["holdout_accuracy"]
        value = info.get(f"holdout_{key}")
        return -value if value is not None and value == value else float("-inf")

    def describe(self, info: dict) -> str:
        return f"holdout accuracy {info['holdout_accuracy']:.4f}"

    def candidate(self, model: nn.Module, job: CandidateJob) -> tuple[dict, dict]:
        from netadapt.training.device import placed, training_device

        with placed(training_device(self.train_device), model, self.teacher.model()):
            return self._train_and_score(model, job)

    def _train_and_score(self, model, job):
        from netadapt.training import fine_tune, recalibrate_batchnorm, score

        config, data = self.config, self.data.bundle
        ft = config.finetune
        teacher = self.teacher.model()
        seconds = {}
        t0 = time.perf_counter()
        distill = {"teacher": teacher, "distill": ft.distill, "temperature": ft.temperature} if ft.distill > 0 else {}
        kwargs = {"batch_size": ft.batch_size, "lr": ft.short_lr, "seed": job.seed, "augment": data.augment,
                  **distill, **job.overrides}
        steps = ft.short_steps if job.steps is None else job.steps
        loss = fine_tune(model, data.train, steps, **kwargs)
        t1 = time.perf_counter()
        seconds["finetune"] = t1 - t0
        if config.bn_batches:  # the same batches for every candidate of the iteration
            recalibrate_batchnorm(model, data.train, config.bn_batches, ft.batch_size, seed=job.bn_seed)
        scores = score(model, self.data.holdout, reference=teacher if config.score == "kl" else None)
        seconds["evaluate"] = time.perf_counter() - t1
        record = {"group": job.group, "feasible": True, "channels": job.channels, "predicted_ms": job.predicted_ms,
                  "holdout_accuracy": scores.accuracy, "holdout_loss": scores.loss, "holdout_kl": scores.kl,
                  "finetune_loss": loss, "origin": job.origin}
        return record, seconds

    def final(self, model: nn.Module, out: Path, progress: bool, log) -> tuple[dict, dict]:
        from netadapt.training import TrainConfig, evaluate, train

        ft = self.config.finetune
        data = self.data.bundle
        seconds = {}
        if ft.long_epochs > 0:
            log(f"Long-term fine-tune: {ft.long_epochs} epochs.")
            t0 = time.perf_counter()
            train(model, data,
                  TrainConfig(epochs=ft.long_epochs, lr=ft.long_lr, batch_size=ft.batch_size, seed=self.config.seed,
                              distill=ft.distill, distill_temperature=ft.temperature),
                  out_dir=Path(out) / "final_train", progress=progress, resume=True,
                  teacher=self.teacher.model() if ft.distill > 0 else None, device=self.train_device)
            seconds["finetune"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fields = {"test_accuracy": evaluate(model, data.test), "holdout_accuracy": evaluate(model, self.data.holdout)}
        seconds["evaluate"] = time.perf_counter() - t0
        return fields, seconds
