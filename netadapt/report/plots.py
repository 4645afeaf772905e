"""The report's three figures, drawn with matplotlib's Agg back end (imported only here, when needed)."""

from __future__ import annotations

from pathlib import Path

from netadapt.runs.rundata import RunData

DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=DPI)
    _pyplot().close(fig)
    tmp.replace(path)
    return path


def _natural(name: str):
    """Sort key that puts features.2 before features.10 (the JSON records store names sorted as text)."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def latency_accuracy(run: RunData, path: Path) -> Path:
    """Measured latency vs accuracy: every iteration, the final model, the budget, the uniform baseline."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    its = run.iterations
    xs = [it["measured_ms"] for it in its]
    ax.plot(xs, [run.score(it) for it in its], "o-", color="tab:blue",
            label=f"NetAdapt iterations ({run.score_label}, short-term fine-tuned)")
    every = max(1, -(-len(its) // 15))  # label at most ~15 points so long runs stay readable
    for it in its[::every] + ([its[-1]] if (len(its) - 1) % every else []):
        ax.annotate(str(it["iteration"]), (it["measured_ms"], run.score(it)),
                    textcoords="offset points", xytext=(4, 4), fontsize=7, color="tab:blue")
    if run.baseline:
        pts = sorted(run.baseline, key=lambda p: p["measured_ms"])
        ax.plot([p["measured_ms"] for p in pts], [run.final_score(p) for p in pts], "s--", color="tab:orange",
                label=f"uniform width multiplier ({run.final_label}, same fine-tune budget)")
        for p in pts:
            ax.annotate(f"w={p['width']:.2f}", (p["measured_ms"], run.final_score(p)),
                        textcoords="offset points", xytext=(4, -10), fontsize=7, color="tab:orange")
    if run.final:
        f = run.final
        ax.plot([f["measured_ms"]], [run.final_score(f)], "*", markersize=16, color="tab:green",
                markeredgecolor="black",
                label=f"final: iteration {f['from_iteration']} + long-term fine-tune ({run.final_label})")
    if run.budget_ms is not None:
        ax.axvline(run.budget_ms, color="tab:red", linestyle=":", label=f"budget {run.budget_ms:.3f} ms")
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("score (the task's evaluate)" if run.own_task else "top-1 accuracy")
    ax.set_title(f"{run.config.get('model')} on {run.config.get('device')}: latency vs accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def channels(run: RunData, path: Path) -> Path:
    """Channels kept per group, at the start and at the end, as grouped bars."""
    import numpy as np

    plt = _pyplot()
    start, end = run.start_channels, run.end_channels
    groups = sorted(start, key=_natural)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(groups) + 2), 5))
    width = 0.4
    ax.bar(x - width / 2, [start[g] for g in groups], width, label="start", color="tab:gray")
    label = f"final (iteration {run.final['from_iteration']})" if run.final else \
        f"last iteration ({run.iterations[-1]['iteration']})"
    ax.bar(x + width / 2, [end.get(g, start[g]) for g in groups], width, label=label, color="tab:blue")
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("output channels")
    ax.set_title("Channels kept per group")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def latency_prediction(run: RunData, path: Path) -> Path:
    """Per iteration: the loop's predicted latency, the measured one, and the table-only estimate."""
    plt = _pyplot()
    its = run.iterations
    n = [it["iteration"] for it in its]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(n, [it["measured_ms"] for it in its], "o-", color="tab:blue", label="measured")
    pred = [(it["iteration"], it["predicted_ms"]) for it in its if it.get("predicted_ms") is not None]
    if pred:
        ax.plot(*zip(*pred), "x--", color="tab:orange", label="predicted (anchored on the last measurement)")
    table = [(it["iteration"], it["table_ms"]) for it in its if it.get("table_ms") is not None]
    if table:
        ax.plot(*zip(*table), "^:", color="tab:purple", label="lookup table alone")
    targets = [(it["iteration"], it["target_ms"]) for it in its if it.get("target_ms") is not None]
    if targets:
        ax.plot(*zip(*targets), "_", markersize=14, color="tab:gray", label="iteration target")
    if run.budget_ms is not None:
        ax.axhline(run.budget_ms, color="tab:red", linestyle=":", label="budget")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Predicted vs measured latency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


FIGURES = {
    "latency_accuracy.png": (latency_accuracy, "Measured latency vs accuracy"),
    "channels.png": (channels, "Channels kept per group"),
    "latency_prediction.png": (latency_prediction, "Predicted vs measured latency"),
}
