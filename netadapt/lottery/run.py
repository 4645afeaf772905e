"""Iterative magnitude pruning with rewinding (Frankle & Carbin, 2019; Frankle et al., 2020).

Round 0 trains the dense network and keeps its weights at iteration k. Each later round removes the
fraction ``rate`` of the surviving weights by magnitude (of the previous round's trained weights),
resets the survivors to their values at iteration k (k = 0: the original initialisation) and trains
again from k. The control trains a random re-initialisation under the same mask, from the same
iteration, so the two differ only in where the surviving weights start.

Every round is saved in the output folder as it finishes; running again resumes after the last one.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Callable

import torch

from netadapt.checkpoint import atomic_save
from netadapt.errors import UserError
from netadapt.config.lottery import LotteryConfig
from netadapt.lottery.masks import magnitude_prune, ones_masks, remaining_fraction
from netadapt.lottery.train import steps_per_epoch, train_masked
from netadapt.models.spec import ModelSpec

def _build(spec: ModelSpec, seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.build()


def run_lottery(spec: ModelSpec, data, config: LotteryConfig, out, log: Callable[[str], None] = print) -> list[dict]:
    """Run the lottery experiment into folder ``out``; returns one row per round (also in lottery.csv)."""
    from netadapt.training import evaluate

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"spec": spec.to_dict(), "data": data.name, **config.to_dict()}
    settings_path = out / "settings.json"
    if settings_path.is_file():
        stored = json.loads(settings_path.read_text())
        if {k: v for k, v in stored.items() if k != "rounds"} != {k: v for k, v in settings.items() if k != "rounds"}:
            raise UserError(f"{out} holds a lottery run with other settings; use another --out")
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")
    tc = config.train
    total = tc.epochs * steps_per_epoch(data, tc)
    k = config.rewind_iteration
    if k > total:
        raise UserError(f"rewind iteration {k} is beyond the run's {total} iterations")

    rows = []
    for r in range(config.rounds + 1):
        done = out / f"round_{r}.pt"
        if done.is_file():
            saved = torch.load(done, map_location="cpu", weights_only=True)
            rows.append(saved["row"])
            masks, trained = saved["masks"], saved["trained"]
            continue
        began = time.perf_counter()
        ticket = _build(spec, tc.seed)
        if r == 0:
            masks = ones_masks(ticket)
            rewind = train_masked(ticket, data, tc, capture=k)
            atomic_save(rewind, out / "rewind.pt")
        else:
            previous = _build(spec, tc.seed)
            previous.load_state_dict(trained)
            masks = magnitude_prune(previous, masks, config.rate, config.scope)
            from netadapt.checkpoint import load_weights

            load_weights(ticket, torch.load(out / "rewind.pt", map_location="cpu", weights_only=True))
            train_masked(ticket, data, tc, masks=masks, start=k)
        row = {"round": r, "remaining": remaining_fraction(masks), "test_accuracy": evaluate(ticket, data.test),
               "control_accuracy": float("nan")}
        if r > 0 and config.control == "random-reinit":
            control = _build(spec, tc.seed + 1_000 + r)  # a fresh draw from the same initialisation
            train_masked(control, data, tc, masks=masks, start=k)
            row["control_accuracy"] = evaluate(control, data.test)
        row["seconds"] = time.perf_counter() - began
        trained = {n: t.detach().clone() for n, t in ticket.state_dict().items()}
        atomic_save({"row": row, "masks": masks, "trained": trained}, done)
        rows.append(row)
        log(f"round {r}: {100 * row['remaining']:.1f}% of weights left, test accuracy {row['test_accuracy']:.4f}"
            + ("" if math.isnan(row["control_accuracy"]) else f", random re-init {row['control_accuracy']:.4f}")
            + f" ({row['seconds']:.1f} s)")
    write_csv(rows, out / "lottery.csv")
    plot_lottery(rows, out / "lottery.png", title=f"{spec.name.split(':')[-1]} on {data.name.split(':')[0]}, "
                                                 f"rewind to iteration {k}, {config.scope} pruning")
    return rows


def write_csv(rows: list[dict], path: Path) -> Path:
    fields = ["round", "remaining", "test_accuracy", "control_accuracy", "seconds"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(row[k], float) and math.isnan(row[k]) else row[k]) for k in fields})
    return path


def plot_lottery(rows: list[dict], path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [100 * r["remaining"] for r in rows]
    ax.plot(x, [r["test_accuracy"] for r in rows], marker="o", label="winning ticket (rewound)")
    ctrl = [(100 * r["remaining"], r["control_accuracy"]) for r in rows if not math.isnan(r["control_accuracy"])]
    if ctrl:
        ax.plot([c[0] for c in ctrl], [c[1] for c in ctrl], marker="s", ls="--", label="random re-init")
    ax.axhline(rows[0]["test_accuracy"], color="gray", ls=":", label="dense")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("weights remaining (%)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
