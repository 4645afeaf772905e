"""Settings of one AMC search."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def _f(default, help_text):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class AmcConfig:
    """Everything that decides the result of a search (and so names and guards its folder)."""

    budget: str = _f("50%", "Latency budget: 20ms, 1.5s, 800us, or 50% of the starting latency.")
    model: str = _f("resnet20", "Zoo name or package.module:factory (the checkpoint's when given).")
    checkpoint: str | None = _f(None, "Trained checkpoint (required).")
    data: str = _f("digits", "Data source.")
    holdout: float = _f(0.1, "Holdout carved from the training split (fraction or count).")
    eval_limit: int = _f(1000, "Holdout images the reward is computed on (a fixed subset).")
    device: str = _f("cpu", "Device name.")
    threads: int = _f(1, "ONNX Runtime intra-op threads.")
    gpu_id: int = _f(0, "GPU index.")
    batch: int = _f(32, "Batch size the latency is measured and budgeted at.")
    warmup: int = _f(10, "Warm-up runs before timing.")
    repeats: int = _f(50, "Timed runs per node.")
    model_repeats: int = _f(40, "Least pairs per whole-model measurement.")
    channel_step: int = _f(8, "Channel counts move on multiples of this step.")
    episodes: int = _f(300, "Search episodes, warm-up included.")
    warmup_episodes: int = _f(100, "Episodes of random actions before the agent acts.")
    noise: float = _f(0.5, "Sigma of the truncated-normal exploration noise after warm-up.")
    noise_decay: float = _f(0.95, "The noise is multiplied by this after every episode past warm-up.")
    lowest_ratio: float = _f(0.2, "The smallest keep ratio an action may choose.")
    bn_batches: int = _f(10, "Batch-norm statistics re-estimated on this many training batches before the reward.")
    reward: str = _f("accuracy", "What the reward is: holdout 'accuracy' or negative cross-entropy 'loss'.")
    criterion: str = _f("l2", "Which channels stay in each group.")
    finetune_epochs: int = _f(3, "Fine-tune epochs of the best policy's network.")
    finetune_lr: float = _f(0.01, "Peak learning rate of that fine-tune (cosine).")
    batch_size: int = _f(64, "Fine-tune batch size.")
    seed: int = _f(0, "Seed of the agent, the noise and the fine-tune.")
    split_seed: int = _f(0, "Seed of the holdout carved from the training data: keep the one the checkpoint "
                            "was trained with.")

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["split_seed"] == 0:  # added later: searches made before keep their folder names
            d.pop("split_seed")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AmcConfig":
        return cls(**d)
