"""The network an iteration starts from, as the loop reads it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Current:
    """The network an iteration starts from: the fields the loop reads, typed, and its whole record.

    Attributes:
        iteration: the iteration that made it (0: the start model).
        measured_ms: its latency measured on the device (against the start, or alone for the start).
        channels: its channel count per group.
        origin: per group, the indices of the start model's channels it kept.
        candidates: the candidates of the iteration that made it (their counts are the next search's hints).
        record: its record as the iteration folder's info.json holds it (scores, the measurement's interval,
            the search), for the stop and selection rules and the task's score.
    """

    iteration: int
    measured_ms: float
    channels: dict[str, int]
    origin: dict[str, list[int]]
    candidates: list[dict] = field(default_factory=list)
    record: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, record: dict) -> "Current":
        """The network an iteration's record (info.json) describes."""
        return cls(iteration=record["iteration"], measured_ms=record["measured_ms"], channels=record["channels"],
                   origin=record["origin"], candidates=record.get("candidates", []), record=record)
