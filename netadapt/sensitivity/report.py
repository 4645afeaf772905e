"""Sensitivity results on disk: sensitivity.csv (one row per group and ratio) and sensitivity.png."""

from __future__ import annotations

import csv
from pathlib import Path

from netadapt.sensitivity.scan import SensitivityRow

FIELDS = ("group", "ratio", "channels", "accuracy", "drop")


def write_csv(rows: list[SensitivityRow], path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(r.to_dict() for r in rows)
    tmp.replace(path)
    return path


def read_csv(path) -> list[SensitivityRow]:
    with open(path, newline="") as f:
        return [SensitivityRow(r["group"], float(r["ratio"]), int(r["channels"]), float(r["accuracy"]),
                               float(r["drop"])) for r in csv.DictReader(f)]


def plot_sensitivity(rows: list[SensitivityRow], baseline: float, path, title: str = "",
                     threshold: float | None = None) -> Path:
    """Accuracy against prune ratio, one curve per group (as in the lecture's VGG-11 figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(r.group for r in rows))
    fig, ax = plt.subplots(figsize=(8, 5))
    cmap = plt.get_cmap("tab20" if len(groups) > 10 else "tab10")
    for i, g in enumerate(groups):
        pts = sorted((r.ratio, r.accuracy) for r in rows if r.group == g)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color=cmap(i % cmap.N), label=g)
    ax.axhline(baseline, color="black", ls="--", lw=1, label="unpruned")
    if threshold is not None:
        ax.axhline(baseline - threshold, color="red", ls=":", lw=1, label=f"drop {threshold:.3g}")
    ax.set_xlabel("prune ratio (fraction of the group's channels removed)")
    ax.set_ylabel("holdout accuracy")
    ax.set_title(title or "Sensitivity: one group pruned at a time", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
