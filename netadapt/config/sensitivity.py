"""Settings of a sensitivity scan (``netadapt sensitivity``): which ratios, how each point is scored, and
how per-group ratios are chosen from the scan."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting
from netadapt.errors import UserError

DEFAULT_RATIOS = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9"


def parse_ratios(text: str) -> list[float]:
    """``"0,0.1,0.2"`` -> ``[0.0, 0.1, 0.2]`` (sorted, without repeats), each in [0, 1).

    Raises:
        UserError: not numbers, none given, or a fraction outside [0, 1).
    """
    try:
        ratios = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UserError(f"--ratios {text!r}: expected comma-separated fractions such as 0,0.1,0.2") from None
    if not ratios or ratios[0] < 0 or ratios[-1] >= 1:
        raise UserError(f"--ratios {text!r}: fractions must lie in [0, 1)")
    return ratios


@dataclass(frozen=True)
class SensitivitySettings:
    """One scan and its choice of ratios (at most one of ``threshold``, ``target_params``, ``target_latency``)."""

    ratios: str = setting(DEFAULT_RATIOS, "Prune ratios to scan (fractions of a group's channels removed).")
    criterion: str = setting("l2", "Which channels stay: l2, l1, bn_scale, taylor, random.")
    eval_limit: int | None = setting(None, "Evaluate on at most this many holdout images.", low=1)
    threshold: float | None = setting(None, "Accuracy drop (e.g. 0.02) each group may lose: writes ratios.json.",
                                      low=0)
    target_params: float | None = setting(None, "Keep at most this fraction of the parameters (e.g. 0.5): searches "
                                                "the threshold.", low=0, low_open=True)
    target_latency: str | None = setting(None, "Latency budget (2ms, or 50% of the unpruned table estimate) on "
                                               "--device: searches the threshold.")
    out: str = setting("sensitivity", "Folder for sensitivity.csv/.json/.png and ratios.json. A scan with the same "
                                      "settings is reused.", folder=True)
    no_progress: bool = setting(False, "No progress bar.")

    def __post_init__(self):
        check(self)
        parse_ratios(self.ratios)
        if sum(x is not None for x in (self.threshold, self.target_params, self.target_latency)) > 1:
            raise UserError("give at most one of --threshold, --target-params and --target-latency")

    @property
    def ratio_list(self) -> list[float]:
        return parse_ratios(self.ratios)
