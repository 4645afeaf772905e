"""Settings of ``netadapt run`` that are not the run's own (``RunConfig`` and ``ExecutionConfig`` hold those):
a task of the user's instead of netadapt's classification task, where the run folder is, what it prints, and
the uniform baseline it may build afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class RunCommand:
    """What ``netadapt run`` does around the run."""

    task: str | None = setting(None, "Your own task: a factory returning a netadapt.Task (or an object with model, "
                                     "example_inputs, train and evaluate); replaces --model, --data and netadapt's "
                                     "own training.", metavar="MODULE:FACTORY")
    task_args: dict | None = setting(None, "Arguments of the --task factory, as a JSON object.", metavar="JSON")
    out: str | None = setting(None, "Run folder (default: runs/<model>-<budget>-<settings hash>). Re-run to resume.",
                              folder=True)
    uniform_baseline: int = setting(0, "Also build N uniform width-multiplier models at the latencies of N "
                                       "iterations, with the same fine-tuning, for `netadapt report` to compare "
                                       "against.", low=0)
    no_progress: bool = setting(False, "Hide progress bars.")
    verbose: bool = setting(False, "Say where each iteration's time went: search, fine-tune, score, measure (also "
                                   "kept in summary.json).")
    as_json: bool = setting(False, "Print the run's summary as JSON on stdout (messages go to stderr).", flag="json")

    def __post_init__(self):
        check(self)
