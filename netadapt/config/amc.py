"""Settings of ``netadapt amc`` that do not decide its result (``netadapt.amc.config.AmcConfig`` holds those):
where the search folder is, where rewards are scored, and what it prints."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, same_as, setting
from netadapt.config.run import ExecutionConfig


@dataclass(frozen=True)
class AmcOutput:
    """Where an AMC search writes and trains; a search may resume with others."""

    out: str | None = setting(None, "Search folder (default: runs/amc-<model>-<budget>-<settings hash>). Re-run to "
                                    "resume.", folder=True)
    train_device: str = same_as(ExecutionConfig, "train_device", help="Where rewards are scored and the result "
                                                                      "fine-tuned (PyTorch: cpu, cuda, cuda:1); "
                                                                      "latency is still measured on --device.")
    no_progress: bool = setting(False, "No progress bar.")

    def __post_init__(self):
        check(self)
