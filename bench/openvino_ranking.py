"""Benchmark: does OpenVINO rank a layer's channel counts by latency as ONNX Runtime's CPU provider does?

One convolution's output channels ``n`` run over ``--counts`` (8..64 by default, every count), in three
models at batch ``--batch``:

  - ``layer``: the convolution in a small network, ``Conv(c->n) ReLU Conv(n->c) ReLU GlobalAveragePool``
    at ``--hw`` x ``--hw``, as a pruned layer's count enters a network (it changes the next layer's input);
  - ``alone``: the convolution alone, as the lookup table times a node;
  - ``digits``: the built-in default model, digits_cnn at 1x32x32, with its third convolution (64 channels
    at 16x16) cut to ``n``.

Both devices (``cpu`` and ``openvino``, one thread each) and every count are timed in the same process,
interleaved: ``--rounds`` rounds, each over the counts in a fresh random order, each count on both devices in
turn (the order flipped every round), ``--runs`` timed runs a take after two untimed ones; a count's latency is
the median of its takes' medians. Three clocks are kept: wall time, the calling thread's CPU time and the
process's CPU time. Both providers compute on the calling thread with one thread (the two CPU times agree),
so on a machine shared with other work the CPU time is the steadier figure: on a 2-core VM under a load of
about 10, OpenVINO's wall times rose to several times its CPU time (often near 4, 8 or 12 ms), the CPU
provider's less. Prints per model and clock: both devices' latencies, Spearman's rank correlation between
them, the counts where a larger count is faster than the one below it, the counts where the two devices'
fastest count at or above ``n`` differs, and, per device, a multiple of 4's time over the mean of its two
neighbours' and the time of one channel past a multiple of 16 over the multiple's.

Needs an environment where `netadapt devices` lists openvino as available (docs/openvino.md).

    python bench/openvino_ranking.py
    python bench/openvino_ranking.py --counts 8-64 --rounds 7 --json ranking.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import time
import warnings


def build(kind: str, n: int, c: int, batch: int, hw: int) -> bytes:
    import torch

    if kind == "digits":  # the built-in default with its third convolution (64 channels at 16x16) cut to n
        from netadapt.models.digits_cnn import DigitsCNN

        model = DigitsCNN(stages=((32, 32), (n, 64), (128, 128)))
        c, hw = 1, 32
    elif kind == "layer":
        model = torch.nn.Sequential(torch.nn.Conv2d(c, n, 3, padding=1), torch.nn.ReLU(),
                                    torch.nn.Conv2d(n, c, 3, padding=1), torch.nn.ReLU(),
                                    torch.nn.AdaptiveAvgPool2d(1))
    else:
        model = torch.nn.Conv2d(c, n, 3, padding=1)
    torch.manual_seed(n)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.zeros(batch, c, hw, hw), buf, dynamo=False)
    return buf.getvalue()


def take(session, feeds, runs: int) -> tuple[float, float, float]:
    """Medians (ms) of one take's runs: wall clock, the calling thread's CPU time, the process's CPU time."""
    for _ in range(2):
        session.run(None, feeds)
    wall, thread, process = [], [], []
    for _ in range(runs):
        t0, c0, p0 = time.perf_counter_ns(), time.thread_time_ns(), time.process_time_ns()
        session.run(None, feeds)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
        thread.append((time.thread_time_ns() - c0) / 1e6)
        process.append((time.process_time_ns() - p0) / 1e6)
    return statistics.median(wall), statistics.median(thread), statistics.median(process)


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):  # ties share their mean rank
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def inversions(counts: list[int], ms: list[float]) -> set[int]:
    """Counts that are faster than the next smaller count (a larger layer that runs faster)."""
    return {counts[i] for i in range(1, len(counts)) if ms[i] < ms[i - 1]}


def neighbours(counts: list[int], ms: list[float], block: int) -> float | None:
    """Median over the multiples of ``block`` of their time over the mean of the counts either side."""
    at = {n: v for n, v in zip(counts, ms)}
    ratios = [at[n] / ((at[n - 1] + at[n + 1]) / 2) for n in counts if n % block == 0 and n - 1 in at and n + 1 in at]
    return statistics.median(ratios) if ratios else None


def step_up(counts: list[int], ms: list[float], block: int) -> float | None:
    """Median over the multiples of ``block`` of the next count's time over theirs (the cost of one channel
    past a block)."""
    at = {n: v for n, v in zip(counts, ms)}
    ratios = [at[n + 1] / at[n] for n in counts if n % block == 0 and n + 1 in at]
    return statistics.median(ratios) if ratios else None


DESCRIPTIONS = {"layer": "Conv {c}->n 3x3 at {hw}x{hw}, ReLU, Conv n->{c}, ReLU, global pool",
                "alone": "Conv {c}->n 3x3 at {hw}x{hw} alone",
                "digits": "digits_cnn at 1x32x32 with its third convolution (64 at 16x16) cut to n"}


def summary(counts: list[int], ms: dict) -> dict:
    """Both devices' latencies per count, Spearman's correlation, and where the two disagree."""
    inv = {name: inversions(counts, values) for name, values in ms.items()}
    best_from = {name: [min(range(i, len(counts)), key=values.__getitem__) for i in range(len(counts))]
                 for name, values in ms.items()}
    return {"ms": ms, "spearman": spearman(ms["cpu"], ms["openvino"]),
            "multiple_of_4_vs_neighbours": {name: neighbours(counts, values, 4) for name, values in ms.items()},
            "multiple_of_16_vs_next": {name: step_up(counts, values, 16) for name, values in ms.items()},
            "inversions": {k: sorted(v) for k, v in inv.items()},
            "inversions_disagree": sorted(inv["cpu"] ^ inv["openvino"]),
            "fastest_at_or_above_differs": [counts[i] for i in range(len(counts))
                                            if best_from["cpu"][i] != best_from["openvino"][i]]}


def _ratios(by_device: dict) -> str:
    return ", ".join(f"{name} {value:.2f}" if value is not None else f"{name} -" for name, value in by_device.items())


def main(argv=None) -> dict:
    import numpy as np

    from devices import usable_device

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="8-64", help="first-last channel counts, every count (default 8-64)")
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--channels", type=int, default=32, help="the other layers' channels")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hw", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", default="layer,alone,digits")
    parser.add_argument("--json", dest="json_path", help="also write the figures here")
    args = parser.parse_args(argv)
    first, last = (int(v) for v in args.counts.split("-"))
    counts = list(range(first, last + 1, args.step))
    devices = {name: usable_device(name, threads=1) for name in ("cpu", "openvino")}
    rng = random.Random(0)
    result = {"counts": counts, "batch": args.batch, "hw": args.hw, "channels": args.channels,
              "fingerprints": {k: d.fingerprint() for k, d in devices.items()}, "models": {}}
    for kind in args.models.split(","):
        start = time.perf_counter()
        sessions = {}
        for n in counts:
            data = build(kind, n, args.channels, args.batch, args.hw)
            sessions[n] = {name: dev.create_session(data) for name, dev in devices.items()}
        shape = sessions[counts[0]]["cpu"].get_inputs()[0].shape
        x = np.random.default_rng(0).standard_normal(shape, np.float32)
        takes = {name: {n: [] for n in counts} for name in devices}
        for r in range(args.rounds):
            order = counts[:]
            rng.shuffle(order)
            names = list(devices) if r % 2 == 0 else list(devices)[::-1]
            for n in order:
                for name in names:
                    session = sessions[n][name]
                    takes[name][n].append(take(session, {session.get_inputs()[0].name: x}, args.runs))
        clocks = {"wall": 0, "thread_cpu": 1, "process_cpu": 2}
        figures = {"seconds": time.perf_counter() - start}
        for clock, i in clocks.items():
            ms = {name: [statistics.median(t[i] for t in takes[name][n]) for n in counts] for name in devices}
            figures[clock] = summary(counts, ms)
        result["models"][kind] = figures
        print(f"== {kind}: {DESCRIPTIONS[kind].format(c=args.channels, hw=args.hw)}, batch {args.batch}"
              f" ({figures['seconds']:.0f} s)")
        print("   n   cpu ms  openvino ms  openvino/cpu   (wall clock; then the calling thread's CPU time)")
        wall, cpu_time = figures["wall"]["ms"], figures["thread_cpu"]["ms"]
        for j, n in enumerate(counts):
            a, b = wall["cpu"][j], wall["openvino"][j]
            ta, tb = cpu_time["cpu"][j], cpu_time["openvino"][j]
            print(f"{n:4d} {a:8.3f} {b:12.3f} {b / a:13.2f}   {ta:8.3f} {tb:8.3f} {tb / ta:6.2f}")
        for clock in clocks:
            f = figures[clock]
            print(f"[{clock}] Spearman cpu vs openvino {f['spearman']:.3f}; a larger count faster than the one "
                  f"below it: cpu at {f['inversions']['cpu']}, openvino at {f['inversions']['openvino']}; "
                  f"the fastest count at or above n differs at {f['fastest_at_or_above_differs']}; a multiple of 4 "
                  f"over its neighbours' mean: {_ratios(f['multiple_of_4_vs_neighbours'])}; one past a multiple of "
                  f"16 over it: {_ratios(f['multiple_of_16_vs_next'])}")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    main()
