"""Settings of one NetAdapt run, grouped by concern. The CLI maps its flags onto these in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from netadapt.config.schedule import ReductionSchedule

#: What ranks candidates on the holdout (``RunConfig.score``).
SCORES = ("accuracy", "loss", "kl")


def _f(default, help_text):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class FineTuneConfig:
    short_steps: int = _f(20, "Short-term fine-tune iterations per candidate.")
    short_lr: float = _f(0.01, "Short-term fine-tune learning rate.")
    long_epochs: int = _f(3, "Long-term fine-tune epochs of the final model.")
    long_lr: float = _f(0.01, "Long-term fine-tune peak learning rate (cosine schedule).")
    batch_size: int = _f(64, "Fine-tune batch size.")
    distill: float = _f(0.5, "Weight of distillation from the starting model in short- and long-term "
                             "fine-tuning (0: plain cross-entropy).")
    temperature: float = _f(4.0, "Distillation temperature.")
    long_steps: int | None = _f(None, "Long-term fine-tune steps of the final model when the task's own train "
                                      "runs it (netadapt.prune's long_term_steps; --long-term-epochs otherwise).")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides the result of a run (and so names and guards its folder)."""

    budget: str = _f("20ms", "Latency budget: 20ms, 1.5s, 800us, or 50% of the starting latency.")
    model: str = _f("digits_cnn", "Zoo name or package.module:factory.")
    model_kwargs: dict = _f(None, "Arguments for the model constructor.")
    checkpoint: str | None = _f(None, "Trained checkpoint; without one, the base model is trained first.")
    data: str = _f("digits", "Data source: digits, synthetic, cifar10:<dir>, imagefolder:<dir>.")
    holdout: float = _f(0.1, "Holdout carved from the training split to rank candidates (fraction or count).")
    eval_limit: int | None = _f(None, "Evaluate candidates on at most this many holdout images.")
    device: str = _f("cpu", "Device name (see `netadapt devices`).")
    threads: int = _f(1, "ONNX Runtime intra-op threads.")
    gpu_id: int = _f(0, "GPU index for CUDA devices.")
    batch: int = _f(32, "Batch size the latency is measured and budgeted at (use 1 for single-image latency).")
    warmup: int = _f(10, "Warm-up runs before timing.")
    repeats: int = _f(50, "Timed runs per layer measurement.")
    model_repeats: int = _f(40, "Timed runs per whole-model measurement round (3 rounds, interleaved "
                                     "with the starting model).")
    channel_step: int = _f(8, "Channel counts move on multiples of this step.")
    schedule: ReductionSchedule = field(default_factory=ReductionSchedule)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)
    base_epochs: int = _f(6, "Epochs to train the base model when no checkpoint is given.")
    rewind_iteration: int = _f(20, "When netadapt trains the base model: the training iteration whose "
                                   "weights (and learning rate) the lottery/lr_rewind rewinders go back to.")
    criterion: str = _f("l2", "Pruning criterion plug-in (which filters stay).")
    rewinder: str = _f("none", "Rewinding plug-in (which weights candidates fine-tune from).")
    selection: str = _f("efficiency", "Pick the candidate with the smallest loss of holdout score per ms saved "
                                      "('efficiency') or the best holdout score ('accuracy', the paper's rule).")
    score: str = _f("accuracy", "What ranks candidates on the holdout: top-1 'accuracy', cross-entropy 'loss', "
                                "or 'kl' (divergence from the starting model's outputs).")
    bn_batches: int = _f(0, "Re-estimate batch-norm statistics on this many training batches before a "
                            "candidate is scored (0: keep them).")
    search: str = _f("netadapt", "How an iteration shrinks the network: 'netadapt' (one group per iteration, "
                                 "the best of one fine-tuned candidate per group) or 'halp' (every group at once: the "
                                 "channels with the most Taylor importance that fit the iteration's target, a "
                                 "knapsack over the table; then one fine-tune as long as NetAdapt's candidates "
                                 "take together).")
    max_iterations: int = _f(100, "Stop after this many iterations even if the budget is not met.")
    seed: int = _f(0, "Seed for fine-tuning, random criteria and the holdout subset of --eval-limit.")
    split_seed: int = _f(0, "Seed of the holdout carved from the training data: keep the one the checkpoint "
                            "was trained with (netadapt train's --seed), or candidates are ranked on images "
                            "the model learned.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model_kwargs"] = dict(self.model_kwargs or {})
        # settings added later are left out at their defaults: run folders made before keep their names
        for key, default in _LATER_DEFAULTS.items():
            if d.get(key) == default:
                d.pop(key)
        for key, default in _LATER_FINETUNE_DEFAULTS.items():
            if d["finetune"].get(key) == default:
                d["finetune"].pop(key)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = {**_LATER_DEFAULTS, **d}
        d["schedule"] = ReductionSchedule(**d.get("schedule", {}))
        d["finetune"] = FineTuneConfig(**{**_LATER_FINETUNE_DEFAULTS, **d.get("finetune", {})})
        return cls(**d)


@dataclass(frozen=True)
class ExecutionConfig:
    """Where an iteration's candidates are fine-tuned and scored. It never changes the result (each candidate
    has its own seed), so it is not part of a run's settings: a run may resume with other workers."""

    workers: int = _f(1, "Candidates fine-tuned and scored at once; 1 runs them in the main process.")
    executor: str = _f("local", "Where workers run: 'local' (spawned processes on this machine) or 'ray'.")
    ray_address: str | None = _f(None, "Address of the Ray cluster (None: a local Ray instance).")
    train_device: str = _f("cpu", "Where fine-tuning and scoring run (cpu, cuda, cuda:1): PyTorch's device, "
                                  "independent of the device whose latency is measured.")


# Settings that may change between a run and its resumption without changing its result.
RESUMABLE_KEYS = ("max_iterations",)


_LATER_DEFAULTS = {"score": "accuracy", "bn_batches": 0, "split_seed": 0, "search": "netadapt"}
# What a run made before a setting existed (its config.json lacks it) ran with. "distill" was 0.0 then; it
# became 0.5 by default later, so a config.json with no "distill" still means 0.0, and a run's name leaves
# out only that old value.
_LATER_FINETUNE_DEFAULTS = {"distill": 0.0, "temperature": 4.0, "long_steps": None}


# RunConfig's fields as `netadapt run`'s options name them (nested fields as "group.field").
OPTION_NAMES = {
    "budget": "budget", "model": "model", "model_kwargs": "model-args", "checkpoint": "checkpoint", "data": "data",
    "holdout": "holdout", "eval_limit": "eval-limit", "device": "device", "threads": "threads", "gpu_id": "gpu-id",
    "batch": "batch", "warmup": "warmup", "repeats": "repeats", "model_repeats": "model-repeats",
    "channel_step": "channel-step", "schedule.initial": "initial-reduction", "schedule.decay": "reduction-decay",
    "schedule.floor": "reduction-floor", "finetune.short_steps": "short-term-steps",
    "finetune.short_lr": "short-term-lr", "finetune.long_epochs": "long-term-epochs",
    "finetune.long_lr": "long-term-lr", "finetune.long_steps": "long-term-steps",
    "finetune.batch_size": "batch-size", "finetune.distill": "distill",
    "finetune.temperature": "distill-temperature", "base_epochs": "base-epochs",
    "rewind_iteration": "rewind-iteration", "criterion": "criterion", "rewinder": "rewinder",
    "selection": "selection", "score": "score", "bn_batches": "bn-batches", "search": "search",
    "max_iterations": "max-iterations", "seed": "seed", "split_seed": "split-seed",
}


def as_options(config: dict) -> dict:
    """A run's settings (``RunConfig.to_dict()``, as config.json holds them) keyed by option names; a dict
    already keyed by option names passes through."""
    if not any(k in config for k in ("schedule", "finetune", "model_kwargs")):
        return dict(config)
    flat = {}
    for field_name, option in OPTION_NAMES.items():
        group, _, name = field_name.rpartition(".")
        source = config.get(group, {}) if group else config
        if name in source and source[name] is not None:
            flat[option] = source[name]
    if isinstance(flat.get("model-args"), dict):
        import json

        flat["model-args"] = json.dumps(flat["model-args"]) if flat["model-args"] else None
        if flat["model-args"] is None:
            del flat["model-args"]
    return flat


def to_toml(config: "RunConfig") -> str:
    """The settings as a TOML file that `netadapt run --config` reads back."""
    import json

    lines = ["# netadapt run --config <this file>: the settings of one run (command-line options win)"]
    settings = asdict(config)
    settings["model_kwargs"] = dict(config.model_kwargs or {})
    for key, value in as_options(settings).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = json.dumps(str(value))
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
