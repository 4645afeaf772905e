"""Everything a report shows, read from a run folder (and its uniform baseline, when built)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netadapt.errors import UserError
from netadapt.runs import folder as rf

BASELINE_POINTS = Path("baseline") / "points.json"


@dataclass
class RunData:
    """A run folder's content.

    Attributes:
        run_dir: the folder.
        config: the run's settings (``config.json``).
        iterations: every whole iteration's ``info.json``, in order.
        final: ``final/info.json``, or None while the run has no final model.
        summary: ``summary.json``, or None.
        baseline: the uniform width-multiplier points, or an empty list.
    """

    run_dir: Path
    config: dict
    iterations: list[dict]
    final: dict | None = None
    summary: dict | None = None
    baseline: list[dict] = field(default_factory=list)

    @property
    def budget_ms(self) -> float | None:
        for source in (self.final, self.summary):
            if source and source.get("budget_ms") is not None:
                return float(source["budget_ms"])
        try:  # a run still in progress: resolve the budget against the measured start
            from netadapt.config.budget import parse_budget

            return parse_budget(self.config.get("budget")).resolve(self.iterations[0]["measured_ms"])
        except (UserError, KeyError, TypeError):
            return None

    @property
    def own_task(self) -> bool:
        """Whether the run scored models with a user's ``evaluate`` (netadapt.prune, ``--task``) rather than
        netadapt's classification accuracy."""
        return "holdout_accuracy" not in self.iterations[0]

    @property
    def score_label(self) -> str:
        """What an iteration's score is: ``holdout accuracy``, or the task's ``score``."""
        return "score" if self.own_task else "holdout accuracy"

    @property
    def final_label(self) -> str:
        """What the final model's score is: ``test accuracy``, or the task's ``score``."""
        return "score" if self.own_task else "test accuracy"

    @staticmethod
    def score(info: dict) -> float:
        """An iteration's (or baseline point's holdout) score: its accuracy, or its task's ``score``."""
        return info["holdout_accuracy"] if "holdout_accuracy" in info else info.get("score")

    @staticmethod
    def final_score(info: dict) -> float:
        """A final model's (or baseline point's) score: its test accuracy, or its task's ``score``."""
        return info["test_accuracy"] if "test_accuracy" in info else info.get("score")

    @property
    def start_channels(self) -> dict[str, int]:
        first = self.iterations[0]
        return dict(first.get("original_channels") or first["channels"])

    @property
    def end_channels(self) -> dict[str, int]:
        return dict(self.final["channels"] if self.final else self.iterations[-1]["channels"])


def _read(path: Path, what: str):
    try:
        return rf.read_json(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from exc


def load_run(run_dir) -> RunData:
    """Read a run folder written by ``netadapt run``.

    Raises:
        UserError: ``run_dir`` is not a run folder (no ``config.json`` or no ``iter_000``).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"{run} is not a folder; give the folder written by `netadapt run`")
    last = rf.last_iteration(run)
    if not (run / rf.CONFIG_FILE).is_file() or last is None:
        raise UserError(f"{run} is not a netadapt run folder (it needs {rf.CONFIG_FILE} and iter_000/info.json)")
    iterations = []
    for i in range(last + 1):
        path = rf.iteration_dir(run, i) / "info.json"
        if not path.is_file():
            raise UserError(f"{run} lacks iteration {i} ({path}); the run folder is damaged")
        iterations.append(_read(path, "iteration record"))
    final_path = rf.final_dir(run) / "info.json"
    summary_path = run / "summary.json"
    baseline_path = run / BASELINE_POINTS
    return RunData(
        run_dir=run,
        config=_read(run / rf.CONFIG_FILE, "run settings"),
        iterations=iterations,
        final=_read(final_path, "final record") if final_path.is_file() else None,
        summary=_read(summary_path, "run summary") if summary_path.is_file() else None,
        baseline=list(_read(baseline_path, "baseline points")) if baseline_path.is_file() else [],
    )
