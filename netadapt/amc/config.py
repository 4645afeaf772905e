"""Settings of one AMC search: ``netadapt amc``'s options, declared once (``netadapt.config.fields``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from netadapt.config import version as versions
from netadapt.config.device import DeviceSettings
from netadapt.config.fields import check, same_as, setting

REWARDS = ("accuracy", "loss")


@dataclass(frozen=True)
class AmcConfig:
    """Everything that decides the result of a search (and so names and guards its folder)."""

    budget: str = setting("50%", "Latency budget: 20ms, 1.5s, 800us, or 50% of the starting latency.",
                          required=True)
    model: str = setting("resnet20", "Zoo name or package.module:factory (the checkpoint's when given).")
    checkpoint: str | None = setting(None, "Trained checkpoint (netadapt train).", required=True, file=True)
    data: str = setting("digits", "Data source: digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")
    holdout: float = setting(0.1, "Holdout carved from the training split (fraction or count).", low=0,
                             low_open=True)
    eval_limit: int = setting(1000, "Holdout images each episode's reward is computed on (a fixed subset).", low=1)
    device: str = same_as(DeviceSettings, "device")
    threads: int = same_as(DeviceSettings, "threads")
    gpu_id: int = same_as(DeviceSettings, "gpu_id")
    batch: int = setting(32, "Batch size the latency is measured and budgeted at.", low=1, high=4096)
    warmup: int = setting(10, "Warm-up runs before timing.", low=0)
    repeats: int = setting(50, "Timed runs per node.", low=1)
    model_repeats: int = setting(40, "Least pairs per whole-model measurement.", low=1)
    channel_step: int = setting(8, "Channel counts move on multiples of this step.", low=1, high=4096)
    episodes: int = setting(300, "Search episodes, warm-up included.", low=1)
    warmup_episodes: int = setting(100, "Episodes of random actions before the agent acts.", low=0)
    noise: float = setting(0.5, "Sigma of the truncated-normal exploration noise after warm-up.", low=0)
    noise_decay: float = setting(0.95, "The noise is multiplied by this after every episode past warm-up.",
                                 low=0, high=1)
    lowest_ratio: float = setting(0.2, "The smallest keep ratio an action may choose.", low=0, low_open=True,
                                  high=1, high_open=True)
    bn_batches: int = setting(10, "Batch-norm statistics re-estimated on this many training batches before "
                                  "the reward.", low=0)
    reconstruct: int = setting(0, "Refit the layers a cut feeds by least squares on this many training images "
                                  "(feature-map reconstruction, no training) before the reward and the fine-tune; "
                                  "0: off.", low=0)
    reward: str = setting("accuracy", "What the reward is: holdout 'accuracy' or negative cross-entropy 'loss'.",
                          choices=REWARDS)
    criterion: str = setting("l2", "Which channels stay in each group (a pruning-criterion plug-in).")
    finetune_epochs: int = setting(3, "Fine-tune epochs of the best policy's network.", low=0)
    finetune_lr: float = setting(0.01, "Peak learning rate of that fine-tune (cosine).", low=0)
    batch_size: int = setting(64, "Fine-tune batch size.", low=1)
    seed: int = setting(0, "Seed of the agent, the noise and the fine-tune.")
    split_seed: int = setting(0, "Seed of the holdout split: the one the checkpoint was trained with "
                                 "(netadapt train --seed).")

    def __post_init__(self):
        check(self)

    def to_dict(self) -> dict:
        """Every setting, as a search folder's config.json holds them (with the settings ``version``)."""
        return {versions.VERSION_KEY: VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "AmcConfig":
        d = upgrade(d)
        del d[versions.VERSION_KEY]
        return cls(**d)

    def name_hash(self) -> str:
        """What default search-folder names end with: a hash of the settings that differ from the defaults."""
        return versions.name_hash(self.to_dict(), AmcConfig().to_dict())

    def version_1_name_hash(self) -> str:
        """The hash the same settings' default folder name ended with before the version field."""
        return versions.version_1_name_hash(self.to_dict(), versions.added_since_version_1(_LEFT_OUT))


#: The version of the settings a search folder's config.json holds; raise it when a setting is added.
VERSION = 3
# Per version, the settings its files leave out, with the value their searches used.
_LEFT_OUT = {1: {"split_seed": 0}, 2: {"reconstruct": 0}}


def upgrade(stored: dict) -> dict:
    """A search folder's config.json of any version as this version writes it."""
    return versions.upgrade(stored, VERSION, _LEFT_OUT)
