"""Fill the table: measure the node keys it lacks, recording each as soon as it is measured."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

from lut.nodekey import NodeKey


@dataclass(frozen=True)
class MeasureSummary:
    """What one ``measure_missing`` call did.

    Attributes:
        measured: keys measured and recorded.
        skipped: keys already in the table (0 with ``force``).
        seconds: wall time of the call.
        timed_seconds: the part of it spent inside timed runs.
    """

    measured: int
    skipped: int
    seconds: float
    timed_seconds: float


def measure_missing(table, profiler, keys: Iterable[NodeKey], force: bool = False,
                    progress: bool = True) -> MeasureSummary:
    """Measure every node key the table lacks for the profiler's device, and record it.

    Each row is recorded in its own transaction right after it is measured, so an interrupted call
    loses at most the rows in flight and a second call resumes where it stopped. A profiler with
    ``measure_many(keys)`` (a farm of boards) is handed every key at once and yields (key, stats) pairs as
    its measurements come back.

    Args:
        table: a ``LatencyTable``.
        profiler: a ``Profiler``; its device's fingerprint keys the rows.
        keys: node keys wanted (repeats are measured once).
        force: measure all of them again and replace stored rows.
        progress: show a tqdm progress bar (on stderr).
    """
    from tqdm import tqdm

    start = time.perf_counter()
    timed_before = profiler.timed_seconds
    fp = profiler.device.fingerprint()
    unique = list(dict.fromkeys(keys))
    todo = unique if force else table.missing(fp, unique)
    table.devices.id(fp)
    bar = tqdm(todo, desc=f"profiling on {profiler.device.name}", unit="node", disable=not progress,
               dynamic_ncols=True)
    many = getattr(profiler, "measure_many", None)  # a farm: keys spread over boards, back in any order
    if many is not None and len(todo) > 1:
        for key, stats in many(todo):
            bar.update()
            table.record(fp, key, stats, force=force)
    else:
        for key in bar:
            bar.set_postfix_str(key.short(), refresh=False)
            table.record(fp, key, profiler.measure_node(key), force=force)
    bar.close()
    return MeasureSummary(measured=len(todo), skipped=len(unique) - len(todo),
                          seconds=time.perf_counter() - start,
                          timed_seconds=profiler.timed_seconds - timed_before)
