"""Settings of one NetAdapt run, grouped by concern: each declared once (``netadapt.config.fields``), and from
that declaration come ``netadapt run``'s options, ``netadapt.prune``'s keywords, run.toml and the checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from netadapt.config import version as versions
from netadapt.config.fields import check, nest, setting, settings_of
from netadapt.config.schedule import ReductionSchedule

#: What ranks candidates on the holdout (``RunConfig.score``).
SCORES = ("accuracy", "loss", "kl")
#: How the candidate of an iteration is picked (``RunConfig.selection``).
SELECTIONS = ("accuracy", "efficiency")
#: How an iteration shrinks the network (``RunConfig.search``).
SEARCHES = ("netadapt", "halp")
#: Where workers run (``ExecutionConfig.executor``).
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class FineTuneConfig:
    short_steps: int = setting(20, "Fine-tune iterations per candidate.", flag="short-term-steps", low=0)
    short_lr: float = setting(0.01, "Short-term fine-tune learning rate.", flag="short-term-lr", low=0)
    long_epochs: int = setting(3, "Fine-tune epochs of the final model.", flag="long-term-epochs", low=0)
    long_lr: float = setting(0.01, "Long-term fine-tune peak learning rate (cosine schedule).",
                             flag="long-term-lr", low=0)
    batch_size: int = setting(64, "Fine-tune batch size.", low=1)
    distill: float = setting(0.5, "Weight of distillation from the start model in short- and long-term "
                                  "fine-tuning (0: plain cross-entropy).", low=0, high=1)
    temperature: float = setting(4.0, "Distillation temperature.", flag="distill-temperature", low=0,
                                 low_open=True)
    long_steps: int | None = setting(None, "With --task: steps of your train for the final model "
                                           "(netadapt.prune's long_term_steps).", flag="long-term-steps", low=0)
    reconstruct: int = setting(0, "Before each candidate's short-term fine-tune, refit the layers its cut feeds "
                                  "to the current network's outputs on this many training images (feature-map "
                                  "reconstruction, least squares; 0: off).", low=0)

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides the result of a run (and so names and guards its folder)."""

    budget: str = setting("20ms", "Latency budget: 20ms, 1.5s, 800us, or 50% of the starting latency.",
                          required=True)
    model: str = setting("digits_cnn", "Zoo name or package.module:factory.")
    model_kwargs: dict = setting(None, 'Constructor arguments as a JSON object, e.g. \'{"width_mult": 0.5}\'.',
                                 flag="model-args")
    checkpoint: str | None = setting(None, "Trained checkpoint (netadapt train). Without one, the base model "
                                           "is trained first.", file=True)
    data: str = setting("digits", "Data source: digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")
    holdout: float = setting(0.1, "Holdout carved from the training data to rank candidates (fraction or "
                                  "count).", low=0, low_open=True)
    eval_limit: int | None = setting(None, "Rank candidates on at most this many holdout images.", low=1)
    device: str = setting("cpu", "Device to measure on (see `netadapt devices`).")
    threads: int = setting(1, "Intra-op threads of the ONNX Runtime session (CPU devices).", low=1, high=256)
    gpu_id: int = setting(0, "GPU index (CUDA devices).", low=0, high=64)
    batch: int = setting(32, "Batch size the latency is measured and budgeted at (1: single-image latency).",
                         low=1, high=4096)
    warmup: int = setting(10, "Warm-up runs before timing.", low=0)
    repeats: int = setting(50, "Timed runs per layer.", low=1)
    model_repeats: int = setting(40, "Timed runs per whole-model measurement round (3 rounds, interleaved "
                                     "with the start).", low=1)
    channel_step: int = setting(8, "Channel counts move on multiples of this step.", low=1, high=4096)
    schedule: ReductionSchedule = field(default_factory=ReductionSchedule)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)
    base_epochs: int = setting(6, "Epochs to train the base model when no checkpoint is given.", low=0)
    rewind_iteration: int = setting(20, "When the base model is trained here: the training iteration whose "
                                        "weights (and learning rate) lottery/lr_rewind rewind to.", low=0)
    criterion: str = setting("l2", "Which filters stay: a pruning-criterion plug-in (l2, l1, bn_scale, "
                                   "random, taylor, ...).")
    rewinder: str = setting("none", "Which weights candidates fine-tune from: a rewinding plug-in.")
    selection: str = setting("efficiency", "accuracy: the best holdout score (the paper's rule); efficiency: "
                                           "the least score lost per ms saved.", choices=SELECTIONS)
    score: str = setting("accuracy", "What ranks candidates on the holdout: top-1 accuracy, cross-entropy "
                                     "loss, or KL to the start model's outputs.", choices=SCORES)
    bn_batches: int = setting(0, "Re-estimate batch-norm statistics on this many training batches before "
                                 "scoring a candidate (0: keep them).", low=0)
    search: str = setting("netadapt", "netadapt: cut one group per iteration (the best of one fine-tuned "
                                      "candidate per group); halp: cut every group at once, keeping the channels "
                                      "with the most Taylor importance that fit the iteration's target "
                                      "(--criterion is not used).", choices=SEARCHES)
    max_iterations: int = setting(100, "Stop after this many iterations even if the budget is not met.", low=0)
    seed: int = setting(0, "Seed of fine-tuning, random criteria and the --eval-limit subset.")
    split_seed: int = setting(0, "Seed of the holdout split: the one the checkpoint was trained with "
                                 "(netadapt train --seed), or candidates are ranked on images the model learned.")

    def __post_init__(self):
        check(self)

    def to_dict(self) -> dict:
        """Every setting, as config.json holds them (with the settings ``version``)."""
        d = asdict(self)
        d["model_kwargs"] = dict(self.model_kwargs or {})
        return {versions.VERSION_KEY: VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """The settings of a config.json of any version (see :func:`upgrade`)."""
        d = upgrade(d)
        del d[versions.VERSION_KEY]
        d["schedule"] = ReductionSchedule(**d.get("schedule", {}))
        d["finetune"] = FineTuneConfig(**d.get("finetune", {}))
        return cls(**d)

    def name_hash(self) -> str:
        """What default run-folder names end with: a hash of the settings that differ from the defaults."""
        return versions.name_hash(self.to_dict(), RunConfig().to_dict())

    def version_1_name_hash(self) -> str:
        """The hash the same settings' default folder name ended with before the version field."""
        return versions.version_1_name_hash(self.to_dict(), versions.added_since_version_1(_LEFT_OUT))

    @classmethod
    def from_options(cls, options: dict) -> "RunConfig":
        """The settings from options keyed by their names with underscores (``short_term_steps``), as the
        command line and ``netadapt.prune`` name them; an option not given keeps its default."""
        by_name = {s.name: s.path for s in SETTINGS}
        return nest(cls, {by_name[k]: v for k, v in options.items() if k in by_name})


@dataclass(frozen=True)
class ExecutionConfig:
    """Where an iteration's candidates are fine-tuned and scored. It never changes the result (each candidate
    has its own seed), so it is not part of a run's settings: a run may resume with other workers."""

    workers: int = setting(1, "Fine-tune and score this many candidates at once, in worker processes (the "
                              "result is the same; a run may resume with another count).", low=1, high=256)
    executor: str = setting("local", "Where workers run: processes on this machine, or a Ray cluster (pip "
                                     "install 'netadapt[ray]').", choices=EXECUTORS)
    ray_address: str | None = setting(None, "Ray cluster address, e.g. ray://head:10001 (none: a local Ray).")
    train_device: str = setting("cpu", "Where fine-tuning runs (PyTorch: cpu, cuda, cuda:1); latency is still "
                                       "measured on --device. With --workers N, cuda puts worker i on cuda:i, "
                                       "and a list names each worker's (cuda:0,cuda:0: two on one GPU). A run "
                                       "may resume with another.")

    def __post_init__(self):
        check(self)


#: ExecutionConfig's keywords (``workers``, ``executor``, ...), as ``netadapt run`` and ``netadapt.prune`` take them.
EXECUTION = tuple(s.name for s in settings_of(ExecutionConfig))

# Settings that may change between a run and its resumption without changing its result.
RESUMABLE_KEYS = ("max_iterations",)


#: The version of the settings config.json holds (``RunConfig.to_dict``); raise it when a setting is added.
VERSION = 3
# Per version, the settings its config.json files leave out, with the value their runs used. Version 1 (no
# version key) left out each setting added after run folders were first named at the value its runs used
# ("distill" was 0.0 then; it became 0.5 by default later, so a version-1 file without it means 0.0).
_LEFT_OUT = {1: {"score": "accuracy", "bn_batches": 0, "split_seed": 0, "search": "netadapt",
                 "finetune": {"distill": 0.0, "temperature": 4.0, "long_steps": None}},
             2: {"finetune": {"reconstruct": 0}}}


def upgrade(stored: dict) -> dict:
    """A run folder's config.json of any version as this version writes it.

    Raises:
        UserError: it was written by a newer netadapt.
    """
    return versions.upgrade(stored, VERSION, _LEFT_OUT)


#: RunConfig's leaf fields, in declaration order.
SETTINGS = settings_of(RunConfig)
#: RunConfig's fields as `netadapt run`'s options name them (nested fields as "group.field").
OPTION_NAMES = {s.path: s.flag for s in SETTINGS}


def as_options(config: dict) -> dict:
    """A run's settings (``RunConfig.to_dict()``, as config.json holds them) keyed by option names; a dict
    already keyed by option names passes through."""
    if not any(k in config for k in ("schedule", "finetune", "model_kwargs")):
        return dict(config)
    config = upgrade(config)  # a config.json of an earlier version means what its run used
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
